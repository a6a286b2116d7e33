"""core tables

Revision ID: c0001
Revises: 
Create Date: 2026-11-23 10:11:39.216046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'c0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('core',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('core_tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_tenant')),
    sa.UniqueConstraint('slug', name=op.f('uq_core_tenant_slug'))
    )
    op.create_table('core_login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_login_failure_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_login_failure'))
    )
    with op.batch_alter_table('core_login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_login_failure_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_login_failure_tenant_id_email_at'), ['tenant_id', 'email', 'at'], unique=False)

    op.create_table('core_mail_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('cc', sa.JSON(), nullable=False),
    sa.Column('bcc', sa.JSON(), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_mail_message_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_mail_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_core_mail_message_message_id'))
    )
    with op.batch_alter_table('core_mail_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_mail_message_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_message_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_role_permission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('permission', sa.String(length=128), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_role_permission_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_role_permission')),
    sa.UniqueConstraint('tenant_id', 'role', 'permission', name=op.f('uq_core_role_permission_tenant_id_role_permission'))
    )
    with op.batch_alter_table('core_role_permission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_role_permission_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_tenant_host',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_tenant_host_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_tenant_host')),
    sa.UniqueConstraint('host', name=op.f('uq_core_tenant_host_host'))
    )
    op.create_table('core_tenant_plugin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plugin', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('changed_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_tenant_plugin_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_tenant_plugin')),
    sa.UniqueConstraint('tenant_id', 'plugin', name=op.f('uq_core_tenant_plugin_tenant_id_plugin'))
    )
    with op.batch_alter_table('core_tenant_plugin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_tenant_plugin_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_user_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_user')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_core_user_tenant_id_email'))
    )
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_user_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_api_token_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_api_token_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_core_api_token_token_hash'))
    )
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_api_token_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_audit_entry_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_audit_entry_user_id_core_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_audit_entry'))
    )
    with op.batch_alter_table('core_audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_audit_entry_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_audit_entry_tenant_id_entity_entity_id_id'), ['tenant_id', 'entity', 'entity_id', 'id'], unique=False)

    op.create_table('core_auth_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_auth_session_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_auth_session_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_auth_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_core_auth_session_token_hash'))
    )
    with op.batch_alter_table('core_auth_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_auth_session_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['core_user.id'], name=op.f('fk_core_job_created_by_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_job_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_job'))
    )
    with op.batch_alter_table('core_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_job_status_run_after'), ['status', 'run_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_job_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('core_mail_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['core_mail_message.id'], name=op.f('fk_core_mail_attachment_message_id_core_mail_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_core_mail_attachment_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_mail_attachment'))
    )
    with op.batch_alter_table('core_mail_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_mail_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_attachment_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('core_mail_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_mail_attachment_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_core_mail_attachment_message_id'))

    op.drop_table('core_mail_attachment')
    with op.batch_alter_table('core_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_job_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_core_job_status_run_after'))

    op.drop_table('core_job')
    with op.batch_alter_table('core_auth_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_auth_session_tenant_id'))

    op.drop_table('core_auth_session')
    with op.batch_alter_table('core_audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_audit_entry_tenant_id_entity_entity_id_id'))
        batch_op.drop_index(batch_op.f('ix_core_audit_entry_tenant_id'))

    op.drop_table('core_audit_entry')
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_api_token_tenant_id'))

    op.drop_table('core_api_token')
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_user_tenant_id'))

    op.drop_table('core_user')
    with op.batch_alter_table('core_tenant_plugin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_tenant_plugin_tenant_id'))

    op.drop_table('core_tenant_plugin')
    op.drop_table('core_tenant_host')
    with op.batch_alter_table('core_role_permission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_role_permission_tenant_id'))

    op.drop_table('core_role_permission')
    with op.batch_alter_table('core_mail_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_mail_message_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_core_mail_message_status_next_attempt_at'))

    op.drop_table('core_mail_message')
    with op.batch_alter_table('core_login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_login_failure_tenant_id_email_at'))
        batch_op.drop_index(batch_op.f('ix_core_login_failure_tenant_id'))

    op.drop_table('core_login_failure')
    op.drop_table('core_tenant')
