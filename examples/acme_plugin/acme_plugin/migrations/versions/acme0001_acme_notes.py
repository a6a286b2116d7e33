"""acme notes

Revision ID: acme0001
Revises:
Create Date: 2026-11-23 12:00:00

The first revision of the ``acme`` branch. It starts a branch of its own
(``down_revision = None``) and depends on the core's first revision, which creates the
``core_tenant`` and ``core_user`` tables referenced here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "acme0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("acme",)
depends_on: str | Sequence[str] | None = "c0001"


def upgrade() -> None:
    """Create ``acme_note`` with its tenant-leading index."""
    op.create_table(
        "acme_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["core_user.id"],
            name=op.f("fk_acme_note_author_id_core_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["core_tenant.id"],
            name=op.f("fk_acme_note_tenant_id_core_tenant"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acme_note")),
    )
    with op.batch_alter_table("acme_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acme_note_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_acme_note_tenant_id_created_at"), ["tenant_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    """Drop ``acme_note``."""
    with op.batch_alter_table("acme_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acme_note_tenant_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_acme_note_tenant_id"))
    op.drop_table("acme_note")
