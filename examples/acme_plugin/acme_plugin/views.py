"""The notes page, the digest request and the JSON API. Every view declares a permission."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from acme_plugin import _, services
from acme_plugin.hooks import EDIT, VIEW
from acme_plugin.models import TITLE_MAX
from core.jobs import enqueue
from core.paging import paginate
from core.sdk import Field, Form, flash

NOTE_FIELDS = (
    Field("title", _("Title"), required=True, max_length=TITLE_MAX),
    Field("body", _("Text"), "textarea", max_length=None),
)
API_LIMIT = 100


def _page(request: Request, form: Form) -> dict[str, Any]:
    pager = paginate(request.dbsession, request, services.latest_notes_query(), size=20)
    return {"form": form, "pager": pager, "can_edit": request.has_permission(EDIT)}


@view_config(route_name="acme_notes", request_method="GET",
             renderer="acme_plugin:templates/notes.pt", permission=VIEW)
def notes(request: Request) -> dict[str, Any]:
    """The tenant's notes, newest first, with the form for a new note."""
    return _page(request, Form(request, NOTE_FIELDS))


@view_config(route_name="acme_notes", request_method="POST",
             renderer="acme_plugin:templates/notes.pt", permission=EDIT)
def create_note(request: Request) -> Any:
    """Save a new note; on bad input show the form again with field errors (HTTP 400)."""
    form = Form(request, NOTE_FIELDS)
    if not form.validate():
        request.response.status_int = 400
        return _page(request, form)
    services.add_note(request.dbsession, form.data["title"], form.data["body"],
                      request.user.id)
    flash(request, _("The note was saved."))
    return HTTPSeeOther(request.route_url("acme_notes"))


@view_config(route_name="acme_notes_digest", request_method="POST", permission=VIEW)
def request_digest(request: Request) -> Any:
    """Queue a background job that e-mails the newest notes to the user."""
    enqueue(request.dbsession, services.DIGEST_JOB, {"user_id": request.user.id},
            created_by=request.user.id)
    flash(request, _("The newest notes will be sent to ${email}."), "info",
          email=request.user.email)
    return HTTPSeeOther(request.route_url("acme_notes"))


@view_config(route_name="acme_api_notes", request_method="GET", renderer="json",
             permission=VIEW)
def api_notes(request: Request) -> dict[str, Any]:
    """``GET /api/v1/acme/notes?limit=N``: the newest notes as JSON (bearer token)."""
    raw = request.GET.get("limit", "20")
    limit = min(int(raw), API_LIMIT) if raw.isdigit() and int(raw) > 0 else 20
    return {
        "total": services.count_notes(request.dbsession),
        "items": [services.note_as_json(n)
                  for n in services.latest_notes(request.dbsession, limit)],
    }
