"""Invoicing: products, client discounts, offers, invoices with Estonian reference numbers,
PDF and e-invoices, bulk sending and the phone-order flow (PRODUCT.md C5, C10, I1-I5, W1-W3).

Every view module has an ``includeme`` that adds its routes and scans itself.
"""

from __future__ import annotations

from pyramid.config import Configurator

from core.sdk import NO_PERMISSION_REQUIRED
from plugins.invoicing import models  # noqa: F401 - registers the tables

VIEW_MODULES: tuple[str, ...] = (
    ".views.invoices",
    ".views.catalogue",
    ".views.settings",
    ".views.discounts",
    ".views.offers",
    ".views.orders",
    ".views.einvoices",
    ".views.api",
    ".views.bulk",
)


def includeme(config: Configurator) -> None:
    """Wire the plugin's static files and view modules."""
    config.add_static_view(
        "inv/static", "plugins.invoicing:static", cache_max_age=3600,
        permission=NO_PERMISSION_REQUIRED,
    )
    for module in VIEW_MODULES:
        config.include(module)
