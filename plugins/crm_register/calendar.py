"""Calendar arithmetic of the client register: periods of the calendar views and free slots.

Free slots (K1, and the order flow W2, which offers the client a free time for a service):

* :func:`find_free_slots` is a pure function: given the busy intervals of the people
  concerned, it returns every slot of the wanted length inside the working hours of the
  working days of a window, starting on a fixed step (every 30 minutes by default).
* :func:`free_slots` is the database wrapper: it reads the busy intervals of the given users
  from their activities (see :func:`occupied_interval`) and calls :func:`find_free_slots`.

Example (what the order flow does)::

    from plugins.crm_register.calendar import free_slots

    slots = free_slots(request.dbsession, [technician.id], timedelta(hours=2),
                       window_start=utcnow(), window_end=utcnow() + timedelta(days=14),
                       tz=tenant_zone(request))
    first = slots[0] if slots else None      # Slot(start=..., end=...), aware datetimes

Rules, in one place:

* Every datetime given and returned is timezone-aware; naive ones raise ``ValueError``.
  Returned slots are expressed in ``tz`` (they compare equal to the same instants in UTC).
* Working hours are wall-clock times in ``tz`` (default Europe/Tallinn), on working days
  (Monday to Friday unless ``working_days`` says otherwise), skipping ``holidays``. So a
  slot "at 09:00" is at 09:00 local time before and after a daylight saving change.
  Durations and steps are real elapsed time (arithmetic is done in UTC).
* Slot starts are aligned to ``step`` counted from the start of the working day (09:00,
  09:30, 10:00 ...), never to the window start: a window starting 10:17 gives 10:30 first.
  A slot must lie completely inside the working hours and the window.
* Intervals are half-open ``[start, end)``: a slot may start exactly when a busy interval
  ends, and end exactly when the next one starts (back-to-back).
* Consecutive slots overlap when ``step < duration``; they are candidate start times for
  one booking, not a partition of the free time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.crm_register.models import Activity

TALLINN = ZoneInfo("Europe/Tallinn")
WORKING_HOURS = (dt.time(9), dt.time(17))
"""Default working hours (local wall-clock time)."""
STEP = dt.timedelta(minutes=30)
"""Default distance between the starts of candidate slots."""
WORKING_DAYS = frozenset({0, 1, 2, 3, 4})
"""Monday to Friday (``date.weekday()`` numbers)."""
OCCUPYING_STATUSES = ("planned", "in_progress", "done")
"""Activity statuses that take the performer's time; cancelled activities do not."""
DEFAULT_LENGTH = dt.timedelta(minutes=30)
"""How long an activity without an end and without an estimate occupies its performer."""
LOOKBACK = dt.timedelta(days=31)
"""Activities without ``ends_at`` that started this long before the window are not read:
longer estimates than this are not expected (the activity form allows at most ~69 days,
but then sets no end; give such activities an ``ends_at``)."""


@dataclass(frozen=True, order=True)
class Slot:
    """A free period ``[start, end)``; both ends timezone-aware."""

    start: dt.datetime
    end: dt.datetime


Interval = tuple[dt.datetime, dt.datetime]


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def occupied_interval(starts_at: dt.datetime, ends_at: dt.datetime | None,
                      estimated_minutes: int | None) -> Interval:
    """The time an activity occupies its performer: ``[starts_at, end)``.

    The end is ``ends_at`` when set (and after the start), else the start plus the
    estimated minutes when positive, else the start plus 30 minutes.
    """
    _require_aware(starts_at, "starts_at")
    if ends_at is not None:
        _require_aware(ends_at, "ends_at")
        if ends_at > starts_at:
            return starts_at, ends_at
    if estimated_minutes is not None and estimated_minutes > 0:
        return starts_at, starts_at + dt.timedelta(minutes=estimated_minutes)
    return starts_at, starts_at + DEFAULT_LENGTH


def working_periods(
    window_start: dt.datetime,
    window_end: dt.datetime,
    *,
    working_hours: tuple[dt.time, dt.time] = WORKING_HOURS,
    tz: ZoneInfo = TALLINN,
    working_days: Collection[int] = WORKING_DAYS,
    holidays: Collection[dt.date] = (),
) -> list[Interval]:
    """The working hours of each working day touching the window, as UTC intervals.

    The periods are whole working days (not clipped to the window): slot starts are
    aligned to the start of the working day. Days are local dates in ``tz``; a day in
    ``holidays`` or whose weekday is not in ``working_days`` has no period.
    """
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    day_from, day_to = working_hours
    if day_from >= day_to:
        raise ValueError("working hours must start before they end")
    periods: list[Interval] = []
    day = window_start.astimezone(tz).date()
    last = window_end.astimezone(tz).date()
    while day <= last:
        if day.weekday() in working_days and day not in holidays:
            start = dt.datetime.combine(day, day_from, tzinfo=tz).astimezone(dt.UTC)
            end = dt.datetime.combine(day, day_to, tzinfo=tz).astimezone(dt.UTC)
            periods.append((start, end))
        day += dt.timedelta(days=1)
    return periods


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of intervals (touching intervals are joined)."""
    merged: list[Interval] = []
    checked = list(intervals)
    for start, end in checked:
        _require_aware(start, "busy interval start")
        _require_aware(end, "busy interval end")
    for start, end in sorted((s.astimezone(dt.UTC), e.astimezone(dt.UTC))
                             for s, e in checked):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def find_free_slots(
    busy: Iterable[Interval],
    duration: dt.timedelta,
    window_start: dt.datetime,
    window_end: dt.datetime,
    *,
    working_hours: tuple[dt.time, dt.time] = WORKING_HOURS,
    step: dt.timedelta = STEP,
    tz: ZoneInfo = TALLINN,
    working_days: Collection[int] = WORKING_DAYS,
    holidays: Collection[dt.date] = (),
) -> list[Slot]:
    """Every slot of ``duration`` in the window that overlaps no busy interval.

    ``busy`` is the union of everybody's busy time (so a returned slot suits all of
    them). Candidate starts are the working-day start plus multiples of ``step``; a
    candidate is kept when ``[start, start + duration)`` lies within the working hours
    and ``[window_start, window_end)`` and overlaps no busy interval (half-open, so
    back-to-back is free). Slots are returned in time order, expressed in ``tz``.

    Raises ``ValueError`` for naive datetimes, a non-positive duration or step, or
    working hours that do not start before they end. An empty or reversed window gives
    no slots.
    """
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    if duration <= dt.timedelta(0):
        raise ValueError("duration must be positive")
    if step <= dt.timedelta(0):
        raise ValueError("step must be positive")
    if window_end <= window_start:
        return []
    taken = merge_intervals(busy)
    window_from = window_start.astimezone(dt.UTC)
    window_to = window_end.astimezone(dt.UTC)
    slots: list[Slot] = []
    index = 0  # the first busy interval that may still overlap (candidates only grow)
    for day_start, day_end in working_periods(
        window_start, window_end, working_hours=working_hours, tz=tz,
        working_days=working_days, holidays=holidays,
    ):
        last_end = min(day_end, window_to)
        start = day_start
        if start < window_from:
            steps = -((window_from - start) // -step)  # ceiling division
            start = day_start + steps * step
        while start + duration <= last_end:
            end = start + duration
            while index < len(taken) and taken[index][1] <= start:
                index += 1
            if index < len(taken) and taken[index][0] < end:
                # Jump to the first step at or after the end of the blocking interval.
                blocked_until = taken[index][1]
                steps = -((blocked_until - day_start) // -step)
                start = day_start + steps * step
                continue
            slots.append(Slot(start.astimezone(tz), end.astimezone(tz)))
            start += step
    return slots


def busy_intervals(
    dbsession: Session,
    user_ids: Sequence[int],
    window_start: dt.datetime,
    window_end: dt.datetime,
) -> list[Interval]:
    """The intervals in which any of ``user_ids`` performs an occupying activity that
    touches the window (planned, in progress or done; cancelled ones are free time).

    ``dbsession`` must be scoped to the tenant (``request.dbsession`` is). Every activity
    counts, whichever client it belongs to: busy time is busy even when the asking user
    may not see that client (nothing about the activities is returned but the times).
    """
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    if not user_ids:
        return []
    rows = dbsession.execute(
        sa.select(Activity.starts_at, Activity.ends_at, Activity.estimated_minutes)
        .where(
            Activity.performer_id.in_(list(user_ids)),
            Activity.status.in_(OCCUPYING_STATUSES),
            Activity.starts_at < window_end,
            sa.or_(
                Activity.ends_at > window_start,
                sa.and_(Activity.ends_at.is_(None),
                        Activity.starts_at >= window_start - LOOKBACK),
                # an end before the start is ignored by occupied_interval
                Activity.ends_at <= Activity.starts_at,
            ),
        )
    ).all()
    intervals = [occupied_interval(s, e, m) for s, e, m in rows]
    return [(s, e) for s, e in intervals if e > window_start and s < window_end]


def free_slots(
    dbsession: Session,
    user_ids: Sequence[int],
    duration: dt.timedelta,
    window_start: dt.datetime,
    window_end: dt.datetime,
    *,
    working_hours: tuple[dt.time, dt.time] = WORKING_HOURS,
    step: dt.timedelta = STEP,
    tz: ZoneInfo = TALLINN,
    working_days: Collection[int] = WORKING_DAYS,
    holidays: Collection[dt.date] = (),
) -> list[Slot]:
    """Slots of ``duration`` within the window in which ALL ``user_ids`` are free.

    Reads the users' activities with :func:`busy_intervals` (planned, in progress and
    done activities occupy ``[starts_at, ends_at or starts_at + estimated minutes or 30
    minutes)``) and returns :func:`find_free_slots` of their union: only within
    ``working_hours`` (local time in ``tz``) on working days (Monday to Friday by
    default, minus ``holidays``), starting every ``step`` from the start of the working
    day, as aware datetimes in ``tz``. With no users every working slot is free.
    """
    busy = busy_intervals(dbsession, user_ids, window_start, window_end)
    return find_free_slots(busy, duration, window_start, window_end,
                           working_hours=working_hours, step=step, tz=tz,
                           working_days=working_days, holidays=holidays)


# --- periods of the calendar views ------------------------------------------------------

VIEWS = ("day", "week", "month")


def period(view: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The local dates ``[first, after_last)`` the calendar ``view`` of ``day`` shows.

    A week runs Monday to Sunday; a month view covers whole weeks, from the Monday on or
    before the 1st to the Sunday on or after the last day of the month.
    """
    if view == "day":
        return day, day + dt.timedelta(days=1)
    if view == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=7)
    if view == "month":
        first = day.replace(day=1)
        next_month = (first + dt.timedelta(days=32)).replace(day=1)
        start = first - dt.timedelta(days=first.weekday())
        end = next_month + dt.timedelta(days=(7 - next_month.weekday()) % 7)
        return start, end
    raise ValueError(f"unknown calendar view {view!r}")


def shift(view: str, day: dt.date, direction: int) -> dt.date:
    """The date shown by the previous (``-1``) or next (``+1``) page of ``view``."""
    if view == "day":
        return day + dt.timedelta(days=direction)
    if view == "week":
        return day + dt.timedelta(days=7 * direction)
    if view == "month":
        first = day.replace(day=1)
        if direction < 0:
            return (first - dt.timedelta(days=1)).replace(day=1)
        return (first + dt.timedelta(days=32)).replace(day=1)
    raise ValueError(f"unknown calendar view {view!r}")


def local_bounds(first: dt.date, after_last: dt.date, tz: ZoneInfo) -> Interval:
    """The UTC instants of local midnight of ``first`` and of ``after_last`` in ``tz``
    (a local day is 23 or 25 hours long on daylight saving change days)."""
    return (dt.datetime.combine(first, dt.time(0), tzinfo=tz).astimezone(dt.UTC),
            dt.datetime.combine(after_last, dt.time(0), tzinfo=tz).astimezone(dt.UTC))


def local_today(tz: ZoneInfo) -> dt.date:
    """Today's date in ``tz`` (from :func:`core.db.utcnow`)."""
    return utcnow().astimezone(tz).date()
