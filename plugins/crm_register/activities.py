"""Activities (C4): who may see which, reading the activity form, and saving it.

Visibility follows :mod:`plugins.crm_register.access`: an activity of a client is visible
when its client is (:func:`~plugins.crm_register.access.visible_client_ids`). An activity
without a client (an internal task) is visible to its performer, and to everybody who is
not limited to their own clients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from sqlalchemy.orm import selectinload

from core.db import utcnow
from core.forms import Invalid
from plugins.crm_register.access import own_clients_only, visible_client_ids
from plugins.crm_register.calendar import occupied_interval
from plugins.crm_register.i18n import _
from plugins.crm_register.models import Activity, ActivityItem, CatalogueItem

MAX_MINUTES = 100_000
"""Upper bound of estimated and actual minutes (about 69 days)."""
MAX_KILOMETRES = Decimal("100000")
MAX_QUANTITY = Decimal("999999999")
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
"""The value format of ``<input type="datetime-local">`` (local wall-clock time)."""
MIN_YEAR, MAX_YEAR = 1900, 2999


MAX_ID = 2**31 - 1
"""The largest value of an integer primary key (PostgreSQL ``integer``)."""


def db_id(raw: Any) -> int | None:
    """``raw`` as a row id, or None when it is not a number in the range of an id (so a
    huge number in a URL answers 404 instead of overflowing the database driver)."""
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def activity_filter(request: Request) -> sa.ColumnElement[bool]:
    """The WHERE condition selecting the activities the current user may see."""
    if not own_clients_only(request):
        return sa.true()  # every client of the tenant is visible (tenant scoping applies)
    return sa.or_(Activity.client_id.in_(visible_client_ids(request)),
                  sa.and_(Activity.client_id.is_(None),
                          Activity.performer_id == request.user.id))


def visible_activities(request: Request) -> sa.Select[tuple[Activity]]:
    """``SELECT`` of the activities the current user may see."""
    return sa.select(Activity).where(activity_filter(request))


def require_activity(request: Request, activity_id: Any = None) -> Activity:
    """The activity of the ``activity_id`` matchdict (or argument); 404 when not visible."""
    raw = activity_id if activity_id is not None else request.matchdict.get("activity_id", "")
    key = db_id(raw)
    if key is None:
        raise HTTPNotFound()
    activity = request.dbsession.scalar(
        visible_activities(request).where(Activity.id == key)
        .options(selectinload(Activity.items))
    )
    if activity is None:
        raise HTTPNotFound()
    return activity


# --- form values ---------------------------------------------------------------------------

def to_local_input(value: dt.datetime, tz: ZoneInfo) -> str:
    """An aware datetime as the value of a ``datetime-local`` input in ``tz``."""
    return value.astimezone(tz).strftime(LOCAL_INPUT_FORMAT)


def default_start(tz: ZoneInfo) -> str:
    """Now in ``tz`` (to the minute) as a ``datetime-local`` value."""
    return to_local_input(utcnow(), tz)


def parse_local_datetime(raw: str, tz: ZoneInfo) -> dt.datetime:
    """A ``datetime-local`` value (``YYYY-MM-DDTHH:MM``) read as wall-clock time in ``tz``.

    Returns an aware UTC datetime. Raises :class:`core.forms.Invalid` for text that is not
    a date and time, for years outside 1900-2999 and for a time that does not exist in
    ``tz`` (skipped by the spring daylight saving change). An ambiguous autumn time is
    taken as the first (summer time) occurrence.
    """
    text = raw.strip().replace(" ", "T", 1)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(_("Enter a date and time as YYYY-MM-DD HH:MM.")) from None
    if "T" not in text:
        raise Invalid(_("Enter a date and time as YYYY-MM-DD HH:MM."))
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise Invalid(_("Enter a date between the years 1900 and 2999."))
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    local = value.replace(tzinfo=tz, fold=0)
    result = local.astimezone(dt.UTC)
    if result.astimezone(tz).replace(tzinfo=None) != value:
        raise Invalid(_("This time does not exist here: the clocks were moved forward."))
    return result


def local_datetime_validator(tz: ZoneInfo) -> Any:
    """A form validator turning a ``datetime-local`` string into an aware UTC datetime."""

    def validate(value: str) -> dt.datetime:
        return parse_local_datetime(value, tz)

    return validate


def minutes_validator(value: int) -> int:
    """Minutes between 0 and :data:`MAX_MINUTES`."""
    if value < 0:
        raise Invalid(_("Enter zero or more minutes."))
    if value > MAX_MINUTES:
        raise Invalid(_("At most ${n} minutes.", mapping={"n": MAX_MINUTES}))
    return value


def kilometres_validator(value: Decimal) -> Decimal:
    """Kilometres: zero or more, at most two decimals."""
    if value < 0:
        raise Invalid(_("Kilometres cannot be negative."))
    if value > MAX_KILOMETRES:
        raise Invalid(_("At most ${n} kilometres.", mapping={"n": MAX_KILOMETRES}))
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Invalid(_("At most two decimals."))
    return value


def parse_quantity(raw: str) -> Decimal:
    """A positive quantity with at most three decimals (comma or point)."""
    text = raw.strip().replace(" ", "").replace("\xa0", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(_("Enter the quantity as a number.")) from None
    if not value.is_finite():
        raise Invalid(_("Enter the quantity as a number."))
    if value <= 0:
        raise Invalid(_("The quantity must be greater than zero."))
    if value > MAX_QUANTITY:
        raise Invalid(_("The quantity is too large."))
    if value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise Invalid(_("At most three decimals in a quantity."))
    return value


# --- resources and extra services -----------------------------------------------------------

@dataclass
class ItemRow:
    """One row of the resources table in the form: raw values and the row's error."""

    item_id: str = ""
    quantity: str = ""
    error: str | None = None


@dataclass
class ItemRows:
    """The resources and services rows of a submitted form."""

    rows: list[ItemRow] = field(default_factory=list)
    parsed: list[tuple[int, Decimal]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when no row has an error."""
        return not any(row.error for row in self.rows)


def catalogue_choices(request: Request, keep: Iterable[int] = ()) -> list[CatalogueItem]:
    """Active catalogue items plus the inactive ones in ``keep`` (already on the activity)."""
    keep = list(keep)
    condition = CatalogueItem.active.is_(True)
    if keep:
        condition = sa.or_(condition, CatalogueItem.id.in_(keep))
    return list(request.dbsession.scalars(
        sa.select(CatalogueItem).where(condition)
        .order_by(CatalogueItem.kind, CatalogueItem.name)))


def read_item_rows(request: Request, allowed: Iterable[int]) -> ItemRows:
    """The ``item_id``/``quantity`` pairs of the POST; empty rows are skipped.

    A row needs an item among ``allowed`` and a positive quantity; errors are translated
    and attached to the row.
    """
    allowed_ids = set(allowed)
    ids = request.POST.getall("item_id")
    quantities = request.POST.getall("quantity")
    result = ItemRows()
    for index in range(max(len(ids), len(quantities))):
        raw_id = ids[index].strip() if index < len(ids) else ""
        raw_qty = quantities[index].strip() if index < len(quantities) else ""
        if not raw_id and not raw_qty:
            continue
        row = ItemRow(raw_id, raw_qty)
        result.rows.append(row)
        if db_id(raw_id) not in allowed_ids:
            row.error = request.translate(_("Choose a resource or service for this quantity."))
            continue
        if not raw_qty:
            row.error = request.translate(_("Enter the quantity."))
            continue
        try:
            result.parsed.append((int(raw_id), parse_quantity(raw_qty)))
        except Invalid as exc:
            row.error = request.translate(exc.args[0])
    return result


def replace_items(activity: Activity, parsed: list[tuple[int, Decimal]]) -> None:
    """Make the activity's resources and services exactly ``parsed`` (item id, quantity),
    keeping rows whose item and quantity did not change."""
    wanted = list(parsed)
    kept: list[ActivityItem] = []
    for existing in list(activity.items):
        key = (existing.item_id, existing.quantity)
        match = next((w for w in wanted if w[0] == key[0] and w[1] == key[1]), None)
        if match is not None:
            wanted.remove(match)
            kept.append(existing)
    activity.items = kept + [ActivityItem(item_id=i, quantity=q) for i, q in wanted]


def end_of(activity: Activity) -> dt.datetime:
    """When the activity ends for the calendar (see
    :func:`plugins.crm_register.calendar.occupied_interval`)."""
    return occupied_interval(activity.starts_at, activity.ends_at,
                             activity.estimated_minutes)[1]
