"""The plugin's tables. Every table is tenant-scoped and named ``acme_<thing>``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import User
from core.sdk import Audited, Base, TenantScoped, utcnow

TITLE_MAX = 200
"""The longest note title the database and the form accept."""


class AcmeNote(Audited, TenantScoped, Base):
    """A short note shared by the users of one tenant.

    ``TenantScoped`` adds ``tenant_id`` and scopes every query to the current tenant;
    ``Audited`` writes every change to the audit log.
    """

    __tablename__ = "acme_note"
    __table_args__ = (sa.Index(None, "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )

    author: Mapped[User | None] = relationship()
