"""Front-page widgets (D1-D3) and the announcements page.

* D1 today's activities of the logged-in user,
* D2 birthdays today and in the next seven days, of contact persons of the clients the user
  may see and of team members,
* D3 announcements that have not expired; ``/announcements`` creates, expires and deletes
  them.

The widgets are declared by ``dashboard_widgets`` in :mod:`plugins.crm_register.hooks`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.forms import Field, Form, Invalid
from core.hookspecs.types import Widget
from core.i18n import tenant_zone
from core.models import User
from core.paging import paginate
from core.web import flash
from plugins.crm_register.access import visible_client_ids
from plugins.crm_register.activities import db_id
from plugins.crm_register.calendar import local_bounds, local_today
from plugins.crm_register.i18n import _
from plugins.crm_register.models import Announcement, Client, ClientPerson, Person
from plugins.crm_register.permissions import ACTIVITY_VIEW, ANNOUNCEMENT_POST, CLIENT_VIEW
from plugins.crm_register.views.calendar import load_items

BIRTHDAY_DAYS = 7
"""The birthdays widget looks this many days ahead (besides today)."""
WIDGET_ANNOUNCEMENTS = 10


def widgets() -> list[Widget]:
    """The register's front-page widgets (for the ``dashboard_widgets`` hook)."""
    return [
        Widget(name="crm.today", title=_("My activities today"),
               template="plugins.crm_register:templates/widgets/today.pt",
               data=today_data, permission=ACTIVITY_VIEW, order=10),
        Widget(name="crm.announcements", title=_("Announcements"),
               template="plugins.crm_register:templates/widgets/announcements.pt",
               data=announcements_data, permission=None, order=20),
        Widget(name="crm.birthdays", title=_("Birthdays"),
               template="plugins.crm_register:templates/widgets/birthdays.pt",
               data=birthdays_data, permission=CLIENT_VIEW, order=30),
    ]


# --- D1 --------------------------------------------------------------------------------------

def today_data(request: Request) -> dict[str, Any]:
    """The logged-in user's activities of today (local date), in time order."""
    tz = tenant_zone(request)
    today = local_today(tz)
    start, end = local_bounds(today, today + dt.timedelta(days=1), tz)
    items = load_items(request, start, end, request.user, None, limit=50)
    return {"items": items,
            "calendar_url": request.route_url("crm_calendar", _query={
                "view": "day", "date": today.isoformat()})}


# --- D2 --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Birthday:
    """Somebody's birthday on ``date`` (this year's date of it)."""

    date: dt.date
    name: str
    detail: str
    url: str | None
    team: bool


def birthday_dates(today: dt.date, days: int = BIRTHDAY_DAYS) -> dict[str, dt.date]:
    """``MM-DD`` keys of ``today`` and the next ``days`` days, mapped to their dates.

    In a year without 29 February, people born on it are congratulated on 28 February.
    """
    result: dict[str, dt.date] = {}
    for offset in range(days + 1):
        day = today + dt.timedelta(days=offset)
        result[day.strftime("%m-%d")] = day
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            result["02-29"] = day
    return result


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthdays(request: Request, today: dt.date,
              days: int = BIRTHDAY_DAYS) -> list[Birthday]:
    """Birthdays from ``today`` through ``days`` days ahead, by date then name: contact
    persons linked to clients the user may see, and active team members."""
    dates = birthday_dates(today, days)
    found: list[Birthday] = []
    rows = request.dbsession.execute(
        sa.select(Person, Client.name)
        .join(ClientPerson, ClientPerson.person_id == Person.id)
        .join(Client, Client.id == ClientPerson.client_id)
        .where(Person.birthday_md.in_(list(dates)),
               Client.id.in_(visible_client_ids(request)))
        .order_by(Person.id, Client.name)).all()
    clients: dict[int, dict[str, None]] = {}
    persons: dict[int, Person] = {}
    for person, client_name in rows:
        persons[person.id] = person
        clients.setdefault(person.id, {})[client_name] = None
    for person in persons.values():
        found.append(Birthday(
            dates[person.birthday_md or ""], person.full_name, ", ".join(clients[person.id]),
            request.route_url("crm_person", person_id=person.id), False))
    for user in request.dbsession.scalars(
            sa.select(User).where(User.active.is_(True), User.birthday.is_not(None))):
        key = user.birthday.strftime("%m-%d") if user.birthday else ""
        if key in dates:
            found.append(Birthday(dates[key], user.name, "", None, True))
    return sorted(found, key=lambda b: (b.date, b.name))


def birthdays_data(request: Request) -> dict[str, Any]:
    """Today's birthdays and those of the next seven days, for the widget."""
    today = local_today(tenant_zone(request))
    found = birthdays(request, today)
    return {"today": [b for b in found if b.date == today],
            "soon": [b for b in found if b.date != today]}


# --- D3 --------------------------------------------------------------------------------------

def current_announcements(request: Request) -> sa.Select[tuple[Announcement]]:
    """``SELECT`` of the announcements shown today: no expiry date or expiring today or
    later (an announcement is shown through its expiry date), newest first."""
    today = local_today(tenant_zone(request))
    return (sa.select(Announcement)
            .where(sa.or_(Announcement.expires_on.is_(None), Announcement.expires_on >= today))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc()))


def announcements_data(request: Request) -> dict[str, Any]:
    """The newest current announcements, for the widget."""
    stmt = current_announcements(request).options(selectinload(Announcement.author))
    return {"announcements": list(request.dbsession.scalars(stmt.limit(WIDGET_ANNOUNCEMENTS))),
            "can_post": request.has_permission(ANNOUNCEMENT_POST)}


def _expiry_validator(request: Request) -> Any:
    today = local_today(tenant_zone(request))

    def validate(value: dt.date) -> dt.date:
        if value < today:
            raise Invalid(_("The expiry date cannot be in the past."))
        return value

    return validate


def announcement_fields(request: Request) -> list[Field]:
    """The fields of a new announcement."""
    return [
        Field("title", _("Title"), required=True, max_length=200),
        Field("body", _("Text"), "textarea", max_length=None),
        Field("expires_on", _("Shown until (inclusive)"), "date",
              validator=_expiry_validator(request),
              help=_("Empty: shown until it is expired or deleted.")),
    ]


def _announcements_page(request: Request, form: Form) -> dict[str, Any]:
    stmt = (sa.select(Announcement).options(selectinload(Announcement.author))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc()))
    return {"form": form, "pager": paginate(request.dbsession, request, stmt, size=30),
            "today": local_today(tenant_zone(request))}


@view_config(route_name="crm_announcements", request_method="GET",
             renderer="plugins.crm_register:templates/announcements.pt",
             permission=ANNOUNCEMENT_POST)
def announcements(request: Request) -> dict[str, Any]:
    """Every announcement, current and expired, with the form for a new one."""
    return _announcements_page(request, Form(request, announcement_fields(request)))


@view_config(route_name="crm_announcements", request_method="POST",
             renderer="plugins.crm_register:templates/announcements.pt",
             permission=ANNOUNCEMENT_POST)
def post_announcement(request: Request) -> Any:
    """Publish an announcement; on bad input show the form again (400)."""
    form = Form(request, announcement_fields(request))
    if not form.validate():
        request.response.status_int = 400
        return _announcements_page(request, form)
    request.dbsession.add(Announcement(title=form.data["title"], body=form.data["body"],
                                       expires_on=form.data["expires_on"],
                                       author_id=request.user.id))
    flash(request, _("The announcement was published."))
    return HTTPSeeOther(request.route_url("crm_announcements"))


def _announcement(request: Request) -> Announcement:
    key = db_id(request.matchdict["announcement_id"])
    found = None if key is None else request.dbsession.scalar(
        sa.select(Announcement).where(Announcement.id == key))
    if found is None:
        raise HTTPNotFound()
    return found


@view_config(route_name="crm_announcement_expire", request_method="POST",
             permission=ANNOUNCEMENT_POST)
def expire_announcement(request: Request) -> Any:
    """Take an announcement off the front page now (it stays in the list as expired)."""
    announcement = _announcement(request)
    yesterday = local_today(tenant_zone(request)) - dt.timedelta(days=1)
    if announcement.expires_on is None or announcement.expires_on > yesterday:
        announcement.expires_on = yesterday
    flash(request, _("The announcement was taken off the front page."))
    return HTTPSeeOther(request.route_url("crm_announcements"))


@view_config(route_name="crm_announcement_delete", request_method="POST",
             permission=ANNOUNCEMENT_POST)
def delete_announcement(request: Request) -> Any:
    """Delete an announcement for good."""
    request.dbsession.delete(_announcement(request))
    flash(request, _("The announcement was deleted."))
    return HTTPSeeOther(request.route_url("crm_announcements"))


def includeme(config: Any) -> None:
    """Routes of the announcements page."""
    config.add_route("crm_announcements", "/announcements")
    config.add_route("crm_announcement_expire", "/announcements/{announcement_id:\\d{1,9}}/expire")
    config.add_route("crm_announcement_delete", "/announcements/{announcement_id:\\d{1,9}}/delete")
    config.scan(__name__)

