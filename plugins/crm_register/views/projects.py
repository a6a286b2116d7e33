"""The sales projects tab of the client card and the project page (C14).

A project has a status, a salesperson, dates and an expected value; activities and
documents are linked to it from their own forms, and the project page lists them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import joinedload, selectinload

from core.forms import Field, Form, Invalid
from core.models import User
from core.web import flash
from plugins.crm_register.access import require_client, visible_client_ids
from plugins.crm_register.documents import format_size
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import PROJECT_STATUSES
from plugins.crm_register.models import Activity, Client, Document, Project
from plugins.crm_register.permissions import (
    ACTIVITY_VIEW,
    CLIENT_EDIT,
    CLIENT_VIEW,
    DOCUMENT_EDIT,
    DOCUMENT_VIEW,
)
from plugins.crm_register.views.card import card_context
from plugins.crm_register.views.documents import activity_url

PROJECT_KEYS = ("name", "status", "salesperson_id", "starts_on", "ends_on", "expected_value",
                "description")
MAX_VALUE = Decimal("999999999999.99")


def money_value(value: Decimal) -> Decimal:
    """A non-negative amount with at most two decimals that fits the database column."""
    if value < 0:
        raise Invalid(_("The amount cannot be negative."))
    if value > MAX_VALUE:
        raise Invalid(_("The amount is too large."))
    if value != value.quantize(Decimal("0.01")):
        raise Invalid(_("At most two decimals."))
    return value.quantize(Decimal("0.01"))


def salespeople(request: Request, keep_id: int | None = None) -> list[User]:
    """Active users (and the current choice, even if no longer active), by name."""
    condition = User.active.is_(True)
    if keep_id:
        condition = sa.or_(condition, User.id == keep_id)
    return list(request.dbsession.scalars(sa.select(User).where(condition).order_by(User.name)))


def project_fields(request: Request, keep_salesperson: int | None = None) -> list[Field]:
    """The fields of the project form."""
    return [
        Field("name", _("Name"), required=True, max_length=200),
        Field("status", _("Status"), "select", required=True,
              options=tuple(PROJECT_STATUSES.items())),
        Field("salesperson_id", _("Salesperson"), "select",
              options=tuple((str(u.id), u.name) for u in salespeople(request, keep_salesperson))),
        Field("starts_on", _("Start date"), "date"),
        Field("ends_on", _("End date"), "date"),
        Field("expected_value", _("Expected value (EUR)"), "decimal", validator=money_value),
        Field("description", _("Description"), "textarea", max_length=None),
    ]


def _validate(form: Form) -> bool:
    form.validate()
    data = form.data
    if (data.get("starts_on") and data.get("ends_on") and "ends_on" not in form.errors
            and data["ends_on"] < data["starts_on"]):
        form.add_error("ends_on", _("The end date cannot be before the start date."))
    if data.get("salesperson_id"):
        data["salesperson_id"] = int(data["salesperson_id"])
    return not form.errors


def _counts(request: Request, model: Any, project_ids: list[int]) -> dict[int, int]:
    if not project_ids:
        return {}
    rows = request.dbsession.execute(
        sa.select(model.project_id, sa.func.count())
        .where(model.project_id.in_(project_ids),
               model.client_id.in_(visible_client_ids(request)))
        .group_by(model.project_id))
    return {project_id: count for project_id, count in rows}


def _projects_page(request: Request, client: Client, form: Form) -> dict[str, Any]:
    projects = list(request.dbsession.scalars(
        sa.select(Project).where(Project.client_id == client.id)
        .order_by(Project.created_at.desc(), Project.id.desc())))
    ids = [p.id for p in projects]
    people = {u.id: u for u in request.dbsession.scalars(
        sa.select(User).where(User.id.in_({p.salesperson_id for p in projects
                                           if p.salesperson_id})))} if projects else {}
    return {
        **card_context(request, client, "crm.projects"), "form": form, "projects": projects,
        "people": people,
        "activity_counts": _counts(request, Activity, ids),
        "document_counts": _counts(request, Document, ids),
        "can_see_activities": request.has_permission(ACTIVITY_VIEW),
        "can_see_documents": request.has_permission(DOCUMENT_VIEW),
    }


@view_config(route_name="crm_client_projects", request_method="GET",
             renderer="plugins.crm_register:templates/projects.pt", permission=CLIENT_VIEW)
def client_projects(request: Request) -> dict[str, Any]:
    """The client's sales projects with status, value and linked work; the new project form."""
    client = require_client(request)
    form = Form(request, project_fields(request),
                {"status": "lead", "salesperson_id": client.salesperson_id or request.user.id})
    return _projects_page(request, client, form)


@view_config(route_name="crm_client_projects", request_method="POST",
             renderer="plugins.crm_register:templates/projects.pt", permission=CLIENT_EDIT)
def add_project(request: Request) -> Any:
    """Add a project; 400 with field errors on bad input."""
    client = require_client(request)
    form = Form(request, project_fields(request))
    if not _validate(form):
        request.response.status_int = 400
        return _projects_page(request, client, form)
    project = Project(client_id=client.id, name=form.data["name"])
    for key in PROJECT_KEYS:
        setattr(project, key, form.data[key])
    request.dbsession.add(project)
    request.dbsession.flush()
    flash(request, _("The sales project ${name} was added."), name=project.name)
    return HTTPSeeOther(request.route_url("crm_project", project_id=project.id))


def _require_project(request: Request) -> Project:
    project = request.dbsession.scalar(sa.select(Project).where(
        Project.id == int(request.matchdict["project_id"]),
        Project.client_id.in_(visible_client_ids(request))))
    if project is None:
        raise HTTPNotFound()
    return project


def _project_page(request: Request, project: Project, form: Form) -> dict[str, Any]:
    db = request.dbsession
    activities: list[Activity] = []
    documents: list[Document] = []
    if request.has_permission(ACTIVITY_VIEW):
        activities = list(db.scalars(
            sa.select(Activity).where(Activity.project_id == project.id,
                                      Activity.client_id.in_(visible_client_ids(request)))
            .options(joinedload(Activity.type), joinedload(Activity.performer))
            .order_by(Activity.starts_at.desc(), Activity.id.desc())))
    if request.has_permission(DOCUMENT_VIEW):
        documents = list(db.scalars(
            sa.select(Document).where(Document.project_id == project.id,
                                      Document.client_id.in_(visible_client_ids(request)))
            .options(selectinload(Document.versions), joinedload(Document.type))
            .order_by(Document.registered_at.desc(), Document.number.desc())))
    salesperson = db.get(User, project.salesperson_id) if project.salesperson_id else None
    return {
        **card_context(request, project.client, "crm.projects"), "project": project,
        "form": form, "activities": activities, "documents": documents,
        "salesperson": salesperson,
        "can_see_activities": request.has_permission(ACTIVITY_VIEW),
        "can_see_documents": request.has_permission(DOCUMENT_VIEW),
        "can_add_documents": request.has_permission(DOCUMENT_EDIT),
        "format_size": lambda n: format_size(request, n),
        "activity_url": lambda a: activity_url(request, a),
    }


def _project_form(request: Request, project: Project) -> Form:
    return Form(request, project_fields(request, project.salesperson_id),
                {key: getattr(project, key) for key in PROJECT_KEYS})


@view_config(route_name="crm_project", request_method="GET",
             renderer="plugins.crm_register:templates/project.pt", permission=CLIENT_VIEW)
def project_page(request: Request) -> dict[str, Any]:
    """A project with its linked activities and documents, and the edit form."""
    project = _require_project(request)
    return _project_page(request, project, _project_form(request, project))


@view_config(route_name="crm_project", request_method="POST",
             renderer="plugins.crm_register:templates/project.pt", permission=CLIENT_EDIT)
def project_edit(request: Request) -> Any:
    """Save the project, or delete it (its activities and documents stay, unlinked)."""
    project = _require_project(request)
    client_id = project.client_id
    if request.POST.get("action") == "delete":
        name = project.name
        request.dbsession.delete(project)
        request.dbsession.flush()
        flash(request, _("The sales project ${name} was deleted."), name=name)
        return HTTPSeeOther(request.route_url("crm_client_projects", client_id=client_id))
    form = _project_form(request, project)
    if not _validate(form):
        request.response.status_int = 400
        return _project_page(request, project, form)
    for key in PROJECT_KEYS:
        setattr(project, key, form.data[key])
    flash(request, _("The sales project ${name} was saved."), name=project.name)
    return HTTPSeeOther(request.route_url("crm_project", project_id=project.id))


def includeme(config: Any) -> None:
    """Register routes."""
    config.add_route("crm_client_projects", "/clients/{client_id:\\d{1,9}}/projects")
    config.add_route("crm_project", "/projects/{project_id:\\d{1,9}}")
    config.scan(__name__)
