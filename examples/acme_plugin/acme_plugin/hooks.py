"""The plugin's hook implementations (named by ``hooks = "acme_plugin.hooks"`` in
``plugin.toml``).

Hook calls made through ``request.hooks`` reach these functions only for tenants that have
the plugin enabled.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from acme_plugin import PLUGIN, _, services
from core.models import Tenant
from core.sdk import JobHandler, MenuItem, Permission, Widget, hookimpl

VIEW = "acme:note:view"
EDIT = "acme:note:edit"
WIDGET_SIZE = 5


@hookimpl
def permissions() -> list[Permission]:
    """Reading notes (manager, sales, secretary) and writing them (manager, sales)."""
    return [
        Permission(VIEW, _("Read notes"), ("manager", "sales", "secretary")),
        Permission(EDIT, _("Write notes"), ("manager", "sales")),
    ]


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    """The notes page in the main menu."""
    return [MenuItem("acme.notes", _("Notes"), "acme_notes", VIEW, order=80)]


@hookimpl
def dashboard_widgets(request: Request) -> list[Widget]:
    """A front-page box with the tenant's note count and newest notes."""
    return [
        Widget(
            name="acme.notes",
            title=_("Latest notes"),
            template="acme_plugin:templates/widget.pt",
            data=notes_widget_data,
            permission=VIEW,
            order=60,
        )
    ]


def notes_widget_data(request: Request) -> dict[str, Any]:
    """The widget's template values: the note count and the newest notes."""
    return {
        "count": services.count_notes(request.dbsession),
        "latest": services.latest_notes(request.dbsession, WIDGET_SIZE),
    }


@hookimpl
def plugin_enabled(dbsession: Session, tenant: Tenant, plugin: str) -> None:
    """Give a tenant a welcome note the first time the plugin is enabled for it."""
    if plugin == PLUGIN:
        services.ensure_welcome_note(dbsession, tenant)


@hookimpl
def demo_data(dbsession: Session, tenant: Tenant) -> None:
    """A few notes for the demo company."""
    services.create_demo_notes(dbsession, tenant)


@hookimpl
def job_handlers() -> list[JobHandler]:
    """The e-mailed notes digest."""
    return [
        JobHandler(
            kind=services.DIGEST_JOB,
            run=services.run_digest,
            description="E-mail the newest ACME notes to a user",
        )
    ]


NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string", "maxLength": 200},
        "body": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "author_id": {"type": ["integer", "null"]},
    },
    "required": ["id", "title", "body", "created_at", "author_id"],
}


@hookimpl
def openapi_paths(request: Request) -> dict[str, Any]:
    """``GET /api/v1/acme/notes`` and its schemas."""
    return {
        "/api/v1/acme/notes": {
            "get": {
                "summary": "The tenant's newest notes",
                "operationId": "listAcmeNotes",
                "parameters": [{
                    "name": "limit", "in": "query", "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                }],
                "responses": {
                    "200": {"description": "Notes, newest first", "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/AcmeNoteList"}}}},
                    "401": {"description": "Missing or invalid token"},
                    "403": {"description": "The token's user may not read notes"},
                },
            }
        },
        "components": {"schemas": {
            "AcmeNote": NOTE_SCHEMA,
            "AcmeNoteList": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer"},
                    "items": {"type": "array",
                              "items": {"$ref": "#/components/schemas/AcmeNote"}},
                },
                "required": ["total", "items"],
            },
        }},
    }


MORNING_ENDS = 12
"""Acme installs only in the morning: service times must start before noon."""


@hookimpl(tryfirst=True)
def choose_service_slot(request: Request, order: Any, slots: list[Any]) -> list[Any]:
    """Acme's own slot rule in the phone-order flow: only times starting before noon (local
    time). Other tenants keep the invoicing plugin's choice."""
    return [slot for slot in slots if slot.start.hour < MORNING_ENDS]
