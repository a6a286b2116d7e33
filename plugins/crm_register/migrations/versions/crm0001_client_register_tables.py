"""client register tables

Revision ID: crm0001
Revises: 
Create Date: 2026-11-23 11:07:42.266057
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'crm0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('crm_register',)
depends_on: str | Sequence[str] | None = 'c0001'


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('crm_activity_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('requires_kilometres', sa.Boolean(), nullable=False),
    sa.Column('default_minutes', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_activity_type_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_activity_type')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_crm_activity_type_tenant_id_code'))
    )
    with op.batch_alter_table('crm_activity_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_activity_type_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_catalogue_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_catalogue_item_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_catalogue_item')),
    sa.UniqueConstraint('tenant_id', 'kind', 'name', name=op.f('uq_crm_catalogue_item_tenant_id_kind_name'))
    )
    with op.batch_alter_table('crm_catalogue_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_catalogue_item_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_client_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_group_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_client_group')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_crm_client_group_tenant_id_name'))
    )
    with op.batch_alter_table('crm_client_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_group_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_client_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_type_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_client_type')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_crm_client_type_tenant_id_name'))
    )
    with op.batch_alter_table('crm_client_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_type_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_counter_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_counter')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_crm_counter_tenant_id_name'))
    )
    with op.batch_alter_table('crm_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_counter_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_document_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_document_type_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_document_type')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_crm_document_type_tenant_id_name'))
    )
    with op.batch_alter_table('crm_document_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_type_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('mobile', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('birthday_md', sa.String(length=5), nullable=True),
    sa.Column('personal_code', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('email_consent', sa.Boolean(), nullable=False),
    sa.Column('name_search', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_person_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_person'))
    )
    with op.batch_alter_table('crm_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_person_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_person_tenant_id_birthday_md'), ['tenant_id', 'birthday_md'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_person_tenant_id_name_search'), ['tenant_id', 'name_search'], unique=False)

    op.create_table('crm_announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['core_user.id'], name=op.f('fk_crm_announcement_author_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_announcement_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_announcement'))
    )
    with op.batch_alter_table('crm_announcement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_announcement_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_announcement_tenant_id_expires_on'), ['tenant_id', 'expires_on'], unique=False)

    op.create_table('crm_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('registry_code', sa.String(length=20), nullable=True),
    sa.Column('vat_number', sa.String(length=20), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('mobile', sa.String(length=50), nullable=True),
    sa.Column('fax', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('invoice_email', sa.String(length=254), nullable=True),
    sa.Column('website', sa.String(length=200), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('client_type_id', sa.Integer(), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('sales_blocked', sa.Boolean(), nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('payment_term_days', sa.Integer(), nullable=True),
    sa.Column('email_consent', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('name_search', sa.String(length=200), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_type_id'], ['crm_client_type.id'], name=op.f('fk_crm_client_client_type_id_crm_client_type'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['salesperson_id'], ['core_user.id'], name=op.f('fk_crm_client_salesperson_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_client')),
    sa.UniqueConstraint('tenant_id', 'registry_code', name=op.f('uq_crm_client_tenant_id_registry_code')),
    sa.UniqueConstraint('tenant_id', 'vat_number', name=op.f('uq_crm_client_tenant_id_vat_number'))
    )
    with op.batch_alter_table('crm_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_tenant_id_name_search'), ['tenant_id', 'name_search'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_tenant_id_number'), ['tenant_id', 'number'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_tenant_id_salesperson_id'), ['tenant_id', 'salesperson_id'], unique=False)

    op.create_table('crm_target_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_target_group_created_by_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_target_group_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_target_group')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_crm_target_group_tenant_id_name'))
    )
    with op.batch_alter_table('crm_target_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_target_group_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('county', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_address_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_address_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_address'))
    )
    with op.batch_alter_table('crm_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_address_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_address_tenant_id_city'), ['tenant_id', 'city'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_address_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)

    op.create_table('crm_client_group_link',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_client_group_link_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['crm_client_group.id'], name=op.f('fk_crm_client_group_link_group_id_crm_client_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_group_link_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', 'group_id', name=op.f('pk_crm_client_group_link'))
    )
    with op.batch_alter_table('crm_client_group_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_group_link_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_group_link_tenant_id_group_id'), ['tenant_id', 'group_id'], unique=False)

    op.create_table('crm_client_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('receives_invoices', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_client_person_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['crm_person.id'], name=op.f('fk_crm_client_person_person_id_crm_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_client_person_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_client_person')),
    sa.UniqueConstraint('tenant_id', 'client_id', 'person_id', 'role', name=op.f('uq_crm_client_person_tenant_id_client_id_person_id_role'))
    )
    with op.batch_alter_table('crm_client_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_client_person_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_client_person_tenant_id_person_id'), ['tenant_id', 'person_id'], unique=False)

    op.create_table('crm_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('expected_value', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_project_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['salesperson_id'], ['core_user.id'], name=op.f('fk_crm_project_salesperson_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_project_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_project'))
    )
    with op.batch_alter_table('crm_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_project_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_project_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)

    op.create_table('crm_relation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_client_id', sa.Integer(), nullable=False),
    sa.Column('to_client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['from_client_id'], ['crm_client.id'], name=op.f('fk_crm_relation_from_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_relation_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_client_id'], ['crm_client.id'], name=op.f('fk_crm_relation_to_client_id_crm_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_relation')),
    sa.UniqueConstraint('tenant_id', 'from_client_id', 'to_client_id', 'kind', name=op.f('uq_crm_relation_tenant_id_from_client_id_to_client_id_kind'))
    )
    with op.batch_alter_table('crm_relation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_relation_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_relation_tenant_id_to_client_id'), ['tenant_id', 'to_client_id'], unique=False)

    op.create_table('crm_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('performer_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('estimated_minutes', sa.Integer(), nullable=True),
    sa.Column('actual_minutes', sa.Integer(), nullable=True),
    sa.Column('kilometres', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_of_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_activity_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_activity_created_by_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['follow_up_of_id'], ['crm_activity.id'], name=op.f('fk_crm_activity_follow_up_of_id_crm_activity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['performer_id'], ['core_user.id'], name=op.f('fk_crm_activity_performer_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['crm_person.id'], name=op.f('fk_crm_activity_person_id_crm_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['crm_project.id'], name=op.f('fk_crm_activity_project_id_crm_project'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_activity_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['crm_activity_type.id'], name=op.f('fk_crm_activity_type_id_crm_activity_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_activity')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_crm_activity_tenant_id_number'))
    )
    with op.batch_alter_table('crm_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_activity_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_activity_tenant_id_client_id_starts_at'), ['tenant_id', 'client_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_activity_tenant_id_performer_id_starts_at'), ['tenant_id', 'performer_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_activity_tenant_id_starts_at'), ['tenant_id', 'starts_at'], unique=False)

    op.create_table('crm_activity_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['crm_activity.id'], name=op.f('fk_crm_activity_item_activity_id_crm_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['crm_catalogue_item.id'], name=op.f('fk_crm_activity_item_item_id_crm_catalogue_item')),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_activity_item_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_activity_item'))
    )
    with op.batch_alter_table('crm_activity_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_activity_item_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_activity_item_tenant_id_activity_id'), ['tenant_id', 'activity_id'], unique=False)

    op.create_table('crm_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('registrar_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['crm_activity.id'], name=op.f('fk_crm_document_activity_id_crm_activity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_document_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['crm_project.id'], name=op.f('fk_crm_document_project_id_crm_project'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registrar_id'], ['core_user.id'], name=op.f('fk_crm_document_registrar_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_document_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['crm_document_type.id'], name=op.f('fk_crm_document_type_id_crm_document_type'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_document')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_crm_document_tenant_id_number'))
    )
    with op.batch_alter_table('crm_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_tenant_id_client_id_registered_at'), ['tenant_id', 'client_id', 'registered_at'], unique=False)

    op.create_table('crm_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], name=op.f('fk_crm_contract_client_id_crm_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['crm_document.id'], name=op.f('fk_crm_contract_document_id_crm_document'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_contract_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_contract'))
    )
    with op.batch_alter_table('crm_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_contract_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_contract_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)

    op.create_table('crm_document_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', core.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['crm_document.id'], name=op.f('fk_crm_document_version_document_id_crm_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenant.id'], name=op.f('fk_crm_document_version_tenant_id_core_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['core_user.id'], name=op.f('fk_crm_document_version_uploaded_by_id_core_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_document_version')),
    sa.UniqueConstraint('tenant_id', 'document_id', 'version', name=op.f('uq_crm_document_version_tenant_id_document_id_version'))
    )
    with op.batch_alter_table('crm_document_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_version_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('crm_document_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_version_tenant_id'))

    op.drop_table('crm_document_version')
    with op.batch_alter_table('crm_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contract_tenant_id_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_contract_tenant_id'))

    op.drop_table('crm_contract')
    with op.batch_alter_table('crm_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_tenant_id_client_id_registered_at'))
        batch_op.drop_index(batch_op.f('ix_crm_document_tenant_id'))

    op.drop_table('crm_document')
    with op.batch_alter_table('crm_activity_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_activity_item_tenant_id_activity_id'))
        batch_op.drop_index(batch_op.f('ix_crm_activity_item_tenant_id'))

    op.drop_table('crm_activity_item')
    with op.batch_alter_table('crm_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_activity_tenant_id_starts_at'))
        batch_op.drop_index(batch_op.f('ix_crm_activity_tenant_id_performer_id_starts_at'))
        batch_op.drop_index(batch_op.f('ix_crm_activity_tenant_id_client_id_starts_at'))
        batch_op.drop_index(batch_op.f('ix_crm_activity_tenant_id'))

    op.drop_table('crm_activity')
    with op.batch_alter_table('crm_relation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_relation_tenant_id_to_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_relation_tenant_id'))

    op.drop_table('crm_relation')
    with op.batch_alter_table('crm_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_project_tenant_id_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_project_tenant_id'))

    op.drop_table('crm_project')
    with op.batch_alter_table('crm_client_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_person_tenant_id_person_id'))
        batch_op.drop_index(batch_op.f('ix_crm_client_person_tenant_id'))

    op.drop_table('crm_client_person')
    with op.batch_alter_table('crm_client_group_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_group_link_tenant_id_group_id'))
        batch_op.drop_index(batch_op.f('ix_crm_client_group_link_tenant_id'))

    op.drop_table('crm_client_group_link')
    with op.batch_alter_table('crm_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_address_tenant_id_client_id'))
        batch_op.drop_index(batch_op.f('ix_crm_address_tenant_id_city'))
        batch_op.drop_index(batch_op.f('ix_crm_address_tenant_id'))

    op.drop_table('crm_address')
    with op.batch_alter_table('crm_target_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_target_group_tenant_id'))

    op.drop_table('crm_target_group')
    with op.batch_alter_table('crm_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_tenant_id_salesperson_id'))
        batch_op.drop_index(batch_op.f('ix_crm_client_tenant_id_number'))
        batch_op.drop_index(batch_op.f('ix_crm_client_tenant_id_name_search'))
        batch_op.drop_index(batch_op.f('ix_crm_client_tenant_id'))

    op.drop_table('crm_client')
    with op.batch_alter_table('crm_announcement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_announcement_tenant_id_expires_on'))
        batch_op.drop_index(batch_op.f('ix_crm_announcement_tenant_id'))

    op.drop_table('crm_announcement')
    with op.batch_alter_table('crm_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_person_tenant_id_name_search'))
        batch_op.drop_index(batch_op.f('ix_crm_person_tenant_id_birthday_md'))
        batch_op.drop_index(batch_op.f('ix_crm_person_tenant_id'))

    op.drop_table('crm_person')
    with op.batch_alter_table('crm_document_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_type_tenant_id'))

    op.drop_table('crm_document_type')
    with op.batch_alter_table('crm_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_counter_tenant_id'))

    op.drop_table('crm_counter')
    with op.batch_alter_table('crm_client_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_type_tenant_id'))

    op.drop_table('crm_client_type')
    with op.batch_alter_table('crm_client_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_group_tenant_id'))

    op.drop_table('crm_client_group')
    with op.batch_alter_table('crm_catalogue_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_catalogue_item_tenant_id'))

    op.drop_table('crm_catalogue_item')
    with op.batch_alter_table('crm_activity_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_activity_type_tenant_id'))

    op.drop_table('crm_activity_type')
