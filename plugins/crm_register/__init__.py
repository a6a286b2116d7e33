"""The client register: clients and the client card, contacts, relations, activities,
calendar, documents, projects, target groups and front-page widgets (PRODUCT.md R, C, K, D).

Every view module has an ``includeme`` that adds its routes and scans itself.
"""

from __future__ import annotations

from pyramid.config import Configurator

from core.sdk import NO_PERMISSION_REQUIRED
from plugins.crm_register import models  # noqa: F401 - registers the tables

VIEW_MODULES = (
    ".views.register",
    ".views.card",
    ".views.contacts",
    ".views.target_groups",
    ".views.imports",
    ".views.settings",
    ".views.activities",
    ".views.calendar",
    ".views.widgets",
    ".storage",
    ".views.documents",
    ".views.contracts",
    ".views.relations",
    ".views.projects",
    ".views.api",
)


def includeme(config: Configurator) -> None:
    """Wire the plugin's static files and view modules."""
    config.add_static_view(
        "crm/static", "plugins.crm_register:static", cache_max_age=3600,
        permission=NO_PERMISSION_REQUIRED,
    )
    for module in VIEW_MODULES:
        config.include(module)
