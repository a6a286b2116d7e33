"""The user's own account: name, language, password, API tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.db import utcnow
from core.forms import Field, Form
from core.i18n import LANGUAGES, _
from core.models import ApiToken, AuthSession
from core.security import SELF_SERVICE, new_api_token
from core.web import flash

MIN_PASSWORD = 10


def account_fields() -> tuple[Field, ...]:
    """Fields of the account form."""
    return (
        Field("name", _("Name"), required=True),
        Field("locale", _("Language"), "select", required=True,
              options=tuple(LANGUAGES.items())),
        Field("phone", _("Phone"), max_length=50),
        Field("birthday", _("Birthday"), "date",
              help=_("Shown to colleagues on the front page on the day.")),
        Field("current_password", _("Current password"), "password",
              autocomplete="current-password",
              help=_("Needed only when you change your password.")),
        Field("new_password", _("New password"), "password", min_length=MIN_PASSWORD,
              autocomplete="new-password"),
    )


@view_config(route_name="account", renderer="core:templates/account.pt", permission=SELF_SERVICE)
def account(request: Request) -> Any:
    """Show and save the user's own settings."""
    user = request.user
    form = Form(request, account_fields(), {
        "name": user.name, "locale": user.locale or request.locale_name,
        "phone": user.phone, "birthday": user.birthday,
    })
    if request.method == "POST" and form.validate():
        data = form.data
        passwords = request.registry["passwords"]
        if data["new_password"] and not passwords.verify(
            user.password_hash, data["current_password"] or ""
        ):
            form.add_error("current_password", _("The current password is not correct."))
        if not form.errors:
            user.name = data["name"]
            user.locale = data["locale"]
            user.phone = data["phone"]
            user.birthday = data["birthday"]
            if data["new_password"]:
                user.password_hash = passwords.hash(data["new_password"])
                # Other browsers logged in as this user must log in again.
                request.dbsession.execute(sa.delete(AuthSession).where(
                    AuthSession.user_id == user.id,
                    AuthSession.id != request.auth_identity.session_id))
            flash(request, _("Your settings were saved."))
            return HTTPSeeOther(request.route_url("account"))
    return {"form": form}


TOKEN_FIELDS = (Field("name", _("Token name"), required=True, max_length=100,
                      help=_("For example the name of the program that will use it.")),)


@view_config(route_name="api_tokens", renderer="core:templates/tokens.pt",
             permission="core:api:use")
def api_tokens(request: Request) -> Any:
    """List the user's API tokens and create new ones (the secret is shown once)."""
    form = Form(request, TOKEN_FIELDS)
    secret = None
    if request.method == "POST" and form.validate():
        _token, secret = new_api_token(request.dbsession, request.user, form.data["name"])
        form = Form(request, TOKEN_FIELDS)
    tokens = request.dbsession.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == request.user.id).order_by(ApiToken.id.desc())
    ).all()
    return {"form": form, "tokens": tokens, "secret": secret}


@view_config(route_name="api_token_revoke", request_method="POST", permission="core:api:use")
def revoke_api_token(request: Request) -> Any:
    """Revoke one of the user's tokens."""
    token = request.dbsession.get(ApiToken, int(request.matchdict["id"]))
    if token is None or token.user_id != request.user.id:
        raise HTTPNotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        flash(request, _("The token was revoked."))
    return HTTPSeeOther(request.route_url("api_tokens"))
