"""The documents tab of the client card and the document page (C6).

A document is registered with an upload; its number, registrar and registration time are
set automatically. Uploading a new version keeps the older ones downloadable. Documents of
clients the user may not see answer 404, like the clients themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import unicodedata
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import FileIter, Response
from pyramid.view import view_config
from sqlalchemy.orm import joinedload, selectinload

from core.forms import Field, Form
from core.paging import paginate
from core.web import flash
from plugins.crm_register.access import require_client
from plugins.crm_register.documents import (
    add_version,
    format_size,
    register_document,
    visible_document,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import DOCUMENT_STATUSES
from plugins.crm_register.models import (
    Activity,
    Client,
    Document,
    DocumentType,
    DocumentVersion,
    Project,
)
from plugins.crm_register.permissions import DOCUMENT_EDIT, DOCUMENT_VIEW
from plugins.crm_register.storage import (
    MissingFile,
    StorageError,
    Upload,
    UploadError,
    get_storage,
    max_upload_bytes,
    read_upload,
)
from plugins.crm_register.views.card import card_context

log = logging.getLogger(__name__)
PAGE_SIZE = 50
ACTIVITY_CHOICES = 200
DOCUMENT_KEYS = ("title", "type_id", "status", "project_id", "activity_id", "description")
ID_KEYS = ("type_id", "project_id", "activity_id")
STORAGE_FAILED = _("The file could not be stored, so nothing was saved. Please try again "
                   "later or tell the administrator.")


def route_exists(request: Request, name: str) -> bool:
    """True when a route of this name is registered (another module may bring it)."""
    return request.registry.getUtility(IRoutesMapper).get_route(name) is not None


def activity_url(request: Request, activity_id: int | None) -> str | None:
    """The activity's page, when the activities module is installed."""
    if activity_id is None or not route_exists(request, "crm_activity"):
        return None
    try:
        return request.route_url("crm_activity", activity_id=activity_id)
    except KeyError:  # pragma: no cover - a route with other placeholders
        return None


def client_choices(request: Request, client: Client,
                   keep_activity_id: int | None = None) -> dict[str, Any]:
    """Document types, the client's projects and its latest activities for the forms."""
    db = request.dbsession
    activities = list(db.scalars(
        sa.select(Activity).where(Activity.client_id == client.id)
        .order_by(Activity.starts_at.desc(), Activity.id.desc()).limit(ACTIVITY_CHOICES)))
    if keep_activity_id and keep_activity_id not in {a.id for a in activities}:
        kept = db.scalar(sa.select(Activity).where(Activity.id == keep_activity_id,
                                                   Activity.client_id == client.id))
        if kept is not None:
            activities.append(kept)
    return {
        "types": db.scalars(sa.select(DocumentType)
                            .order_by(DocumentType.position, DocumentType.name)).all(),
        "projects": db.scalars(sa.select(Project).where(Project.client_id == client.id)
                               .order_by(Project.created_at.desc(), Project.id.desc())).all(),
        "activities": activities,
    }


def activity_label(request: Request, activity: Activity) -> str:
    """``12 · Call about the offer · 3.02.25`` for a select option."""
    return (f"{activity.number} · {activity.name} · "
            f"{request.format_date(activity.starts_at, 'short')}")


def document_fields(request: Request, choices: dict[str, Any]) -> list[Field]:
    """The fields of the document form (the file is read separately)."""
    return [
        Field("title", _("Title"), required=True, max_length=200),
        Field("type_id", _("Document type"), "select",
              options=tuple((str(t.id), t.name) for t in choices["types"])),
        Field("status", _("Status"), "select", required=True,
              options=tuple(DOCUMENT_STATUSES.items())),
        Field("project_id", _("Sales project"), "select",
              options=tuple((str(p.id), p.name) for p in choices["projects"])),
        Field("activity_id", _("Activity"), "select",
              options=tuple((str(a.id), activity_label(request, a))
                            for a in choices["activities"])),
        Field("description", _("Description"), "textarea", max_length=None),
    ]


def _document_data(form: Form) -> dict[str, Any]:
    data = {key: form.data[key] for key in DOCUMENT_KEYS}
    for key in ID_KEYS:
        data[key] = int(data[key]) if data[key] else None
    return data


def _read_file(request: Request, form: Form) -> Upload | None:
    try:
        return read_upload(request.POST.get("file"), max_upload_bytes(request.registry.settings))
    except UploadError as exc:
        form.add_error("file", exc.args[0])
        return None


def upload_limit_mb(request: Request) -> int:
    """The upload size limit in whole megabytes, for the form's hint."""
    return max_upload_bytes(request.registry.settings) // (1024 * 1024)


# --- the documents tab ------------------------------------------------------------------

def _documents_page(request: Request, client: Client, form: Form,
                    choices: dict[str, Any]) -> dict[str, Any]:
    params = request.GET
    stmt = sa.select(Document).where(Document.client_id == client.id)
    type_filter = params.get("type", "")
    if type_filter.isdigit():
        stmt = stmt.where(Document.type_id == int(type_filter))
    status_filter = params.get("status", "")
    if status_filter in DOCUMENT_STATUSES:
        stmt = stmt.where(Document.status == status_filter)
    project_filter = params.get("project", "")
    if project_filter.isdigit():
        stmt = stmt.where(Document.project_id == int(project_filter))
    stmt = stmt.options(selectinload(Document.versions), joinedload(Document.type),
                        joinedload(Document.registrar))
    page = paginate(request.dbsession, request,
                    stmt.order_by(Document.registered_at.desc(), Document.number.desc()),
                    size=PAGE_SIZE)
    activity_ids = {d.activity_id for d in page.items if d.activity_id}
    activities = {a.id: a for a in request.dbsession.scalars(
        sa.select(Activity).where(Activity.id.in_(activity_ids)))} if activity_ids else {}
    return {
        **card_context(request, client, "crm.documents"),
        "pager": page, "form": form, "types": choices["types"],
        "projects": {p.id: p for p in choices["projects"]}, "activities": activities,
        "type_filter": type_filter, "status_filter": status_filter,
        "project_filter": project_filter,
        "filtered": bool(type_filter or status_filter or project_filter),
        "can_edit_documents": request.has_permission(DOCUMENT_EDIT),
        "max_mb": upload_limit_mb(request), "format_size": lambda n: format_size(request, n),
        "activity_url": lambda a: activity_url(request, a),
    }


@view_config(route_name="crm_client_documents", request_method="GET",
             renderer="plugins.crm_register:templates/documents.pt", permission=DOCUMENT_VIEW)
def client_documents(request: Request) -> dict[str, Any]:
    """The client's documents, filtered by type, status or project; the register form."""
    client = require_client(request)
    choices = client_choices(request, client)
    initial = {"status": "draft"}
    if request.GET.get("project", "").isdigit():
        initial["project_id"] = request.GET["project"]
    form = Form(request, document_fields(request, choices), initial)
    return _documents_page(request, client, form, choices)


@view_config(route_name="crm_client_documents", request_method="POST",
             renderer="plugins.crm_register:templates/documents.pt", permission=DOCUMENT_EDIT)
def register(request: Request) -> Any:
    """Register a document with its first file; 400 with field errors on bad input."""
    client = require_client(request)
    choices = client_choices(request, client)
    form = Form(request, document_fields(request, choices))
    form.validate()
    upload = _read_file(request, form)
    if form.errors or upload is None:
        request.response.status_int = 400
        return _documents_page(request, client, form, choices)
    try:
        document = register_document(request, client, upload, **_document_data(form))
    except StorageError:
        log.exception("Storing a document of client %s failed", client.id)
        form.set_form_error(STORAGE_FAILED)
        request.response.status_int = 503
        return _documents_page(request, client, form, choices)
    flash(request, _("Document no. ${number} was registered."), number=document.number)
    return HTTPSeeOther(request.route_url("crm_document", document_id=document.id))


# --- one document -----------------------------------------------------------------------

def _require_document(request: Request) -> Document:
    document = visible_document(request, request.matchdict.get("document_id"))
    if document is None:
        raise HTTPNotFound()
    return document


def _document_form(request: Request, document: Document,
                   choices: dict[str, Any]) -> Form:
    initial = {key: getattr(document, key) for key in DOCUMENT_KEYS}
    return Form(request, document_fields(request, choices), initial)


def _document_page(request: Request, document: Document, form: Form,
                   version_error: str | None = None) -> dict[str, Any]:
    db = request.dbsession
    project = db.get(Project, document.project_id) if document.project_id else None
    activity = db.get(Activity, document.activity_id) if document.activity_id else None
    return {
        **card_context(request, document.client, "crm.documents"),
        "document": document, "versions": document.versions, "form": form,
        "project": project, "activity": activity, "version_error": version_error,
        "can_edit_documents": request.has_permission(DOCUMENT_EDIT),
        "max_mb": upload_limit_mb(request), "format_size": lambda n: format_size(request, n),
        "activity_url": lambda a: activity_url(request, a),
        "activity_text": lambda a: activity_label(request, a),
    }


@view_config(route_name="crm_document", request_method="GET",
             renderer="plugins.crm_register:templates/document.pt", permission=DOCUMENT_VIEW)
def document_page(request: Request) -> dict[str, Any]:
    """A document: its details, every version with a download link, the edit forms."""
    document = _require_document(request)
    choices = client_choices(request, document.client, document.activity_id)
    return _document_page(request, document, _document_form(request, document, choices))


@view_config(route_name="crm_document", request_method="POST",
             renderer="plugins.crm_register:templates/document.pt", permission=DOCUMENT_EDIT)
def document_edit(request: Request) -> Any:
    """Change the title, type, status, description and the project and activity links."""
    document = _require_document(request)
    choices = client_choices(request, document.client, document.activity_id)
    form = _document_form(request, document, choices)
    if not form.validate():
        request.response.status_int = 400
        return _document_page(request, document, form)
    for key, value in _document_data(form).items():
        setattr(document, key, value)
    flash(request, _("Document no. ${number} was saved."), number=document.number)
    return HTTPSeeOther(request.route_url("crm_document", document_id=document.id))


@view_config(route_name="crm_document_versions", request_method="POST",
             renderer="plugins.crm_register:templates/document.pt", permission=DOCUMENT_EDIT)
def upload_version(request: Request) -> Any:
    """Upload a new version of the document; the older versions stay downloadable."""
    document = _require_document(request)
    choices = client_choices(request, document.client, document.activity_id)
    form = _document_form(request, document, choices)
    try:
        upload = read_upload(request.POST.get("file"),
                             max_upload_bytes(request.registry.settings))
    except UploadError as exc:
        request.response.status_int = 400
        return _document_page(request, document, form, request.translate(exc.args[0]))
    try:
        version = add_version(request, document, upload)
    except StorageError:
        log.exception("Storing a version of document %s failed", document.id)
        request.response.status_int = 503
        return _document_page(request, document, form, request.translate(STORAGE_FAILED))
    flash(request, _("Version ${version} of document no. ${number} was uploaded."),
          version=version.version, number=document.number)
    return HTTPSeeOther(request.route_url("crm_document", document_id=document.id))


def ascii_filename(name: str) -> str:
    """An ASCII stand-in for a file name, for the plain ``filename=`` parameter."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(ch if ch.isalnum() or ch in "._- ()" else "_" for ch in folded).strip()
    return cleaned or "file"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    return (f'attachment; filename="{ascii_filename(filename)}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}")


@view_config(route_name="crm_document_download", request_method="GET",
             permission=DOCUMENT_VIEW)
def download(request: Request) -> Response:
    """One version's file, as an attachment with its stored content type."""
    document = _require_document(request)
    version = request.dbsession.scalar(sa.select(DocumentVersion).where(
        DocumentVersion.id == int(request.matchdict["version_id"]),
        DocumentVersion.document_id == document.id))
    if version is None:
        raise HTTPNotFound()
    try:
        handle = get_storage(request).open(version.storage_key)
    except MissingFile:
        log.error("The file of version %s of document %s is missing from the storage",
                  version.id, document.id)
        raise HTTPNotFound() from None
    response = Response(content_type=version.content_type, charset=None)
    response.app_iter = FileIter(handle)
    with contextlib.suppress(AttributeError, OSError, ValueError):  # not a real file
        response.content_length = os.fstat(handle.fileno()).st_size
    response.headers["Content-Disposition"] = content_disposition(version.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def includeme(config: Any) -> None:
    """The storage service and the documents routes."""
    config.include("plugins.crm_register.storage")
    config.add_route("crm_client_documents", "/clients/{client_id:\\d{1,9}}/documents")
    config.add_route("crm_document", "/documents/{document_id:\\d{1,9}}")
    config.add_route("crm_document_versions", "/documents/{document_id:\\d{1,9}}/versions")
    config.add_route("crm_document_download",
                     "/documents/{document_id:\\d{1,9}}/versions/{version_id:\\d{1,9}}/download")
    config.scan(__name__)
