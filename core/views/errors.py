"""Error pages: 404, 403 (or the login page for anonymous users), 400 for expired forms,
and 500 without a traceback. The API gets JSON instead."""

from __future__ import annotations

import logging
from typing import Any

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPException, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from sqlalchemy.exc import SQLAlchemyError

from core.db import is_transient_db_error
from core.i18n import _
from core.security import API_PREFIX

log = logging.getLogger(__name__)


def _is_api(request: Request) -> bool:
    return request.path.startswith(API_PREFIX)


def error_page(request: Request, status: int, title: Any, message: Any) -> Response:
    """Render the error template (or JSON for the API) with ``status``."""
    if _is_api(request):
        response = Response(json_body={"error": request.translate(title),
                                       "detail": request.translate(message)})
    else:
        response = render_to_response(
            "core:templates/errors/error.pt",
            {"status": status, "title": request.translate(title),
             "message": request.translate(message)},
            request=request,
        )
    response.status_int = status
    return response


@notfound_view_config()
def not_found(request: Request) -> Response:
    """404: the page (or the tenant for this host) does not exist."""
    return error_page(request, 404, _("Page not found"),
                      _("The page you asked for does not exist or is not available to you."))


@forbidden_view_config()
def forbidden(request: Request) -> Response:
    """Anonymous: to the login page (401 for the API). Logged in: 403."""
    if request.tenant is None:
        return not_found(request)
    if request.user is None:
        if _is_api(request):
            response = error_page(request, 401, _("Authentication required"),
                                  _("Send a valid API token as 'Authorization: Bearer <token>'."))
            response.headers["WWW-Authenticate"] = 'Bearer realm="kliendihaldus"'
            return response
        return HTTPSeeOther(request.route_url("login", _query={"next": request.path_qs}))
    return error_page(request, 403, _("Access denied"),
                      _("You do not have the permission to open this page."))


@exception_view_config(BadCSRFToken)
def bad_csrf(request: Request) -> Response:
    """400: the form's security token is missing or stale."""
    return error_page(request, 400, _("The form has expired"),
                      _("Reload the page and send the form again."))


@exception_view_config(HTTPBadRequest)
def bad_request(request: Request) -> Response:
    """400 for malformed requests."""
    return error_page(request, 400, _("Bad request"), _("The request could not be understood."))


@exception_view_config(Exception)
def server_error(exc: Exception, request: Request) -> Response:
    """500: log the traceback, show a calm page without it."""
    if isinstance(exc, HTTPException):
        return exc
    attempt = request.environ.get("retry.attempt", 0)
    if is_transient_db_error(exc) and attempt + 1 < request.environ.get("retry.attempts", 1):
        # pyramid_retry runs the request again and throws this response away.
        log.info("Retrying %s %s after a transient database error: %s",
                 request.method, request.path, exc.orig)
    else:
        log.exception("Unhandled error on %s %s", request.method, request.path)
    if isinstance(exc, SQLAlchemyError):
        # The failed transaction is aborted anyway; a clean one lets the page render.
        request.dbsession.rollback()
    return error_page(request, 500, _("Something went wrong"),
                      _("The error has been logged. Please try again; nothing was saved."))
