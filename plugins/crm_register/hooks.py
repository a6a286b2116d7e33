"""Hook implementations of the client register."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from core.models import Tenant
from core.sdk import CardTab, MenuItem, Permission, Widget, hookimpl
from plugins.crm_register import permissions as perm
from plugins.crm_register.i18n import _

PLUGIN = "crm_register"


@hookimpl
def permissions() -> list[Permission]:
    """The client register's permissions."""
    return list(perm.PERMISSIONS)


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    """Clients, calendar and target groups in the main menu; catalogues for managers."""
    return [
        MenuItem("crm.clients", _("Clients"), "crm_clients", perm.CLIENT_VIEW, order=10),
        MenuItem("crm.calendar", _("Calendar"), "crm_calendar", perm.ACTIVITY_VIEW, order=20),
        MenuItem("crm.target_groups", _("Target groups"), "crm_target_groups",
                 perm.TARGET_GROUP_USE, order=30),
        MenuItem("crm.settings", _("Client register settings"), "crm_settings",
                 perm.SETTINGS_MANAGE, order=70, section="admin"),
    ]


@hookimpl
def client_card_tabs(request: Request, client: Any) -> list[CardTab]:
    """The card tabs this plugin brings (C4, C6-C9, C12-C14)."""
    return [
        CardTab("crm.activities", _("Activities"), "crm_client_activities", perm.ACTIVITY_VIEW,
                order=10),
        CardTab("crm.documents", _("Documents"), "crm_client_documents", perm.DOCUMENT_VIEW,
                order=20),
        CardTab("crm.contacts", _("Contacts"), "crm_client_contacts", perm.CLIENT_VIEW,
                order=30),
        CardTab("crm.addresses", _("Addresses"), "crm_client_addresses", perm.CLIENT_VIEW,
                order=40),
        CardTab("crm.contracts", _("Contracts"), "crm_client_contracts", perm.CLIENT_VIEW,
                order=50),
        CardTab("crm.relations", _("Organisations and persons"), "crm_client_relations",
                perm.CLIENT_VIEW, order=60),
        CardTab("crm.projects", _("Sales projects"), "crm_client_projects", perm.CLIENT_VIEW,
                order=70),
        CardTab("crm.log", _("Client log"), "crm_client_log", perm.CLIENT_VIEW, order=90),
    ]


@hookimpl
def plugin_enabled(dbsession: Session, tenant: Tenant, plugin: str) -> None:
    """Give the tenant default client groups, types and catalogues the first time."""
    if plugin == PLUGIN:
        from plugins.crm_register.defaults import create_defaults

        create_defaults(dbsession)


@hookimpl
def demo_data(dbsession: Session, tenant: Tenant) -> None:
    """About 200 Estonian clients with contacts, activities, projects and documents."""
    from plugins.crm_register.demo import create_demo_data, demo_file_store

    create_demo_data(dbsession, tenant, store=demo_file_store(tenant))


@hookimpl
def dashboard_widgets(request: Request) -> list[Widget]:
    """Today's activities, announcements and birthdays on the front page (D1-D3)."""
    from plugins.crm_register.views.widgets import widgets

    return widgets()


@hookimpl
def openapi_paths(request: Request) -> dict[str, Any]:
    """``/api/v1/clients``, ``/api/v1/contacts``, ``/api/v1/activities`` and their schemas."""
    from plugins.crm_register.openapi import openapi_paths as crm_paths

    return crm_paths()
