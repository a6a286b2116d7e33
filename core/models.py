"""The core's own tables: tenants, users, permissions, sessions, audit log, jobs and mail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, utcnow

ROLES: tuple[str, ...] = ("admin", "manager", "sales", "accountant", "secretary")
"""The roles a user can have; ``admin`` holds every permission of the tenant."""


class Audited:
    """Mixin: every insert, update and delete of the model is written to the audit log.

    ``__audit_exclude__`` names columns whose values are never written (only that they
    changed), e.g. password hashes.
    """

    __audit_exclude__: frozenset[str] = frozenset()
    __audit_ignore__: frozenset[str] = frozenset()
    """Bookkeeping columns (e.g. last login) whose changes alone are not worth an entry."""
    __audit_parent__: tuple[str, str] | None = None
    """``(table, column)`` naming the record this one belongs to, e.g. an address's
    ``("crm_client", "client_id")``: its entries then also show in the parent's history."""


class Tenant(Base):
    """A customer company using the product."""

    __tablename__ = "core_tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Tallinn")
    locale: Mapped[str] = mapped_column(sa.String(8), default="et")
    active: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    hosts: Mapped[list[TenantHost]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantHost.host"
    )


class TenantHost(Base):
    """A host name that resolves to a tenant (unique across all tenants)."""

    __tablename__ = "core_tenant_host"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("core_tenant.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(sa.String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="hosts")


class TenantPlugin(Audited, TenantScoped, Base):
    """Whether a plugin is enabled for a tenant. Disabling keeps the row (and all data)."""

    __tablename__ = "core_tenant_plugin"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(sa.String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Audited, TenantScoped, Base):
    """A person who logs in to one tenant."""

    __tablename__ = "core_user"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "email"),)
    __audit_exclude__ = frozenset({"password_hash"})
    __audit_ignore__ = frozenset({"last_login_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32))
    password_hash: Mapped[str] = mapped_column(sa.String(255), default="")
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    birthday: Mapped[dt.date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class RolePermission(Audited, TenantScoped, Base):
    """A permission granted to a role within a tenant."""

    __tablename__ = "core_role_permission"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "role", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    permission: Mapped[str] = mapped_column(sa.String(128))


class AuthSession(TenantScoped, Base):
    """A logged-in browser session; deleting the row logs the browser out."""

    __tablename__ = "core_auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    user: Mapped[User] = relationship()


class LoginFailure(TenantScoped, Base):
    """A failed login attempt, kept for throttling."""

    __tablename__ = "core_login_failure"
    __table_args__ = (sa.Index(None, "tenant_id", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Audited, TenantScoped, Base):
    """A bearer token for ``/api/v1``; only its SHA-256 hash is stored."""

    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class AuditEntry(TenantScoped, Base):
    """One insert, update or delete of an audited row."""

    __tablename__ = "core_audit_entry"
    __table_args__ = (
        sa.Index(None, "tenant_id", "entity", "entity_id", "id"),
        sa.Index(None, "tenant_id", "parent", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(8))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent: Mapped[str | None] = mapped_column(sa.String(80))
    """``"table:id"`` of the record this entry's record belongs to (see ``Audited``)."""

    user: Mapped[User | None] = relationship()


class Job(TenantScoped, Base):
    """A unit of background work run by the ``worker`` command."""

    __tablename__ = "core_job"
    __table_args__ = (sa.Index(None, "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(sa.String(100))
    locked_at: Mapped[dt.datetime | None]
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class MailMessage(TenantScoped, Base):
    """An e-mail in the outbox; delivered by the worker, at most once."""

    __tablename__ = "core_mail_message"
    __table_args__ = (sa.Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    sender: Mapped[str] = mapped_column(sa.String(320))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    cc: Mapped[list[Any]] = mapped_column(default=list)
    bcc: Mapped[list[Any]] = mapped_column(default=list)
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(sa.String(100))
    locked_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    attachments: Mapped[list[MailAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="MailAttachment.id"
    )


class MailAttachment(TenantScoped, Base):
    """A file attached to an outgoing e-mail."""

    __tablename__ = "core_mail_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_mail_message.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


# The audit listener must be attached wherever models are used (web, CLI, worker).
import core.audit  # noqa: E402, F401
