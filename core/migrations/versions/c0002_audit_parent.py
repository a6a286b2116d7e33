"""Audit entries know the record their record belongs to

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-23 11:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0002"
down_revision: str | Sequence[str] | None = "c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``core_audit_entry.parent`` and its index."""
    with op.batch_alter_table("core_audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent", sa.String(length=80), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_core_audit_entry_tenant_id_parent_id"),
            ["tenant_id", "parent", "id"], unique=False,
        )


def downgrade() -> None:
    """Drop ``core_audit_entry.parent``."""
    with op.batch_alter_table("core_audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_audit_entry_tenant_id_parent_id"))
        batch_op.drop_column("parent")
