"""Bank statements: import (camt.053/054, MT940, bank CSV exports), incoming payments matched
to invoices with readable reasons, manual matching, client balances and the receivables
report (PRODUCT.md B1, B2, C11).

Every view module has an ``includeme`` that adds its routes and scans itself.
"""

from __future__ import annotations

from pyramid.config import Configurator

from core.sdk import NO_PERMISSION_REQUIRED
from plugins.bank_import import models  # noqa: F401 - registers the tables

VIEW_MODULES: tuple[str, ...] = (
    ".views.statements",
    ".views.payments",
    ".views.settings",
    ".views.client_payments",
    ".views.receivables",
)


def includeme(config: Configurator) -> None:
    """Wire the plugin's static files and view modules."""
    config.add_static_view(
        "bank/static", "plugins.bank_import:static", cache_max_age=3600,
        permission=NO_PERMISSION_REQUIRED,
    )
    for module in VIEW_MODULES:
        config.include(module)
