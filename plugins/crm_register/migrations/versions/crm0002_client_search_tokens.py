"""client search tokens

Revision ID: crm0002
Revises: crm0001
Create Date: 2026-11-23 09:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from plugins.crm_register.search import search_tokens

revision: str = 'crm0002'
down_revision: str | Sequence[str] | None = 'crm0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def upgrade() -> None:
    """Apply this revision: the token table, filled from the clients' search text."""
    token_type = sa.String(length=100).with_variant(
        sa.String(length=100, collation='C'), 'postgresql')
    table = op.create_table('crm_client_search_token',
    sa.Column('token', token_type, nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('is_name', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_client_search_token_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_search_token_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'token', 'client_id', name=op.f('pk_crm_client_search_token'))
    )
    with op.batch_alter_table('crm_client_search_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_search_token_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_search_token_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_search_token_tenant_id_is_name_token_client_id'), ['tenant_id', 'is_name', 'token', 'client_id'], unique=False)

    clients = sa.table('crm_client', sa.column('id'), sa.column('tenant_id'),
                       sa.column('name_search'), sa.column('search_text'))
    bind = op.get_bind()
    rows = bind.execute(sa.select(clients.c.id, clients.c.tenant_id, clients.c.name_search,
                                  clients.c.search_text).order_by(clients.c.id)).all()
    batch: list[dict] = []
    for client_id, tenant_id, name_search, search_text in rows:
        batch.extend({'tenant_id': tenant_id, 'client_id': client_id, 'token': token,
                      'is_name': is_name}
                     for token, is_name in search_tokens(search_text or '', name_search or '').items())
        if len(batch) >= _BATCH:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('crm_client_search_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_search_token_tenant_id_is_name_token_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_client_search_token_tenant_id_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_client_search_token_tenant_id'))

    op.drop_table('crm_client_search_token')
