"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from core.forms import Field, Form
from core.i18n import LANGUAGES, LOCALE_COOKIE, _
from core.security import SELF_SERVICE, authenticate, login_throttled, record_login_failure
from core.web import flash

LOGIN_FIELDS = (
    Field("email", _("E-mail"), "email", required=True, autocomplete="username"),
    Field("password", _("Password"), "password", required=True, max_length=200,
          autocomplete="current-password"),
)


def safe_next(request: Request, target: str | None) -> str:
    """A local path to return to after login (never an external URL)."""
    if target:
        parsed = urlparse(target)
        if not parsed.scheme and not parsed.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return request.route_path("home")


@view_config(route_name="login", renderer="core:templates/login.pt",
             permission=NO_PERMISSION_REQUIRED)
def login(request: Request) -> Any:
    """Show the login form; on POST check the password, with throttling."""
    lang = request.GET.get("lang")
    if lang in LANGUAGES:
        response = HTTPSeeOther(request.route_url("login", _query={
            k: v for k, v in request.GET.items() if k != "lang"}))
        response.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 86400, samesite="Lax")
        return response
    next_url = safe_next(request, request.params.get("next"))
    if request.user is not None:
        return HTTPSeeOther(next_url)
    form = Form(request, LOGIN_FIELDS)
    if request.method == "POST" and form.validate():
        email = form.data["email"]
        if login_throttled(request, email):
            form.set_form_error(_("Too many failed attempts. Try again in a few minutes."))
        else:
            user = authenticate(request, email, form.data["password"])
            if user is None:
                record_login_failure(request, email)
                form.set_form_error(_("Wrong e-mail or password."))
            else:
                remember(request, user.id)
                response = HTTPSeeOther(next_url)
                if user.locale in LANGUAGES:
                    response.set_cookie(LOCALE_COOKIE, user.locale, max_age=365 * 86400,
                                        samesite="Lax")
                return response
    request.response.status_int = 200 if not form.form_error else 400
    return {"form": form, "next": request.params.get("next", ""), "languages": LANGUAGES}


@view_config(route_name="logout", request_method="POST", permission=SELF_SERVICE)
def logout(request: Request) -> Any:
    """End the session and go back to the login page."""
    forget(request)
    return HTTPSeeOther(request.route_url("login"))


@view_config(route_name="language", request_method="POST", permission=SELF_SERVICE)
def switch_language(request: Request) -> Any:
    """Remember the chosen language for the user (and in a cookie)."""
    lang = request.POST.get("lang", "")
    response = HTTPSeeOther(safe_next(request, request.POST.get("next")))
    if lang not in LANGUAGES:
        flash(request, _("Unknown language."), "error")
        return response
    request.user.locale = lang
    response.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 86400, samesite="Lax")
    return response
