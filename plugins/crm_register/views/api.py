"""The JSON API of the client register (issue item 12): clients, contacts and activities.

``/api/v1/clients``, ``/api/v1/contacts`` and ``/api/v1/activities`` list (with search,
filters and paging) and create; ``/.../{id}`` reads and changes one row (``PATCH``: only the
fields sent change). The core authenticates ``/api/`` requests by bearer token only and
exempts them from CSRF; the views use the permissions of the pages and the same access rule
(:mod:`plugins.crm_register.access`: hidden clients, their contacts and activities answer
404), and validate with the fields of the forms (:mod:`core.forms`, identifiers, duplicate
checks). Errors are ``{"error": message, "fields": {field: message}}`` with 400 (bad
input), 403 (a field the user may not set), 404 (not found or not visible) or 409 (a
duplicate, with the existing client's id). The OpenAPI description is in
:mod:`plugins.crm_register.openapi`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.forms import Field, Form, Invalid
from core.i18n import tenant_zone
from core.jsonapi import ApiError, api_view, not_found, read_object
from plugins.crm_register.access import visible_client_ids, visible_clients
from plugins.crm_register.activities import (
    activity_filter,
    catalogue_choices,
    parse_local_datetime,
    parse_quantity,
    replace_items,
    visible_activities,
)
from plugins.crm_register.clients import (
    find_duplicates,
    refresh_person_search,
    refresh_search,
    search_condition,
    similar_names,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.models import (
    ACTIVITY_STATUSES,
    Activity,
    ActivityType,
    Client,
    ClientGroup,
    ClientGroupLink,
    ClientPerson,
    Person,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.permissions import (
    ACTIVITY_EDIT,
    ACTIVITY_VIEW,
    CLIENT_CREDIT,
    CLIENT_EDIT,
    CLIENT_VIEW,
)
from plugins.crm_register.search import fold, like_pattern
from plugins.crm_register.views.activities import activity_fields
from plugins.crm_register.views.contacts import LINK_FIELDS, PERSON_FIELDS, PERSON_KEYS
from plugins.crm_register.views.register import (
    CREDIT_KEYS,
    FORM_KEYS,
    _check_values,
    client_fields,
)

PREFIX = "/api/v1"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


# --- responses and errors ------------------------------------------------------------------

def _json(request: Request, body: Any, status: int = 200,
          location: str | None = None) -> Response:
    response = Response(json_body=body, status=status)
    if location:
        response.location = location
    return response


def _int_param(request: Request, name: str, default: int | None = None,
               minimum: int = 1, maximum: int | None = None) -> int | None:
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        bounds = f"{minimum}-{maximum}" if maximum is not None else f">= {minimum}"
        raise ApiError(400, _("Bad query parameter."),
                       {name: _("Give a whole number (${bounds}).", mapping={"bounds": bounds})})
    return int(raw)


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.GET.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ApiError(400, _("Bad query parameter."), {name: _("Give true or false.")})


def _page(request: Request, stmt: sa.Select, serialize: Any,
          options: Iterable[Any] = ()) -> dict[str, Any]:
    """One page of ``stmt`` (a ``SELECT`` of one model; ``page``, ``per_page``) with the
    total count; ``serialize(request, rows)`` gives the items.

    The count is ``count(<model>.id)`` over the same statement (no subquery).
    """
    page = _int_param(request, "page", 1) or 1
    per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE) \
        or DEFAULT_PER_PAGE
    db = request.dbsession
    entity = stmt.column_descriptions[0]["entity"]
    total = db.scalar(stmt.with_only_columns(sa.func.count(entity.id)).order_by(None)) or 0
    rows = list(db.scalars(stmt.options(*options).limit(per_page)
                           .offset((page - 1) * per_page)))
    return {"items": serialize(request, rows), "page": page,
            "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page))}


def _iso(value: dt.datetime | dt.date | None, request: Request) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(tenant_zone(request)).isoformat()
    return value.isoformat()


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _id_from(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise not_found() from None


# --- reading JSON bodies with the forms' fields ---------------------------------------------

def _as_form_value(f: Field, value: Any) -> tuple[bool, str | None]:
    """``(present, raw)`` of a JSON value for the form field ``f``; raises Invalid."""
    if f.type == "checkbox":
        if value is None:
            return False, None
        if not isinstance(value, bool):
            raise Invalid(_("Give true or false."))
        return value, "on" if value else None
    if value is None:
        return True, ""
    if isinstance(value, bool):
        raise Invalid(_("Give a text or a number, not true or false."))
    if isinstance(value, int | float | Decimal) and f.type in ("integer", "decimal", "select"):
        return True, str(value)
    if isinstance(value, str):
        return True, value
    raise Invalid(_("Give a text value."))


def _current_raw(f: Field, value: Any) -> tuple[bool, str | None]:
    if f.type == "checkbox":
        return bool(value), "on" if value else None
    return True, "" if value is None else str(value)


def validate_fields(request: Request, fields: Iterable[Field], body: Mapping[str, Any],
                    current: Mapping[str, Any] | None = None,
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``body`` with form ``fields``; returns ``(data, errors)``.

    Without ``current`` (create) every field is read from the body (missing = empty).
    With ``current`` (update) the fields not in the body keep their current values, their
    errors are ignored and ``data`` holds only the fields sent.
    """
    fields = list(fields)
    params: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for f in fields:
        try:
            if f.name in body:
                present, raw = _as_form_value(f, body[f.name])
            elif current is not None:
                present, raw = _current_raw(f, current.get(f.name))
            else:
                present, raw = False, None
        except Invalid as exc:
            errors[f.name] = exc.args[0]
            continue
        if present and raw is not None:
            params[f.name] = raw
    form = Form(request, fields)
    form.validate(params)
    errors.update({k: v for k, v in form.errors.items() if k not in errors})
    data = dict(form.data)
    if current is not None:
        errors = {k: v for k, v in errors.items() if k in body}
        data = {k: v for k, v in data.items() if k in body}
    return data, errors


def _unknown(body: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    allowed = set(allowed)
    return {key: _("Unknown or read-only field.") for key in body if key not in allowed}


def _check(errors: Mapping[str, Any]) -> None:
    if errors:
        raise ApiError(400, _("Some values are not valid."), errors)


# --- clients -----------------------------------------------------------------------------

CLIENT_EXTRA = ("groups", "confirm_similar")


def client_json(request: Request, client: Client, detail: bool = False) -> dict[str, Any]:
    """A client as the API shows it (``detail`` adds addresses and contacts)."""
    data: dict[str, Any] = {
        "id": client.id, "number": client.number, "kind": client.kind, "name": client.name,
        "registry_code": client.registry_code, "vat_number": client.vat_number,
        "iban": client.iban, "bic": client.bic, "phone": client.phone, "mobile": client.mobile,
        "fax": client.fax, "email": client.email, "invoice_email": client.invoice_email,
        "website": client.website, "registered_on": _iso(client.registered_on, request),
        "client_type_id": client.client_type_id,
        "client_type": client.client_type.name if client.client_type else None,
        "salesperson_id": client.salesperson_id,
        "salesperson": client.salesperson.name if client.salesperson else None,
        "language": client.language, "notes": client.notes,
        "email_consent": client.email_consent, "active": client.active,
        "sales_blocked": client.sales_blocked, "credit_limit": _decimal(client.credit_limit),
        "payment_term_days": client.payment_term_days,
        "groups": [{"id": g.id, "name": g.name} for g in client.groups],
        "created_at": _iso(client.created_at, request),
        "url": request.route_url("crm_client", client_id=client.id),
    }
    if detail:
        data["addresses"] = [
            {"id": a.id, "kind": a.kind, "recipient": a.recipient, "street": a.street,
             "city": a.city, "county": a.county, "postal_code": a.postal_code,
             "country": a.country} for a in client.addresses]
        data["contacts"] = [
            {"link_id": link.id, "person_id": link.person_id, "name": link.person.full_name,
             "role": link.role, "is_primary": link.is_primary,
             "receives_invoices": link.receives_invoices, "email": link.person.email,
             "phone": link.person.phone, "mobile": link.person.mobile}
            for link in client.contacts]
    return data


def _client_items(request: Request, clients: list[Client]) -> list[dict[str, Any]]:
    return [client_json(request, client) for client in clients]


def _visible_client(request: Request, raw: Any) -> Client:
    client = request.dbsession.scalar(
        visible_clients(request).where(Client.id == _id_from(raw)))
    if client is None:
        raise not_found()
    return client


@view_config(route_name="crm_api_clients", request_method="GET", permission=CLIENT_VIEW)
@api_view
def list_clients(request: Request) -> Response:
    """Clients visible to the user: ``q`` searches like the register (name, codes, phone,
    e-mail, contact names); filters ``group``, ``type``, ``salesperson``,
    ``registry_code``, ``include_inactive``; paging ``page``, ``per_page``."""
    stmt = visible_clients(request)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        stmt = stmt.where(search_condition(query))
    group = _int_param(request, "group")
    if group is not None:
        stmt = stmt.where(Client.id.in_(
            sa.select(ClientGroupLink.client_id).where(ClientGroupLink.group_id == group)))
    client_type = _int_param(request, "type")
    if client_type is not None:
        stmt = stmt.where(Client.client_type_id == client_type)
    salesperson = _int_param(request, "salesperson")
    if salesperson is not None:
        stmt = stmt.where(Client.salesperson_id == salesperson)
    code = request.GET.get("registry_code", "").strip()
    if code:
        stmt = stmt.where(Client.registry_code == code)
    if not _bool_param(request, "include_inactive"):
        stmt = stmt.where(Client.active.is_(True))
    options = (selectinload(Client.client_type), selectinload(Client.salesperson),
               selectinload(Client.group_links))
    return _json(request, _page(request, stmt.order_by(Client.name_search, Client.id),
                                _client_items, options))


@view_config(route_name="crm_api_client", request_method="GET", permission=CLIENT_VIEW)
@api_view
def get_client(request: Request) -> Response:
    """One client with its addresses and contacts; 404 when not visible."""
    client = _visible_client(request, request.matchdict["client_id"])
    return _json(request, client_json(request, client, detail=True))


def _client_current(client: Client) -> dict[str, Any]:
    return {key: getattr(client, key) for key in (*FORM_KEYS, *CREDIT_KEYS)}


def _groups(request: Request, body: Mapping[str, Any]) -> list[ClientGroup] | None:
    if "groups" not in body:
        return None
    raw = body["groups"]
    if not isinstance(raw, list) or not all(isinstance(g, int) and not isinstance(g, bool)
                                            for g in raw):
        raise ApiError(400, _("Some values are not valid."),
                       {"groups": _("Give a list of client group ids.")})
    groups = list(request.dbsession.scalars(
        sa.select(ClientGroup).where(ClientGroup.id.in_(set(raw)))))
    if len(groups) != len(set(raw)):
        raise ApiError(400, _("Some values are not valid."),
                       {"groups": _("Unknown client group.")})
    return groups


def _save_client(request: Request, body: dict[str, Any], client: Client | None) -> Client:
    """Validate ``body`` like the client form and create or update; raises ApiError."""
    fields = client_fields(request)
    credit = request.has_permission(CLIENT_CREDIT)
    _check(_unknown(body, [*(f.name for f in fields), *CLIENT_EXTRA, *CREDIT_KEYS]))
    forbidden = [key for key in CREDIT_KEYS if key in body and not credit]
    if forbidden:
        raise ApiError(403, _("You may not block sales or set credit terms."),
                       {key: _("You may not set this field.") for key in forbidden})
    current = _client_current(client) if client is not None else None
    if client is None:
        # The defaults of the new-client form: the user is the responsible salesperson.
        body = {"language": request.tenant.locale or "et", "kind": "company", "active": True,
                "salesperson_id": request.user.id, **body}
    data, errors = validate_fields(request, fields, body, current)
    _check(errors)
    # The checks of the form after its fields (identifier by kind, credit terms), on the
    # complete values; for an update only what was sent counts (and the code, when the
    # kind changes).
    form = Form(request, fields)
    form.data = {**{f.name: None for f in fields}, **(current or {}), **data}
    _check_values(request, form)
    sent = {f.name for f in fields} if client is None else \
        set(body) | ({"registry_code"} if "kind" in body else set())
    _check({k: v for k, v in form.errors.items() if k in sent})
    values = {k: v for k, v in form.data.items() if k in sent}
    groups = _groups(request, body)
    db = request.dbsession
    duplicates = find_duplicates(db, client.id if client else None,
                                 values.get("registry_code"), values.get("vat_number"))
    if duplicates:
        raise ApiError(
            409, _("Another client already has this code."),
            {d.field: _("Another client already has this code.") for d in duplicates},
            existing_id=duplicates[0].client.id,
            duplicates=[{"id": d.client.id, "name": d.client.name, "field": d.field}
                        for d in duplicates])
    if client is None and body.get("confirm_similar") is not True:
        similar = similar_names(db, None, values["name"])
        if similar:
            raise ApiError(
                409, _("A client with a similar name exists. Send \"confirm_similar\": true "
                       "to add this one anyway."),
                {"name": _("A client with a similar name exists.")},
                existing_id=similar[0].id,
                similar=[{"id": c.id, "name": c.name} for c in similar])
    if client is None:
        client = Client(number=next_number(db, "client"), name=values["name"])
        db.add(client)
    for key, value in values.items():
        if key in ("email_consent", "active", "sales_blocked"):
            value = bool(value)
        setattr(client, key, value)
    if groups is not None:
        client.groups = groups
    db.flush()
    refresh_search(db, client)
    db.flush()
    return client


@view_config(route_name="crm_api_clients", request_method="POST", permission=CLIENT_EDIT)
@api_view
def create_client(request: Request) -> Response:
    """Create a client; 409 when the registry code or VAT number is taken (or a client
    with a similar name exists and ``confirm_similar`` is not true)."""
    client = _save_client(request, read_object(request), None)
    request.dbsession.refresh(client)
    url = request.route_url("crm_api_client", client_id=client.id)
    return _json(request, client_json(request, client, detail=True), 201, url)


@view_config(route_name="crm_api_client", request_method="PATCH", permission=CLIENT_EDIT)
@api_view
def update_client(request: Request) -> Response:
    """Change the fields sent of a visible client."""
    client = _visible_client(request, request.matchdict["client_id"])
    body = read_object(request)
    if "confirm_similar" in body:
        body.pop("confirm_similar")
    _save_client(request, body, client)
    request.dbsession.refresh(client)
    return _json(request, client_json(request, client, detail=True))


# --- contacts ----------------------------------------------------------------------------

LINK_KEYS = ("role", "is_primary", "receives_invoices")


def _visible_ids(request: Request, persons: Iterable[Person]) -> set[int]:
    ids = {link.client_id for person in persons for link in person.links}
    return set(request.dbsession.scalars(visible_client_ids(request).where(Client.id.in_(ids))))


def person_json(request: Request, person: Person,
                visible: set[int] | None = None) -> dict[str, Any]:
    """A contact person with their roles at the clients visible to the user (``visible``:
    the ids of those clients, when already known)."""
    if visible is None:
        visible = _visible_ids(request, [person])
    return {
        "id": person.id, "first_name": person.first_name, "last_name": person.last_name,
        "name": person.full_name, "title": person.title, "phone": person.phone,
        "mobile": person.mobile, "email": person.email,
        "birthday": _iso(person.birthday, request), "email_consent": person.email_consent,
        "notes": person.notes,
        "links": [{"link_id": link.id, "client_id": link.client_id,
                   "client_name": link.client.name, "role": link.role,
                   "is_primary": link.is_primary, "receives_invoices": link.receives_invoices}
                  for link in person.links if link.client_id in visible],
        "url": request.route_url("crm_person", person_id=person.id),
    }


def _linked_to_visible(request: Request) -> sa.Select[tuple[int]]:
    return sa.select(ClientPerson.person_id).where(
        ClientPerson.client_id.in_(visible_client_ids(request)))


def _visible_person(request: Request, raw: Any) -> Person:
    person = request.dbsession.scalar(
        sa.select(Person).where(Person.id == _id_from(raw),
                                Person.id.in_(_linked_to_visible(request))))
    if person is None:
        raise not_found()
    return person


@view_config(route_name="crm_api_contacts", request_method="GET", permission=CLIENT_VIEW)
@api_view
def list_contacts(request: Request) -> Response:
    """Contact persons of visible clients: ``q`` (name), ``client_id``, paging."""
    stmt = sa.select(Person).where(Person.id.in_(_linked_to_visible(request)))
    query = fold(request.GET.get("q", ""))[:100]
    if query:
        stmt = stmt.where(sa.or_(Person.name_search.like(like_pattern(query), escape="\\"),
                                 sa.func.lower(Person.email).like(like_pattern(query),
                                                                  escape="\\")))
    client_id = _int_param(request, "client_id")
    if client_id is not None:
        stmt = stmt.where(Person.id.in_(
            sa.select(ClientPerson.person_id).where(ClientPerson.client_id == client_id)))
    options = (selectinload(Person.links).selectinload(ClientPerson.client),)
    return _json(request, _page(request, stmt.order_by(Person.name_search, Person.id),
                                _person_items, options))


def _person_items(request: Request, persons: list[Person]) -> list[dict[str, Any]]:
    visible = _visible_ids(request, persons)
    return [person_json(request, person, visible) for person in persons]


@view_config(route_name="crm_api_contact", request_method="GET", permission=CLIENT_VIEW)
@api_view
def get_contact(request: Request) -> Response:
    """One contact person; 404 unless linked to a client visible to the user."""
    return _json(request, person_json(request, _visible_person(
        request, request.matchdict["person_id"])))


def _apply_person(person: Person, data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        setattr(person, key, bool(value) if key == "email_consent" else value)
    person.first_name = person.first_name or ""


def _link(request: Request, client: Client, person: Person, data: Mapping[str, Any]) -> None:
    db = request.dbsession
    if data.get("is_primary"):
        for other in client.contacts:
            other.is_primary = False
    db.add(ClientPerson(client_id=client.id, person_id=person.id, role=data.get("role") or "",
                        is_primary=bool(data.get("is_primary")),
                        receives_invoices=bool(data.get("receives_invoices"))))
    db.flush()
    refresh_person_search(db, person)
    refresh_search(db, client)


@view_config(route_name="crm_api_contacts", request_method="POST", permission=CLIENT_EDIT)
@api_view
def create_contact(request: Request) -> Response:
    """Add a contact person to a client (``client_id``, ``role``...), or link an existing
    person (``person_id``) with a role."""
    body = read_object(request)
    existing = "person_id" in body
    allowed = ["client_id", "person_id", *LINK_KEYS] if existing else \
        ["client_id", *PERSON_KEYS, *LINK_KEYS]
    _check(_unknown(body, allowed))
    raw_client = body.get("client_id")
    if not isinstance(raw_client, int) or isinstance(raw_client, bool):
        raise ApiError(400, _("Some values are not valid."),
                       {"client_id": _("Give the id of the client.")})
    client = request.dbsession.scalar(
        visible_clients(request).where(Client.id == raw_client))
    if client is None:
        raise ApiError(400, _("Some values are not valid."),
                       {"client_id": _("No such client.")})
    link_data, errors = validate_fields(request, LINK_FIELDS, body)
    person: Person | None
    if existing:
        try:
            person = _visible_person(request, body["person_id"])
        except ApiError:
            errors["person_id"] = _("No such person.")
            person = None
        _check(errors)
        assert person is not None
        clash = request.dbsession.scalar(sa.select(ClientPerson.id).where(
            ClientPerson.client_id == client.id, ClientPerson.person_id == person.id,
            ClientPerson.role == (link_data.get("role") or "")))
        if clash is not None:
            raise ApiError(409, _("This person already has this role at the client."),
                           {"role": _("This person already has this role at the client.")},
                           existing_id=person.id)
    else:
        person_data, person_errors = validate_fields(request, PERSON_FIELDS, body)
        _check({**errors, **person_errors})
        person = Person(last_name=person_data["last_name"])
        _apply_person(person, person_data)
        request.dbsession.add(person)
        request.dbsession.flush()
    _link(request, client, person, link_data)
    request.dbsession.flush()
    request.dbsession.refresh(person)
    url = request.route_url("crm_api_contact", person_id=person.id)
    return _json(request, person_json(request, person), 201, url)


@view_config(route_name="crm_api_contact", request_method="PATCH", permission=CLIENT_EDIT)
@api_view
def update_contact(request: Request) -> Response:
    """Change the fields sent of a contact person (their links stay)."""
    person = _visible_person(request, request.matchdict["person_id"])
    body = read_object(request)
    _check(_unknown(body, PERSON_KEYS))
    current = {key: getattr(person, key) for key in PERSON_KEYS}
    data, errors = validate_fields(request, PERSON_FIELDS, body, current)
    _check(errors)
    _apply_person(person, data)
    refresh_person_search(request.dbsession, person)
    request.dbsession.flush()
    return _json(request, person_json(request, person))


# --- activities --------------------------------------------------------------------------

ACTIVITY_KEYS = ("name", "type_id", "person_id", "status", "starts_at", "estimated_minutes",
                 "actual_minutes", "kilometres", "project_id", "description")


def activity_json(request: Request, activity: Activity) -> dict[str, Any]:
    """An activity as the API shows it."""
    return {
        "id": activity.id, "number": activity.number, "name": activity.name,
        "client_id": activity.client_id,
        "client_name": activity.client.name if activity.client else None,
        "person_id": activity.person_id,
        "person_name": activity.person.full_name if activity.person else None,
        "type_id": activity.type_id, "type": activity.type.code,
        "type_name": activity.type.name, "status": activity.status,
        "performer_id": activity.performer_id,
        "performer_name": activity.performer.name if activity.performer else None,
        "starts_at": _iso(activity.starts_at, request),
        "ends_at": _iso(activity.ends_at, request),
        "estimated_minutes": activity.estimated_minutes,
        "actual_minutes": activity.actual_minutes,
        "kilometres": _decimal(activity.kilometres), "project_id": activity.project_id,
        "follow_up_of_id": activity.follow_up_of_id, "description": activity.description,
        "items": [{"item_id": i.item_id, "name": i.item.name, "kind": i.item.kind,
                   "unit": i.item.unit, "quantity": _decimal(i.quantity)}
                  for i in activity.items],
        "created_at": _iso(activity.created_at, request),
        "url": request.route_url("crm_activity", activity_id=activity.id),
    }


def _visible_activity(request: Request, raw: Any) -> Activity:
    activity = request.dbsession.scalar(
        visible_activities(request).where(Activity.id == _id_from(raw)))
    if activity is None:
        raise not_found()
    return activity


def _date_param(request: Request, name: str, end: bool) -> dt.datetime | None:
    """``from``/``to``: a date (the whole local day) or a date and time."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    tz = tenant_zone(request)
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        return parse_local_datetime(raw, tz)
    except (ValueError, Invalid):
        raise ApiError(400, _("Bad query parameter."),
                       {name: _("Give a date (YYYY-MM-DD) or a date and time.")}) from None


@view_config(route_name="crm_api_activities", request_method="GET", permission=ACTIVITY_VIEW)
@api_view
def list_activities(request: Request) -> Response:
    """Visible activities by start: filters ``client_id``, ``performer_id``, ``from``,
    ``to`` (dates are whole days in the tenant's time zone, ``to`` inclusive), ``status``,
    ``type``; paging."""
    stmt = sa.select(Activity).where(activity_filter(request))
    client_id = _int_param(request, "client_id")
    if client_id is not None:
        stmt = stmt.where(Activity.client_id == client_id)
    performer = _int_param(request, "performer_id")
    if performer is not None:
        stmt = stmt.where(Activity.performer_id == performer)
    start = _date_param(request, "from", end=False)
    if start is not None:
        stmt = stmt.where(Activity.starts_at >= start)
    end = _date_param(request, "to", end=True)
    if end is not None:
        stmt = stmt.where(Activity.starts_at < end)
    status = request.GET.get("status", "").strip()
    if status:
        if status not in ACTIVITY_STATUSES:
            raise ApiError(400, _("Bad query parameter."),
                           {"status": _("Choose one of the options.")})
        stmt = stmt.where(Activity.status == status)
    code = request.GET.get("type", "").strip()
    if code:
        type_id = request.dbsession.scalar(
            sa.select(ActivityType.id).where(ActivityType.code == code))
        if type_id is None:
            raise ApiError(400, _("Bad query parameter."),
                           {"type": _("Unknown activity type.")})
        stmt = stmt.where(Activity.type_id == type_id)
    options = (selectinload(Activity.client), selectinload(Activity.person),
               selectinload(Activity.type), selectinload(Activity.performer),
               selectinload(Activity.items))
    return _json(request, _page(request, stmt.order_by(Activity.starts_at, Activity.id),
                                _activity_items, options))


def _activity_items(request: Request, activities: list[Activity]) -> list[dict[str, Any]]:
    return [activity_json(request, activity) for activity in activities]


@view_config(route_name="crm_api_activity", request_method="GET", permission=ACTIVITY_VIEW)
@api_view
def get_activity(request: Request) -> Response:
    """One activity; 404 when not visible."""
    return _json(request, activity_json(request, _visible_activity(
        request, request.matchdict["activity_id"])))


def _activity_current(request: Request, activity: Activity) -> dict[str, Any]:
    values = {key: getattr(activity, key) for key in ACTIVITY_KEYS}
    values["starts_at"] = activity.starts_at.isoformat()
    return values


def _items(request: Request, body: Mapping[str, Any],
           activity: Activity | None) -> list[tuple[int, Decimal]] | None:
    if "items" not in body:
        return None
    raw = body["items"]
    keep = [i.item_id for i in activity.items] if activity is not None else []
    allowed = {c.id for c in catalogue_choices(request, keep)}
    if not isinstance(raw, list):
        raise ApiError(400, _("Some values are not valid."),
                       {"items": _("Give a list of resources and services.")})
    parsed: list[tuple[int, Decimal]] = []
    for index, row in enumerate(raw):
        key = f"items[{index}]"
        item_id = row.get("item_id") if isinstance(row, dict) else None
        if not isinstance(item_id, int) or isinstance(item_id, bool) or item_id not in allowed:
            raise ApiError(400, _("Some values are not valid."),
                           {key: _("Choose a resource or service for this quantity.")})
        quantity = row.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float | str):
            raise ApiError(400, _("Some values are not valid."),
                           {key: _("Enter the quantity as a number.")})
        try:
            parsed.append((item_id, parse_quantity(str(quantity))))
        except Invalid as exc:
            raise ApiError(400, _("Some values are not valid."), {key: exc.args[0]}) from None
    return parsed


def _save_activity(request: Request, body: dict[str, Any], activity: Activity | None,
                   client: Client | None) -> Activity:
    db = request.dbsession
    fields = activity_fields(request, client, activity)
    current = _activity_current(request, activity) if activity is not None else None
    if activity is None:
        body = {"status": "planned", **body}
    data, errors = validate_fields(request, fields, body, current)
    items = _items(request, body, activity)
    type_id = data.get("type_id") or (activity.type_id if activity is not None else None)
    kind = db.get(ActivityType, int(type_id)) if type_id and "type_id" not in errors else None
    kilometres = data.get("kilometres", activity.kilometres if activity is not None else None)
    if kind is not None and kind.requires_kilometres and kilometres is None \
            and "kilometres" not in errors:
        errors["kilometres"] = _("Enter the kilometres driven: this activity type uses a car.")
    follow_up: Activity | None = None
    if "follow_up_of_id" in body and body["follow_up_of_id"] is not None:
        raw = body["follow_up_of_id"]
        same_client = Activity.client_id == client.id if client is not None \
            else Activity.client_id.is_(None)
        follow_up = db.scalar(visible_activities(request).where(
            Activity.id == (raw if isinstance(raw, int) and not isinstance(raw, bool) else 0),
            same_client))
        if follow_up is None:
            errors["follow_up_of_id"] = _("The activity to follow up was not found.")
    _check(errors)
    if activity is None:
        user = request.user
        activity = Activity(client_id=client.id if client else None,
                            number=next_number(db, "activity"), performer_id=user.id,
                            created_by_id=user.id, name=data["name"],
                            type_id=int(data["type_id"]), starts_at=data["starts_at"])
        if kind is not None and data.get("estimated_minutes") is None:
            data["estimated_minutes"] = kind.default_minutes
    for key, value in data.items():
        if key in ("type_id", "person_id", "project_id"):
            value = int(value) if value else None
        setattr(activity, key, value)
    if "follow_up_of_id" in body:
        activity.follow_up_of_id = follow_up.id if follow_up is not None else None
    if items is not None:
        replace_items(activity, items)
    db.add(activity)
    db.flush()
    return activity


@view_config(route_name="crm_api_activities", request_method="POST", permission=ACTIVITY_EDIT)
@api_view
def create_activity(request: Request) -> Response:
    """Create an activity of a visible client (``client_id``; null for an internal task);
    the performer is the token's user and the number the next activity number."""
    body = read_object(request)
    _check(_unknown(body, ["client_id", *ACTIVITY_KEYS, "items", "follow_up_of_id"]))
    client = None
    raw_client = body.get("client_id")
    if raw_client is not None:
        if isinstance(raw_client, int) and not isinstance(raw_client, bool):
            client = request.dbsession.scalar(
                visible_clients(request).where(Client.id == raw_client))
        if client is None:
            raise ApiError(400, _("Some values are not valid."),
                           {"client_id": _("No such client.")})
    activity = _save_activity(request, body, None, client)
    request.dbsession.refresh(activity)
    url = request.route_url("crm_api_activity", activity_id=activity.id)
    return _json(request, activity_json(request, activity), 201, url)


@view_config(route_name="crm_api_activity", request_method="PATCH", permission=ACTIVITY_EDIT)
@api_view
def update_activity(request: Request) -> Response:
    """Change the fields sent of a visible activity (``items`` replaces the resources)."""
    activity = _visible_activity(request, request.matchdict["activity_id"])
    body = read_object(request)
    _check(_unknown(body, [*ACTIVITY_KEYS, "items", "follow_up_of_id"]))
    _save_activity(request, body, activity, activity.client)
    request.dbsession.refresh(activity)
    return _json(request, activity_json(request, activity))


def includeme(config: Any) -> None:
    """The API routes."""
    config.add_route("crm_api_clients", f"{PREFIX}/clients")
    config.add_route("crm_api_client", f"{PREFIX}/clients/{{client_id}}")
    config.add_route("crm_api_contacts", f"{PREFIX}/contacts")
    config.add_route("crm_api_contact", f"{PREFIX}/contacts/{{person_id}}")
    config.add_route("crm_api_activities", f"{PREFIX}/activities")
    config.add_route("crm_api_activity", f"{PREFIX}/activities/{{activity_id}}")
    config.scan(__name__)
