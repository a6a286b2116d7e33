"""Activities of a client (C4): the card tab with the list and the form, one activity's page,
marking an activity done and scheduling a follow-up.

The performer and the creator of a new activity are the logged-in user; its number is the
tenant's next ``activity`` number; its start defaults to now. Times are entered and shown
in the tenant's time zone and stored as aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import get_renderer, render_to_response
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.db import utcnow
from core.forms import Field, Form, Invalid
from core.i18n import tenant_zone
from core.paging import paginate
from core.web import flash
from plugins.crm_register.access import require_client
from plugins.crm_register.activities import (
    ItemRow,
    ItemRows,
    catalogue_choices,
    db_id,
    default_start,
    kilometres_validator,
    local_datetime_validator,
    minutes_validator,
    read_item_rows,
    replace_items,
    require_activity,
    to_local_input,
    visible_activities,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import ACTIVITY_STATUSES
from plugins.crm_register.models import (
    Activity,
    ActivityType,
    Client,
    ClientPerson,
    Person,
    Project,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.permissions import ACTIVITY_EDIT, ACTIVITY_VIEW
from plugins.crm_register.views.card import card_context

PAGE_SIZE = 30
BLANK_ITEM_ROWS = 3
FORM_TEMPLATE = "plugins.crm_register:templates/activity_form.pt"
FORM_KEYS = ("name", "type_id", "person_id", "status", "starts_at", "estimated_minutes",
             "actual_minutes", "kilometres", "project_id", "description")


# --- the form ------------------------------------------------------------------------------

def _types(request: Request) -> list[ActivityType]:
    return list(request.dbsession.scalars(
        sa.select(ActivityType).order_by(ActivityType.position, ActivityType.name)))


def _persons(request: Request, client: Client | None, keep: int | None) -> list[tuple[str, str]]:
    """The client's linked persons (and the activity's current person) as options."""
    options: dict[int, str] = {}
    if client is not None:
        links = request.dbsession.scalars(
            sa.select(ClientPerson).where(ClientPerson.client_id == client.id)
            .options(selectinload(ClientPerson.person)).order_by(ClientPerson.id))
        for link in links:
            label = link.person.full_name + (f" ({link.role})" if link.role else "")
            options.setdefault(link.person_id, label)
    if keep is not None and keep not in options:
        person = request.dbsession.get(Person, keep)
        if person is not None:
            options[keep] = person.full_name
    return [(str(key), label) for key, label in options.items()]


def _projects(request: Request, client: Client | None, keep: int | None) -> list[tuple[str, str]]:
    condition = Project.client_id == (client.id if client is not None else 0)
    if keep is not None:
        condition = sa.or_(condition, Project.id == keep)
    return [(str(p.id), p.name) for p in request.dbsession.scalars(
        sa.select(Project).where(condition).order_by(Project.name))]


def activity_fields(request: Request, client: Client | None,
                    activity: Activity | None = None) -> list[Field]:
    """The fields of the activity form for ``client`` (and the activity being edited)."""
    tz = tenant_zone(request)
    return [
        Field("name", _("Name"), required=True, max_length=200),
        Field("type_id", _("Activity type"), "select", required=True,
              options=tuple((str(t.id), t.name) for t in _types(request))),
        Field("person_id", _("Contact person"), "select",
              options=tuple(_persons(request, client, activity.person_id if activity else None))),
        Field("status", _("Status"), "select", required=True,
              options=tuple(ACTIVITY_STATUSES.items())),
        Field("starts_at", _("Start"), "datetime-local", required=True, max_length=40,
              validator=local_datetime_validator(tz)),
        Field("estimated_minutes", _("Estimated duration (minutes)"), "integer",
              validator=minutes_validator,
              help=_("Empty: the usual duration of the activity type.")),
        Field("actual_minutes", _("Time spent (minutes)"), "integer",
              validator=minutes_validator),
        Field("kilometres", _("Kilometres driven"), "decimal", validator=kilometres_validator,
              help=_("Required for activities with car use.")),
        Field("project_id", _("Sales project"), "select",
              options=tuple(_projects(request, client,
                                      activity.project_id if activity else None))),
        Field("description", _("Description"), "textarea", max_length=None),
    ]


def _initial(request: Request, activity: Activity) -> dict[str, Any]:
    values: dict[str, Any] = {key: getattr(activity, key) for key in FORM_KEYS}
    values["starts_at"] = to_local_input(activity.starts_at, tenant_zone(request))
    return values


def _item_rows(activity: Activity | None, blank: int = BLANK_ITEM_ROWS) -> list[ItemRow]:
    rows = [ItemRow(str(i.item_id), _format_quantity(i.quantity))
            for i in (activity.items if activity is not None else [])]
    return rows + [ItemRow() for _i in range(blank)]


def _format_quantity(value: Any) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class ActivityForm:
    """The activity form: the core form, the resource rows and the follow-up reference."""

    def __init__(self, request: Request, client: Client | None,
                 activity: Activity | None = None, initial: dict[str, Any] | None = None,
                 follow_up_of: Activity | None = None) -> None:
        self.request = request
        self.client = client
        self.activity = activity
        self.form = Form(request, activity_fields(request, client, activity), initial)
        self.follow_up_of = follow_up_of
        keep = [i.item_id for i in activity.items] if activity is not None else []
        self.catalogue = catalogue_choices(request, keep)
        self.items = ItemRows(rows=_item_rows(activity))
        self.items_error: str | None = None

    def validate(self) -> bool:
        """Read the POST; True when the fields, the type rules and every resource row are
        valid (field errors and row errors are attached for the template)."""
        ok = self.form.validate()
        self.items = read_item_rows(self.request, [c.id for c in self.catalogue])
        if not self.items.valid:
            self.items_error = self.request.translate(
                _("Check the resources and services below."))
            ok = False
        self.items.rows += [ItemRow() for _i in range(max(1, BLANK_ITEM_ROWS
                                                          - len(self.items.rows)))]
        if "type_id" not in self.form.errors:
            kind = self.request.dbsession.get(ActivityType, int(self.form.data["type_id"]))
            if kind is not None and kind.requires_kilometres and \
                    self.form.data.get("kilometres") is None and \
                    "kilometres" not in self.form.errors:
                self.form.add_error(
                    "kilometres",
                    _("Enter the kilometres driven: this activity type uses a car."))
                ok = False
        return ok

    def apply(self, activity: Activity) -> None:
        """Copy the validated values to ``activity`` (its resources included)."""
        data = self.form.data
        kind = self.request.dbsession.get(ActivityType, int(data["type_id"]))
        activity.name = data["name"]
        activity.type_id = int(data["type_id"])
        activity.person_id = int(data["person_id"]) if data["person_id"] else None
        activity.status = data["status"]
        activity.starts_at = data["starts_at"]
        estimated = data["estimated_minutes"]
        if estimated is None and kind is not None and activity.estimated_minutes is None:
            estimated = kind.default_minutes
        activity.estimated_minutes = estimated
        activity.actual_minutes = data["actual_minutes"]
        activity.kilometres = data["kilometres"]
        activity.project_id = int(data["project_id"]) if data["project_id"] else None
        activity.description = data["description"]
        replace_items(activity, self.items.parsed)


def _form_macros() -> Any:
    return get_renderer(FORM_TEMPLATE).implementation()


# --- the card tab ------------------------------------------------------------------------------

def _follow_up_source(request: Request, client: Client, raw: Any) -> Activity | None:
    """The activity ``raw`` names if it is a visible activity of ``client``."""
    key = db_id(raw)
    if key is None:
        return None
    source = request.dbsession.scalar(
        visible_activities(request).where(Activity.id == key,
                                          Activity.client_id == client.id))
    return source


def _follow_up_initial(request: Request, source: Activity) -> dict[str, Any]:
    """The new activity's values for a follow-up of ``source``: tomorrow, on the hour."""
    tz = tenant_zone(request)
    tomorrow = (utcnow().astimezone(tz) + dt.timedelta(days=1)).replace(minute=0)
    return {
        "name": source.name, "type_id": source.type_id, "person_id": source.person_id,
        "status": "planned", "project_id": source.project_id,
        "starts_at": to_local_input(tomorrow, tz),
    }


def _tab(request: Request, client: Client, form: ActivityForm) -> dict[str, Any]:
    stmt = (visible_activities(request).where(Activity.client_id == client.id)
            .options(selectinload(Activity.type), selectinload(Activity.person),
                     selectinload(Activity.performer))
            .order_by(Activity.starts_at.desc(), Activity.id.desc()))
    return {
        **card_context(request, client, "crm.activities"),
        "pager": paginate(request.dbsession, request, stmt, size=PAGE_SIZE),
        "activity_form": form, "form": form.form, "form_macros": _form_macros(),
        "can_edit_activities": request.has_permission(ACTIVITY_EDIT),
        "form_action": request.route_url("crm_client_activities", client_id=client.id),
    }


@view_config(route_name="crm_client_activities", request_method="GET",
             renderer="plugins.crm_register:templates/activities.pt", permission=ACTIVITY_VIEW)
def client_activities(request: Request) -> dict[str, Any]:
    """The client's activities, newest first, and the form for a new one
    (``?follow_up=<id>`` pre-fills it as a follow-up of that activity)."""
    client = require_client(request)
    tz = tenant_zone(request)
    initial: dict[str, Any] = {"status": "planned", "starts_at": default_start(tz)}
    source = _follow_up_source(request, client, request.GET.get("follow_up"))
    if source is not None:
        initial.update(_follow_up_initial(request, source))
    return _tab(request, client, ActivityForm(request, client, None, initial, source))


@view_config(route_name="crm_client_activities", request_method="POST",
             renderer="plugins.crm_register:templates/activities.pt", permission=ACTIVITY_EDIT)
def add_activity(request: Request) -> Any:
    """Save a new activity of the client; on bad input show the form again (400)."""
    client = require_client(request)
    source = None
    raw_source = request.POST.get("follow_up_of_id", "")
    form = ActivityForm(request, client)
    if raw_source:
        source = _follow_up_source(request, client, raw_source)
        form.follow_up_of = source
    valid = form.validate()
    if raw_source and source is None:
        form.form.set_form_error(_("The activity to follow up was not found."))
        valid = False
    if not valid:
        request.response.status_int = 400
        return _tab(request, client, form)
    user = request.user
    activity = Activity(client_id=client.id, number=next_number(request.dbsession, "activity"),
                        performer_id=user.id, created_by_id=user.id,
                        follow_up_of_id=source.id if source is not None else None)
    form.apply(activity)
    request.dbsession.add(activity)
    request.dbsession.flush()
    flash(request, _("Activity ${number} was added."), number=activity.number)
    return HTTPSeeOther(request.route_url("crm_client_activities", client_id=client.id))


# --- one activity --------------------------------------------------------------------------------

def _activity_page(request: Request, activity: Activity, form: ActivityForm) -> dict[str, Any]:
    client = activity.client
    follow_ups = list(request.dbsession.scalars(
        visible_activities(request).where(Activity.follow_up_of_id == activity.id)
        .order_by(Activity.starts_at)))
    previous = None
    if activity.follow_up_of_id is not None:
        previous = request.dbsession.scalar(
            visible_activities(request).where(Activity.id == activity.follow_up_of_id))
    context: dict[str, Any] = card_context(request, client, "crm.activities") if client else {}
    return {
        **context, "activity": activity, "activity_form": form, "form": form.form,
        "form_macros": _form_macros(), "follow_ups": follow_ups, "previous": previous,
        "can_edit_activities": request.has_permission(ACTIVITY_EDIT),
        "form_action": request.route_url("crm_activity", activity_id=activity.id),
    }


def _render_activity(request: Request, activity: Activity, form: ActivityForm) -> Any:
    template = ("plugins.crm_register:templates/activity.pt" if activity.client is not None
                else "plugins.crm_register:templates/activity_solo.pt")
    return render_to_response(template, _activity_page(request, activity, form), request,
                              response=request.response)


@view_config(route_name="crm_activity", request_method="GET", permission=ACTIVITY_VIEW)
def activity_page(request: Request) -> Any:
    """One activity: its details, the edit form, follow-ups; 404 when not visible."""
    activity = require_activity(request)
    form = ActivityForm(request, activity.client, activity, _initial(request, activity))
    return _render_activity(request, activity, form)


@view_config(route_name="crm_activity", request_method="POST", permission=ACTIVITY_EDIT)
def edit_activity(request: Request) -> Any:
    """Save changes of an activity; on bad input show the form again (400)."""
    activity = require_activity(request)
    form = ActivityForm(request, activity.client, activity, _initial(request, activity))
    if not form.validate():
        request.response.status_int = 400
        return _render_activity(request, activity, form)
    form.apply(activity)
    flash(request, _("Activity ${number} was saved."), number=activity.number)
    return HTTPSeeOther(request.route_url("crm_activity", activity_id=activity.id))


def _safe_next(request: Request, default: str) -> str:
    target = request.POST.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc \
            and not parts.scheme and "\\" not in target:
        return request.application_url + target
    return default


@view_config(route_name="crm_activity_done", request_method="POST", permission=ACTIVITY_EDIT)
def mark_done(request: Request) -> Any:
    """Mark an activity done, optionally recording the time spent (``actual_minutes``)."""
    activity = require_activity(request)
    default = request.route_url("crm_activity", activity_id=activity.id)
    raw = request.POST.get("actual_minutes", "").strip()
    if raw:
        try:
            minutes = int(raw)
            minutes_validator(minutes)
        except (ValueError, Invalid) as exc:
            message = exc.args[0] if isinstance(exc, Invalid) else _("Enter a whole number.")
            flash(request, _("The time spent was not accepted: ${error}"), "error",
                  error=request.translate(message))
            return HTTPSeeOther(_safe_next(request, default))
        activity.actual_minutes = minutes
    activity.status = "done"
    flash(request, _("Activity ${number} is done."), number=activity.number)
    return HTTPSeeOther(_safe_next(request, default))


def includeme(config: Any) -> None:
    """Routes of the activities tab and of single activities."""
    config.add_route("crm_client_activities", "/clients/{client_id:\\d{1,9}}/activities")
    config.add_route("crm_activity", "/activities/{activity_id:\\d{1,9}}")
    config.add_route("crm_activity_done", "/activities/{activity_id:\\d{1,9}}/done")
    config.scan(__name__)
