"""The calendar of activities (K1, K2): day (the daily plan), week and month views for the
logged-in user, a colleague or the whole team, with extracts by activity type.

``/calendar?view=day|week|month&date=YYYY-MM-DD&user=<id>|all&type=<type code>``. Days are
local dates of the tenant's time zone; an activity belongs to the day on which it starts.
Only activities the user may see are listed (:mod:`plugins.crm_register.activities`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.i18n import tenant_zone
from core.models import User
from plugins.crm_register.activities import db_id, end_of, visible_activities
from plugins.crm_register.calendar import VIEWS, local_bounds, local_today, period, shift
from plugins.crm_register.i18n import _
from plugins.crm_register.models import Activity, ActivityType
from plugins.crm_register.permissions import ACTIVITY_EDIT, ACTIVITY_VIEW, CALENDAR_VIEW

MAX_ITEMS = 2000
"""At most this many activities are shown in the day view."""
PER_DAY_ITEMS = {"week": 40, "month": 6}
"""At most this many activities per day in the week and month views; the rest are counted
and linked to the day view (a team week can hold thousands)."""
DEFAULT_VIEW = "week"


@dataclass
class CalendarItem:
    """An activity on the calendar with its local start and end."""

    activity: Activity
    start: dt.datetime
    end: dt.datetime
    url: str

    @property
    def time(self) -> str:
        """``HH:MM`` of the local start."""
        return self.start.strftime("%H:%M")

    @property
    def end_time(self) -> str:
        """``HH:MM`` of the local end (with the date when it ends on another day)."""
        if self.end.date() != self.start.date():
            return self.end.strftime("%d.%m %H:%M")
        return self.end.strftime("%H:%M")


@dataclass
class CalendarDay:
    """One local date of the view with its activities in time order."""

    date: dt.date
    url: str
    is_today: bool
    in_period: bool = True
    items: list[CalendarItem] = field(default_factory=list)
    more: int = 0
    """Activities of the day not shown in this view."""


@dataclass
class Selection:
    """What the calendar shows, read from the query string."""

    view: str
    day: dt.date
    user: User | None
    """One user's calendar; ``None`` for the whole team."""
    user_param: str
    activity_type: ActivityType | None
    notices: list[str] = field(default_factory=list)


def _read_selection(request: Request, types: list[ActivityType], today: dt.date) -> Selection:
    params = request.GET
    notices: list[str] = []
    view = params.get("view", DEFAULT_VIEW) or DEFAULT_VIEW
    if view not in VIEWS:
        notices.append(request.translate(_("Unknown calendar view; showing the week.")))
        view = DEFAULT_VIEW
    day = today
    raw_date = params.get("date", "").strip()
    if raw_date:
        try:
            day = dt.date.fromisoformat(raw_date)
            if not 1900 <= day.year <= 2999:
                raise ValueError(raw_date)
        except ValueError:
            notices.append(request.translate(
                _("The date ${date} is not valid (use YYYY-MM-DD); showing today.",
                  mapping={"date": raw_date[:20]})))
            day = today
    me = request.user
    raw_user = params.get("user", "").strip()
    user: User | None = me
    user_param = str(me.id)
    if raw_user == "all":
        if not request.has_permission(CALENDAR_VIEW):
            raise HTTPForbidden()
        user, user_param = None, "all"
    elif raw_user.isdigit() and raw_user != str(me.id):
        if not request.has_permission(CALENDAR_VIEW):
            raise HTTPForbidden()
        key = db_id(raw_user)
        user = None if key is None else request.dbsession.scalar(
            sa.select(User).where(User.id == key))
        if user is None:
            raise HTTPNotFound()
        user_param = str(user.id)
    elif raw_user not in ("", "me", str(me.id)):
        notices.append(request.translate(_("Unknown user; showing your own calendar.")))
    activity_type = None
    raw_type = params.get("type", "").strip()
    if raw_type:
        activity_type = next((t for t in types if t.code == raw_type), None)
        if activity_type is None:
            notices.append(request.translate(
                _("Unknown activity type; showing every type.")))
    return Selection(view, day, user, user_param, activity_type, notices)


def _url(request: Request, sel: Selection, **changes: Any) -> str:
    params = {"view": sel.view, "date": sel.day.isoformat(), "user": sel.user_param,
              "type": sel.activity_type.code if sel.activity_type else ""}
    params.update({k: v for k, v in changes.items()})
    return request.route_url("crm_calendar", _query={k: v for k, v in params.items() if v})


def _title(request: Request, sel: Selection, first: dt.date, after: dt.date) -> str:
    if sel.view == "day":
        return request.format_date(sel.day, "full")
    if sel.view == "week":
        last = after - dt.timedelta(days=1)
        return request.translate(_("Week ${week}: ${first} – ${last}", mapping={
            "week": first.isocalendar().week, "first": request.format_date(first, "medium"),
            "last": request.format_date(last, "medium")}))
    return request.format_date(sel.day.replace(day=1), "LLLL y").capitalize()


def _period_activities(request: Request, start: dt.datetime, end: dt.datetime,
                       user: User | None, activity_type: ActivityType | None) -> sa.Select:
    stmt = (visible_activities(request)
            .where(Activity.starts_at >= start, Activity.starts_at < end)
            .order_by(Activity.starts_at, Activity.id))
    if user is not None:
        stmt = stmt.where(Activity.performer_id == user.id)
    if activity_type is not None:
        stmt = stmt.where(Activity.type_id == activity_type.id)
    return stmt


def _items(request: Request, stmt: sa.Select) -> list[CalendarItem]:
    tz = tenant_zone(request)
    stmt = stmt.options(selectinload(Activity.client), selectinload(Activity.type),
                        selectinload(Activity.person), selectinload(Activity.performer))
    return [
        CalendarItem(a, a.starts_at.astimezone(tz), end_of(a).astimezone(tz),
                     request.route_url("crm_activity", activity_id=a.id))
        for a in request.dbsession.scalars(stmt)
    ]


def load_items(request: Request, start: dt.datetime, end: dt.datetime, user: User | None,
               activity_type: ActivityType | None,
               limit: int = MAX_ITEMS) -> list[CalendarItem]:
    """The visible activities starting in ``[start, end)`` of ``user`` (everybody's when
    None) and of ``activity_type`` (every type when None), in time order, localised."""
    return _items(request, _period_activities(request, start, end, user, activity_type)
                  .limit(limit))


def load_items_per_day(request: Request, start: dt.datetime, end: dt.datetime,
                       user: User | None, activity_type: ActivityType | None,
                       per_day: int) -> tuple[list[CalendarItem], dict[dt.date, int]]:
    """Like :func:`load_items`, but at most ``per_day`` activities of each local day; also
    returns how many activities of each day were left out."""
    tz = tenant_zone(request)
    stmt = _period_activities(request, start, end, user, activity_type)
    shown: list[int] = []
    taken: dict[dt.date, int] = {}
    left_out: dict[dt.date, int] = {}
    for activity_id, starts_at in request.dbsession.execute(
            stmt.with_only_columns(Activity.id, Activity.starts_at)):
        day = starts_at.astimezone(tz).date()
        if taken.get(day, 0) < per_day:
            taken[day] = taken.get(day, 0) + 1
            shown.append(activity_id)
        else:
            left_out[day] = left_out.get(day, 0) + 1
    if not shown:
        return [], left_out
    return _items(request, stmt.where(Activity.id.in_(shown))), left_out


@view_config(route_name="crm_calendar", renderer="plugins.crm_register:templates/calendar.pt",
             permission=ACTIVITY_VIEW)
def calendar(request: Request) -> dict[str, Any]:
    """Day, week or month of activities, with previous/next/today navigation."""
    tz = tenant_zone(request)
    today = local_today(tz)
    types = list(request.dbsession.scalars(
        sa.select(ActivityType).order_by(ActivityType.position, ActivityType.name)))
    sel = _read_selection(request, types, today)
    first, after = period(sel.view, sel.day)
    start, end = local_bounds(first, after, tz)
    left_out: dict[dt.date, int] = {}
    if sel.view in PER_DAY_ITEMS:
        items, left_out = load_items_per_day(request, start, end, sel.user, sel.activity_type,
                                             PER_DAY_ITEMS[sel.view])
    else:
        items = load_items(request, start, end, sel.user, sel.activity_type)
    days: dict[dt.date, CalendarDay] = {}
    current = first
    while current < after:
        in_period = sel.view != "month" or current.month == sel.day.month
        days[current] = CalendarDay(current, _url(request, sel, view="day",
                                                  date=current.isoformat()),
                                    current == today, in_period, more=left_out.get(current, 0))
        current += dt.timedelta(days=1)
    for item in items:
        bucket = days.get(item.start.date())
        if bucket is not None:
            bucket.items.append(item)
    day_list = list(days.values())
    weeks = [day_list[i:i + 7] for i in range(0, len(day_list), 7)]
    colleagues: list[User] = []
    if request.has_permission(CALENDAR_VIEW):
        colleagues = list(request.dbsession.scalars(
            sa.select(User).where(User.active.is_(True)).order_by(User.name)))
    return {
        "sel": sel, "days": day_list, "weeks": weeks, "items": items,
        "truncated": sel.view == "day" and len(items) >= MAX_ITEMS,
        "title": _title(request, sel, first, after),
        "types": types, "colleagues": colleagues,
        "team_view": sel.user is None or sel.user.id != request.user.id,
        "prev_url": _url(request, sel, date=shift(sel.view, sel.day, -1).isoformat()),
        "next_url": _url(request, sel, date=shift(sel.view, sel.day, 1).isoformat()),
        "today_url": _url(request, sel, date=today.isoformat()),
        "view_urls": {v: _url(request, sel, view=v) for v in VIEWS},
        "type_urls": {t.code: _url(request, sel, view="day", date=today.isoformat(),
                                   type=t.code) for t in types},
        "all_types_url": _url(request, sel, type=""),
        "estimated_total": sum(i.activity.estimated_minutes or 0 for i in items),
        "actual_total": sum(i.activity.actual_minutes or 0 for i in items),
        "can_edit_activities": request.has_permission(ACTIVITY_EDIT),
        "weekday_names": [request.format_date(first + dt.timedelta(days=i), "EEE")
                          for i in range(7)],
    }


def includeme(config: Any) -> None:
    """The calendar route."""
    config.add_route("crm_calendar", "/calendar")
    config.scan(__name__)
