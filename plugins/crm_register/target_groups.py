"""Target groups (R3): a client filter, the query it means, and the rows it exports.

A filter is a small JSON-able dict (stored as ``TargetGroup.filters``)::

    {"groups": [3, 5], "type": 2, "salesperson": 7, "kind": "company",
     "county": "Harju maakond", "city": "Tallinn",
     "no_activity_since": "2024-01-01", "activity_since": "2023-06-01",
     "has_email": True, "email_consent": True, "status": "active"}

Every key is optional; ``groups`` means "in any of these groups". ``no_activity_since``
finds forgotten clients: no activity starting on or after that day (clients never
contacted included); ``activity_since`` the opposite. Cancelled activities do not count,
planned ones do (a client with a meeting booked is not forgotten). County and city match
any address of the client, ignoring case and Estonian letters ("parnu" finds "Pärnu").
``has_email`` means the client or one of its contact persons has an e-mail address.

Queries start from :func:`plugins.crm_register.access.visible_clients`, so the "own
clients only" rule holds for lists and exports alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import selectinload

from core.i18n import tenant_zone
from plugins.crm_register.access import visible_clients
from plugins.crm_register.i18n import _
from plugins.crm_register.models import (
    CLIENT_KINDS,
    Activity,
    Address,
    Client,
    ClientGroupLink,
    ClientPerson,
    Person,
)
from plugins.crm_register.search import fold

STATUSES = ("active", "inactive", "all")
DATE_KEYS = ("no_activity_since", "activity_since")
TEXT_KEYS = ("county", "city")
FLAG_KEYS = ("has_email", "email_consent")
TEXT_MAX = 100
MAX_GROUPS = 100


@dataclass
class ParsedFilters:
    """Normalised filters and the translated-string errors of bad parameters."""

    filters: dict[str, Any]
    errors: dict[str, Any]


def _getall(params: Mapping[str, Any], key: str) -> list[Any]:
    getall = getattr(params, "getall", None)
    if getall is not None:
        return list(getall(key))
    value = params.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 and int(text) > 0 else None


def parse_filters(params: Mapping[str, Any]) -> ParsedFilters:
    """Read filters from request parameters (a MultiDict) or from a stored filter dict.

    Unknown keys are ignored; bad values give an error under the key and are left out.
    The result holds only the keys that filter something (plus ``status``).
    """
    filters: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    groups = []
    for raw in _getall(params, "groups"):
        for part in (raw if isinstance(raw, list) else [raw]):
            key = _id(part)
            if key is None and str(part).strip():
                errors["groups"] = _("Choose groups from the list.")
            elif key is not None and key not in groups:
                groups.append(key)
    if groups:
        filters["groups"] = groups[:MAX_GROUPS]
    for key in ("type", "salesperson"):
        raw = params.get(key)
        if raw in (None, ""):
            continue
        value = _id(raw)
        if value is None:
            errors[key] = _("Choose one of the options.")
        else:
            filters[key] = value
    kind = str(params.get("kind") or "").strip()
    if kind:
        if kind in CLIENT_KINDS:
            filters["kind"] = kind
        else:
            errors["kind"] = _("Choose one of the options.")
    for key in TEXT_KEYS:
        text = " ".join(str(params.get(key) or "").split())
        if len(text) > TEXT_MAX:
            errors[key] = _("At most ${n} characters.", mapping={"n": TEXT_MAX})
        elif text:
            filters[key] = text
    for key in DATE_KEYS:
        raw = str(params.get(key) or "").strip()
        if not raw:
            continue
        try:
            filters[key] = dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            errors[key] = _("Enter a date as YYYY-MM-DD.")
    for key in FLAG_KEYS:
        raw = params.get(key)
        if raw is True or str(raw or "").strip().lower() in ("1", "true", "on", "yes"):
            filters[key] = True
    status = str(params.get("status") or "active").strip()
    if status not in STATUSES:
        errors["status"] = _("Choose one of the options.")
        status = "active"
    filters["status"] = status
    return ParsedFilters(filters, errors)


def query_params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The filters as query parameters (for links to exports and pages)."""
    params: list[tuple[str, str]] = [("groups", str(g)) for g in filters.get("groups", ())]
    for key in ("type", "salesperson", "kind", *TEXT_KEYS, *DATE_KEYS):
        if filters.get(key) not in (None, ""):
            params.append((key, str(filters[key])))
    params += [(key, "1") for key in FLAG_KEYS if filters.get(key)]
    params.append(("status", str(filters.get("status") or "active")))
    return params


def _day_start(request: Request, day: str) -> dt.datetime:
    zone = tenant_zone(request)
    local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.min, tzinfo=zone)
    return local.astimezone(dt.UTC)


def _matching_values(request: Request, column: Any, wanted: str) -> list[str]:
    """Stored address values equal to ``wanted`` ignoring case and Estonian letters."""
    target = fold(wanted)
    values = request.dbsession.scalars(sa.select(column).where(column.is_not(None)).distinct())
    return [v for v in values if fold(v) == target]


def _counted_activities(since: dt.datetime) -> sa.Select[tuple[int | None]]:
    return sa.select(Activity.client_id).where(
        Activity.client_id.is_not(None), Activity.starts_at >= since,
        Activity.status != "cancelled")


def _has_email() -> sa.ColumnElement[bool]:
    person_mail = (sa.select(ClientPerson.client_id)
                   .join(Person, Person.id == ClientPerson.person_id)
                   .where(Person.email.is_not(None), Person.email != ""))
    return sa.or_(sa.and_(Client.email.is_not(None), Client.email != ""),
                  Client.id.in_(person_mail))


def filter_statement(request: Request, filters: Mapping[str, Any]) -> sa.Select[tuple[Client]]:
    """``SELECT`` of the visible clients matching ``filters`` (unordered)."""
    stmt = visible_clients(request)
    if filters.get("groups"):
        stmt = stmt.where(Client.id.in_(
            sa.select(ClientGroupLink.client_id)
            .where(ClientGroupLink.group_id.in_(list(filters["groups"])))))
    if filters.get("type"):
        stmt = stmt.where(Client.client_type_id == filters["type"])
    if filters.get("salesperson"):
        stmt = stmt.where(Client.salesperson_id == filters["salesperson"])
    if filters.get("kind"):
        stmt = stmt.where(Client.kind == filters["kind"])
    for key, column in (("county", Address.county), ("city", Address.city)):
        if filters.get(key):
            values = _matching_values(request, column, filters[key])
            stmt = stmt.where(Client.id.in_(
                sa.select(Address.client_id).where(column.in_(values))))
    if filters.get("no_activity_since"):
        since = _day_start(request, filters["no_activity_since"])
        stmt = stmt.where(Client.id.not_in(_counted_activities(since)))
    if filters.get("activity_since"):
        since = _day_start(request, filters["activity_since"])
        stmt = stmt.where(Client.id.in_(_counted_activities(since)))
    if filters.get("has_email"):
        stmt = stmt.where(_has_email())
    if filters.get("email_consent"):
        stmt = stmt.where(Client.email_consent.is_(True))
    status = filters.get("status") or "active"
    if status == "active":
        stmt = stmt.where(Client.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Client.active.is_(False))
    return stmt


def ordered(stmt: sa.Select[tuple[Client]]) -> sa.Select[tuple[Client]]:
    """The clients by name (then id, for a stable order)."""
    return stmt.order_by(Client.name_search, Client.id)


def last_activities(request: Request, client_ids: list[int]) -> dict[int, dt.datetime]:
    """The start of the latest (not cancelled) activity of each of ``client_ids``."""
    if not client_ids:
        return {}
    rows = request.dbsession.execute(
        sa.select(Activity.client_id, sa.func.max(Activity.starts_at))
        .where(Activity.client_id.in_(client_ids), Activity.status != "cancelled")
        .group_by(Activity.client_id))
    found: dict[int, dt.datetime] = {}
    for client_id, starts_at in rows:
        if starts_at is None:
            continue
        if isinstance(starts_at, str):  # SQLite returns MAX() of a datetime as text
            starts_at = dt.datetime.fromisoformat(starts_at)
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=dt.UTC)
        found[client_id] = starts_at
    return found


@dataclass(frozen=True)
class EmailRow:
    """One line of the e-mail export."""

    client: str
    email: str
    contact: str


@dataclass(frozen=True)
class AddressRow:
    """One line of the postal address export and one address label."""

    name: str
    recipient: str
    street: str
    city: str
    county: str
    postal_code: str
    country: str


def email_rows(request: Request, filters: Mapping[str, Any]) -> list[EmailRow]:
    """The e-mail addresses of the matching clients, by client name.

    A client's own e-mail comes first (with its main contact's name, if any), then each
    contact person's own e-mail; an address appears once per client. When the filter
    asks for e-mail consent, contact persons are included only with their own consent.
    """
    stmt = ordered(filter_statement(request, filters)).options(
        selectinload(Client.contacts).selectinload(ClientPerson.person))
    consent = bool(filters.get("email_consent"))
    rows: list[EmailRow] = []
    for client in request.dbsession.scalars(stmt):
        seen: set[str] = set()
        primary = next((link.person for link in client.contacts if link.is_primary), None)
        if client.email:
            rows.append(EmailRow(client.name, client.email, primary.full_name if primary else ""))
            seen.add(client.email.lower())
        for link in client.contacts:
            person = link.person
            if not person.email or person.email.lower() in seen:
                continue
            if consent and not person.email_consent:
                continue
            seen.add(person.email.lower())
            rows.append(EmailRow(client.name, person.email, person.full_name))
    return rows


ADDRESS_PREFERENCE = ("postal", "billing")
"""Which address of a client is exported: the postal one, else the billing one."""


def address_rows(request: Request, filters: Mapping[str, Any]) -> tuple[list[AddressRow], int]:
    """The postal (else billing) address of each matching client, by client name.

    Returns the rows and the number of matching clients left out for having neither.
    """
    clients = request.dbsession.execute(
        ordered(filter_statement(request, filters)).with_only_columns(Client.id, Client.name)
    ).all()
    ids = [row.id for row in clients]
    best: dict[int, Address] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for address in request.dbsession.scalars(
            sa.select(Address).where(Address.client_id.in_(chunk),
                                     Address.kind.in_(ADDRESS_PREFERENCE))
            .order_by(Address.id)
        ):
            current = best.get(address.client_id)
            if current is None or (ADDRESS_PREFERENCE.index(address.kind)
                                   < ADDRESS_PREFERENCE.index(current.kind)):
                best[address.client_id] = address
    rows = []
    for client_id, name in clients:
        address = best.get(client_id)
        if address is None:
            continue
        rows.append(AddressRow(
            name=name, recipient=address.recipient or "", street=address.street or "",
            city=address.city or "", county=address.county or "",
            postal_code=address.postal_code or "", country=address.country or ""))
    return rows, len(clients) - len(rows)
