"""The client register's settings page (Administration → Client register settings).

The tenant's catalogues: client groups, client types, activity types, resources and extra
services, document types (add, change, delete while unused), and the access setting
"salespeople see only their own clients" (``Tenant.settings``, see
:mod:`plugins.crm_register.access`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import Session

from core.forms import Field, Form, Invalid
from core.web import flash
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import CATALOGUE_KINDS
from plugins.crm_register.models import (
    Activity,
    ActivityItem,
    ActivityType,
    CatalogueItem,
    Client,
    ClientGroup,
    ClientGroupLink,
    ClientType,
    Document,
    DocumentType,
)
from plugins.crm_register.permissions import IMPORT_RUN, SETTINGS_MANAGE

TEMPLATE = "plugins.crm_register:templates/settings.pt"
CODE_RE = re.compile(r"^[a-z0-9_-]+$")


def _code(value: str) -> str:
    code = value.lower()
    if not CODE_RE.match(code):
        raise Invalid(_("Use lower-case letters a-z, digits, - and _ only."))
    return code


def _minutes(value: int) -> int:
    if not 0 <= value <= 24 * 60:
        raise Invalid(_("Give minutes between 0 and 1440."))
    return value


def _position(value: int) -> int:
    if not -9999 <= value <= 9999:
        raise Invalid(_("Give a number between -9999 and 9999."))
    return value


def _cost(value: Decimal) -> Decimal:
    if value < 0:
        raise Invalid(_("The cost cannot be negative."))
    if value >= 10**10:
        raise Invalid(_("The number is too large."))
    return value.quantize(Decimal("0.01"))


NAME = Field("name", _("Name"), required=True, max_length=100)
POSITION = Field("position", _("Order"), "integer", validator=_position)


def _count(dbsession: Session, stmt: sa.Select[Any]) -> int:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


@dataclass(frozen=True)
class Section:
    """One catalogue on the page: its model, fields, unique key and usage count."""

    key: str
    title: Any
    model: type
    fields: tuple[Field, ...]
    unique: tuple[str, ...]
    usage: Callable[[Session, int], int]
    in_use: Any
    order: tuple[str, ...]
    defaults: dict[str, Any]


SECTIONS: tuple[Section, ...] = (
    Section("groups", _("Client groups"), ClientGroup, (NAME, POSITION), ("name",),
            lambda db, i: _count(db, sa.select(ClientGroupLink.client_id)
                                 .where(ClientGroupLink.group_id == i)),
            _("${name} cannot be deleted: ${n} clients are in this group."),
            ("position", "name"), {"position": 0}),
    Section("types", _("Client types"), ClientType, (NAME, POSITION), ("name",),
            lambda db, i: _count(db, sa.select(Client.id).where(Client.client_type_id == i)),
            _("${name} cannot be deleted: ${n} clients are of this type."),
            ("position", "name"), {"position": 0}),
    Section("activity-types", _("Activity types"), ActivityType, (
        NAME,
        Field("code", _("Code"), required=True, max_length=30, validator=_code,
              help=_("A short code, e.g. call, meeting; used in links and by the API.")),
        Field("default_minutes", _("Default duration (minutes)"), "integer",
              validator=_minutes),
        Field("requires_kilometres", _("Requires kilometres (car use)"), "checkbox"),
        POSITION,
    ), ("code",),
        lambda db, i: _count(db, sa.select(Activity.id).where(Activity.type_id == i)),
        _("${name} cannot be deleted: ${n} activities are of this type."),
        ("position", "name"), {"position": 0}),
    Section("catalogue", _("Resources and extra services"), CatalogueItem, (
        Field("kind", _("Kind"), "select", required=True,
              options=tuple(CATALOGUE_KINDS.items())),
        NAME,
        Field("unit", _("Unit"), required=True, max_length=20, help=_("E.g. h, km, pcs.")),
        Field("unit_cost", _("Unit cost (EUR)"), "decimal", validator=_cost),
        Field("active", _("Active (can be chosen)"), "checkbox"),
    ), ("kind", "name"),
        lambda db, i: _count(db, sa.select(ActivityItem.id).where(ActivityItem.item_id == i)),
        _("${name} cannot be deleted: it was used in ${n} activities. Make it inactive "
          "instead."),
        ("kind", "name"), {"active": True, "kind": "resource"}),
    Section("document-types", _("Document types"), DocumentType, (NAME, POSITION), ("name",),
            lambda db, i: _count(db, sa.select(Document.id).where(Document.type_id == i)),
            _("${name} cannot be deleted: ${n} documents are of this type."),
            ("position", "name"), {"position": 0}),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}
UNIQUE_MESSAGES = {
    "groups": _("There is already a client group with this name."),
    "types": _("There is already a client type with this name."),
    "activity-types": _("There is already an activity type with this code."),
    "catalogue": _("There is already an item of this kind with this name."),
    "document-types": _("There is already a document type with this name."),
}


def _section(request: Request) -> Section:
    section = SECTION_BY_KEY.get(request.matchdict.get("section", ""))
    if section is None:
        raise HTTPNotFound()
    return section


def _items(request: Request, section: Section) -> list[Any]:
    model = section.model
    return list(request.dbsession.scalars(
        sa.select(model).order_by(*(getattr(model, c) for c in section.order), model.id)))


def _initial(section: Section, item: Any) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in section.fields}


def _page(request: Request, failed: tuple[str, int | None, Form] | None = None
          ) -> dict[str, Any]:
    """Every section with a bound form per item and one for a new item."""
    sections = []
    for section in SECTIONS:
        entries = []
        for item in _items(request, section):
            form = (failed[2] if failed and failed[0] == section.key and failed[1] == item.id
                    else Form(request, section.fields, _initial(section, item)))
            entries.append({"id": item.id, "key": str(item.id), "form": form,
                            "url": request.route_url("crm_settings_item", section=section.key,
                                                     item_id=item.id)})
        new = (failed[2] if failed and failed[0] == section.key and failed[1] is None
               else Form(request, section.fields, section.defaults))
        entries.append({"id": None, "key": "new", "form": new,
                        "url": request.route_url("crm_settings_add", section=section.key)})
        sections.append({"section": section, "entries": entries})
    settings = request.tenant.settings or {}
    return {"sections": sections, "own_clients_only": bool(settings.get(OWN_CLIENTS_ONLY)),
            "can_import": request.has_permission(IMPORT_RUN)}


@view_config(route_name="crm_settings", request_method="GET", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def settings_page(request: Request) -> dict[str, Any]:
    """The settings page."""
    return _page(request)


@view_config(route_name="crm_settings_access", request_method="POST",
             permission=SETTINGS_MANAGE)
def save_access(request: Request) -> Any:
    """Switch "salespeople see only their own clients" for the tenant."""
    tenant = request.tenant
    value = request.POST.get("own_clients_only") == "1"
    # A new dict: the JSON column is not mutation-tracked, so SQLAlchemy sees the change.
    tenant.settings = {**(tenant.settings or {}), OWN_CLIENTS_ONLY: value}
    if value:
        flash(request, _("Salespeople now see only their own clients."))
    else:
        flash(request, _("Everyone with access to clients now sees all clients."))
    return HTTPSeeOther(request.route_url("crm_settings", _anchor="access"))


def _validate(request: Request, section: Section, form: Form, item_id: int | None) -> bool:
    if not form.validate():
        return False
    data = form.data
    model = section.model
    conditions = [getattr(model, key) == data[key] for key in section.unique]
    clash = request.dbsession.scalar(
        sa.select(model.id).where(*conditions, model.id != (item_id or 0)))
    if clash is not None:
        form.add_error(section.unique[-1], UNIQUE_MESSAGES[section.key])
        return False
    return True


def _apply(section: Section, item: Any, data: dict[str, Any]) -> None:
    for f in section.fields:
        value = data[f.name]
        if f.type == "checkbox":
            value = bool(value)
        elif f.name == "position" and value is None:
            value = 0
        setattr(item, f.name, value)


def _back(request: Request, section: Section) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_url("crm_settings", _anchor=section.key))


@view_config(route_name="crm_settings_add", request_method="POST", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def add_item(request: Request) -> Any:
    """Add an item to a catalogue; show the page with the errors when it is not valid."""
    section = _section(request)
    form = Form(request, section.fields)
    if not _validate(request, section, form, None):
        request.response.status_int = 400
        return _page(request, (section.key, None, form))
    item = section.model()
    _apply(section, item, form.data)
    request.dbsession.add(item)
    request.dbsession.flush()
    flash(request, _("${name} was added."), name=item.name)
    return _back(request, section)


@view_config(route_name="crm_settings_item", request_method="POST", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def change_item(request: Request) -> Any:
    """Save or (when unused) delete an item of a catalogue."""
    section = _section(request)
    item = request.dbsession.get(section.model, int(request.matchdict["item_id"]))
    if item is None:
        raise HTTPNotFound()
    if request.POST.get("action") == "delete":
        used = section.usage(request.dbsession, item.id)
        if used:
            flash(request, section.in_use, "error", name=item.name, n=used)
            return _back(request, section)
        name = item.name
        request.dbsession.delete(item)
        flash(request, _("${name} was deleted."), name=name)
        return _back(request, section)
    form = Form(request, section.fields, _initial(section, item))
    if not _validate(request, section, form, item.id):
        request.response.status_int = 400
        return _page(request, (section.key, item.id, form))
    _apply(section, item, form.data)
    flash(request, _("${name} was saved."), name=item.name)
    return _back(request, section)


def includeme(config: Any) -> None:
    """Register the settings routes."""
    config.add_route("crm_settings", "/admin/client-register")
    config.add_route("crm_settings_access", "/admin/client-register/access")
    config.add_route("crm_settings_add", "/admin/client-register/{section}/add")
    config.add_route("crm_settings_item", "/admin/client-register/{section}/{item_id:\\d{1,9}}")
    config.scan(__name__)
