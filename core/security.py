"""Authentication, permissions and CSRF.

Browsers authenticate with a server-side login session (``core_auth_session``) whose random
token sits in the signed, HttpOnly, SameSite session cookie; logging out deletes the row so
the cookie is worthless afterwards. ``/api/v1`` accepts only bearer tokens. Permissions are
named ``plugin:resource:action``, declared through the ``permissions`` hook and granted to
roles per tenant; ``admin`` holds all of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.request import Request
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from sqlalchemy.orm import Session

from core.db import utcnow
from core.hookspecs.types import Permission
from core.models import ROLES, ApiToken, AuthSession, LoginFailure, RolePermission, User
from core.settings import as_bool, as_int

SELF_SERVICE = "core:account:self"
"""Held by every logged-in user: own profile, password, language, logout."""

API_PREFIX = "/api/"
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)


def token_hash(token: str) -> str:
    """SHA-256 hex digest of a secret token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Passwords:
    """Argon2id password hashing with parameters from the settings."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """Hash a new password."""
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check ``password`` against ``stored``; takes as long when there is no user."""
        try:
            return self.hasher.verify(stored or self._dummy, password) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with weaker parameters than the current ones."""
        return self.hasher.check_needs_rehash(stored)


def passwords_from_settings(settings: dict[str, Any]) -> Passwords:
    """The password hasher configured by ``security.argon2.*``."""
    return Passwords(
        as_int(settings, "security.argon2.time_cost", 1),
        as_int(settings, "security.argon2.memory_cost", 32),
    )


@dataclass
class Identity:
    """Who is making the request and how they proved it."""

    user: User
    via: str  # "session" or "token"
    session_id: int | None = None
    token_id: int | None = None


def declared_permissions(request: Request) -> dict[str, Permission]:
    """Permissions of the core and of the plugins enabled for the tenant, by name."""
    found: dict[str, Permission] = {}
    for batch in request.hooks.permissions():
        for permission in batch or ():
            found[permission.name] = permission
    return found


def role_permissions(dbsession: Session, role: str) -> set[str]:
    """Permission names granted to ``role`` in the session's tenant."""
    return set(
        dbsession.scalars(sa.select(RolePermission.permission).where(RolePermission.role == role))
    )


def _identity(request: Request) -> Identity | None:
    if request.tenant is None:
        return None
    if request.path.startswith(API_PREFIX):
        identity = _token_identity(request)
    else:
        identity = _session_identity(request)
    if identity is not None:
        request.dbsession.info["user_id"] = identity.user.id  # the audit log's author
    return identity


def _session_identity(request: Request) -> Identity | None:
    token = request.session.get("auth")
    if not token:
        return None
    auth = request.dbsession.scalar(
        sa.select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    )
    if auth is None or not auth.user.active:
        return None
    now = utcnow()
    max_age = dt.timedelta(hours=as_int(request.registry.settings, "session.max_age_hours", 1))
    if now - auth.last_seen_at > max_age:
        request.dbsession.delete(auth)
        return None
    if now - auth.last_seen_at > LAST_SEEN_RESOLUTION:
        auth.last_seen_at = now
    return Identity(user=auth.user, via="session", session_id=auth.id)


def _token_identity(request: Request) -> Identity | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    api_token = request.dbsession.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token.strip()))
    )
    if api_token is None or api_token.revoked_at is not None or not api_token.user.active:
        return None
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_SEEN_RESOLUTION:
        api_token.last_used_at = now
    return Identity(user=api_token.user, via="token", token_id=api_token.id)


def _effective_permissions(request: Request) -> frozenset[str]:
    identity = request.identity
    if identity is None:
        return frozenset()
    declared = set(declared_permissions(request))
    if identity.user.role == "admin":
        granted = declared
    else:
        # Grants of a disabled plugin stay stored but grant nothing while it is off.
        granted = role_permissions(request.dbsession, identity.user.role) & declared
    granted.add(SELF_SERVICE)
    return frozenset(granted)


class SecurityPolicy:
    """The Pyramid 2 security policy of the product."""

    def identity(self, request: Request) -> Identity | None:
        """The :class:`Identity` of the request, or None for anonymous requests."""
        return request.auth_identity

    def authenticated_userid(self, request: Request) -> int | None:
        """The id of the logged-in user."""
        identity = request.auth_identity
        return identity.user.id if identity else None

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        """Allow when the user's role (or admin) holds ``permission``."""
        if request.auth_identity is None:
            return Denied("not logged in")
        if permission in request.effective_permissions:
            return Allowed(f"role holds {permission}")
        return Denied(f"role lacks {permission}")

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[tuple[str, str]]:
        """Start a login session for ``userid`` (a fresh session cookie: no fixation)."""
        request.session.invalidate()
        token = secrets.token_urlsafe(32)
        request.dbsession.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=userid,
                ip=request.client_addr,
                user_agent=(request.user_agent or "")[:300],
            )
        )
        request.session["auth"] = token
        request.session.new_csrf_token()
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """End the login session: delete its row and clear the cookie session."""
        identity = request.auth_identity
        if identity is not None and identity.session_id is not None:
            request.dbsession.execute(
                sa.delete(AuthSession).where(AuthSession.id == identity.session_id)
            )
        request.session.invalidate()
        return []


def login_throttled(request: Request, email: str) -> bool:
    """True while ``email`` (or the client address) has too many recent failed logins."""
    settings = request.registry.settings
    limit = as_int(settings, "security.login.max_failures", 1)
    since = utcnow() - dt.timedelta(minutes=as_int(settings, "security.login.lockout_minutes", 1))
    by_email = request.dbsession.scalar(
        sa.select(sa.func.count(LoginFailure.id)).where(
            LoginFailure.email == email, LoginFailure.at >= since
        )
    )
    if by_email >= limit:
        return True
    by_ip = request.dbsession.scalar(
        sa.select(sa.func.count(LoginFailure.id)).where(
            LoginFailure.ip == request.client_addr, LoginFailure.at >= since
        )
    )
    return by_ip >= limit * 4


def record_login_failure(request: Request, email: str) -> None:
    """Remember a failed login for throttling."""
    request.dbsession.add(LoginFailure(email=email, ip=request.client_addr))


def authenticate(request: Request, email: str, password: str) -> User | None:
    """The active user of the tenant with this e-mail and password, else None."""
    user = request.dbsession.scalar(sa.select(User).where(User.email == email))
    passwords: Passwords = request.registry["passwords"]
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    request.dbsession.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = utcnow()
    return user


def new_api_token(dbsession: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the secret (shown once)."""
    secret = "kh_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), prefix=secret[:10])
    dbsession.add(token)
    return token, secret


def _csrf_applies(request: Request) -> bool:
    # Bearer-token API calls carry no ambient credentials, so CSRF cannot reach them.
    return not request.path.startswith(API_PREFIX)


def includeme(config: Any) -> None:
    """Install the session factory, the security policy and mandatory CSRF checks."""
    settings = config.get_settings()
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings["session.secret"],
            cookie_name="kh_session",
            httponly=True,
            samesite="Lax",
            secure=as_bool(settings, "session.secure"),
            timeout=as_int(settings, "session.max_age_hours", 1) * 3600,
            reissue_time=300,
        )
    )
    config.set_security_policy(SecurityPolicy())
    config.set_default_csrf_options(require_csrf=True, callback=_csrf_applies)
    config.registry["passwords"] = passwords_from_settings(settings)
    config.add_request_method(_identity, "auth_identity", reify=True)
    config.add_request_method(
        lambda r: r.auth_identity.user if r.auth_identity else None, "user", reify=True
    )
    config.add_request_method(_effective_permissions, "effective_permissions", reify=True)


def valid_role(role: str) -> bool:
    """True for one of :data:`core.models.ROLES`."""
    return role in ROLES
