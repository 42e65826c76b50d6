"""involve tables

Revision ID: involve_0001
Revises: 0002_jobs
Create Date: 2026-11-23 10:22:37.575022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db


revision: str = 'involve_0001'
down_revision: str | Sequence[str] | None = '0002_jobs'
branch_labels: str | Sequence[str] | None = ('involve',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('involve_signup_draft',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_signup_draft_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_involve_signup_draft'))
    )
    with op.batch_alter_table('involve_signup_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_signup_draft_updated_at'), ['updated_at'], unique=False)

    op.create_table('involve_library_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('populations', sa.JSON(), nullable=False),
    sa.Column('other_organisations', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_involve_library_entry_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_library_entry_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_library_entry'))
    )
    with op.batch_alter_table('involve_library_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_library_entry_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_library_entry_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('involve_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('read_at', voices.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_involve_notification_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_notification'))
    )
    with op.batch_alter_table('involve_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_notification_account_id'), ['account_id'], unique=False)

    op.create_table('involve_opportunity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('project', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('time_needed', sa.String(length=200), nullable=False),
    sa.Column('hours_per_month', sa.Float(), nullable=True),
    sa.Column('formats', sa.JSON(), nullable=False),
    sa.Column('venue_provides', sa.JSON(), nullable=False),
    sa.Column('times', sa.JSON(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('carers', sa.Boolean(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('payment_level', sa.String(length=16), nullable=False),
    sa.Column('closing_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('hours_per_month IS NULL OR hours_per_month >= 0', name=op.f('ck_involve_opportunity_hours_not_negative')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_involve_opportunity_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_opportunity_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_opportunity'))
    )
    with op.batch_alter_table('involve_opportunity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_opportunity_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_opportunity_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('involve_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_method', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('postal_address', sa.Text(), nullable=True),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('conditions_other', sa.String(length=300), nullable=False),
    sa.Column('services_used', sa.JSON(), nullable=False),
    sa.Column('caring_role', sa.String(length=16), nullable=True),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('formats', sa.JSON(), nullable=False),
    sa.Column('venue_needs', sa.JSON(), nullable=False),
    sa.Column('times', sa.JSON(), nullable=False),
    sa.Column('adjustments', sa.Text(), nullable=False),
    sa.Column('availability', sa.String(length=16), nullable=True),
    sa.Column('age_band', sa.String(length=24), nullable=True),
    sa.Column('sex', sa.String(length=24), nullable=True),
    sa.Column('ethnic_category', sa.String(length=24), nullable=True),
    sa.Column('disability', sa.String(length=24), nullable=True),
    sa.Column('carer', sa.String(length=24), nullable=True),
    sa.Column('area', sa.String(length=24), nullable=True),
    sa.Column('postcode_district', sa.String(length=8), nullable=True),
    sa.Column('lsoa', sa.String(length=9), nullable=True),
    sa.Column('imd_decile', sa.Integer(), nullable=True),
    sa.Column('joined_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_involve_partner_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_partner_organisation_id_organisation'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_partner')),
    sa.UniqueConstraint('account_id', name=op.f('uq_involve_partner_account_id'))
    )
    with op.batch_alter_table('involve_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_partner_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('involve_population',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('shares', sa.JSON(), nullable=False),
    sa.Column('uploaded_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_population_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['account.id'], name=op.f('fk_involve_population_uploaded_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_population')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_involve_population_organisation_id'))
    )
    with op.batch_alter_table('involve_population', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_population_uploaded_by'), ['uploaded_by'], unique=False)

    op.create_table('involve_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('given', sa.Boolean(), nullable=False),
    sa.Column('wording_version', sa.String(length=40), nullable=False),
    sa.Column('at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['involve_partner.id'], name=op.f('fk_involve_consent_partner_id_involve_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_consent'))
    )
    with op.batch_alter_table('involve_consent', schema=None) as batch_op:
        batch_op.create_index('ix_involve_consent_partner', ['partner_id', 'purpose', 'at'], unique=False)

    op.create_table('involve_interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['involve_opportunity.id'], name=op.f('fk_involve_interest_opportunity_id_involve_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['involve_partner.id'], name=op.f('fk_involve_interest_partner_id_involve_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_interest')),
    sa.UniqueConstraint('opportunity_id', 'partner_id', name='uq_involve_interest_pair')
    )
    with op.batch_alter_table('involve_interest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_interest_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_interest_partner_id'), ['partner_id'], unique=False)

    op.create_table('involve_library_organisation',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['involve_library_entry.id'], name=op.f('fk_involve_library_organisation_entry_id_involve_library_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_library_organisation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'organisation_id', name=op.f('pk_involve_library_organisation'))
    )
    op.create_table('involve_library_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('contribution', sa.String(length=200), nullable=False),
    sa.Column('consent', sa.String(length=16), nullable=False),
    sa.Column('answered_at', voices.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['involve_library_entry.id'], name=op.f('fk_involve_library_person_entry_id_involve_library_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['involve_partner.id'], name=op.f('fk_involve_library_person_partner_id_involve_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_library_person')),
    sa.UniqueConstraint('entry_id', 'partner_id', name='uq_involve_library_person_pair')
    )
    with op.batch_alter_table('involve_library_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_library_person_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_library_person_partner_id'), ['partner_id'], unique=False)

    op.create_table('involve_log_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('project', sa.String(length=200), nullable=False),
    sa.Column('activity', sa.String(length=200), nullable=False),
    sa.Column('activity_date', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('payment_level', sa.String(length=16), nullable=False),
    sa.Column('payment_pence', sa.Integer(), nullable=False),
    sa.Column('expenses_pence', sa.Integer(), nullable=False),
    sa.Column('expenses_note', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('expenses_pence >= 0', name=op.f('ck_involve_log_entry_expenses_not_negative')),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_involve_log_entry_hours_not_negative')),
    sa.CheckConstraint('payment_pence >= 0', name=op.f('ck_involve_log_entry_payment_not_negative')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_involve_log_entry_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['involve_opportunity.id'], name=op.f('fk_involve_log_entry_opportunity_id_involve_opportunity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_log_entry_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['partner_id'], ['involve_partner.id'], name=op.f('fk_involve_log_entry_partner_id_involve_partner'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_log_entry'))
    )
    with op.batch_alter_table('involve_log_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_log_entry_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_log_entry_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_log_entry_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_log_entry_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('ix_involve_log_entry_project', ['organisation_id', 'project'], unique=False)

    op.create_table('involve_panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('pool', sa.JSON(), nullable=False),
    sa.Column('quotas', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('panels_hash', sa.String(length=64), nullable=True),
    sa.Column('seed_source', sa.Text(), nullable=True),
    sa.Column('seed', sa.String(length=200), nullable=True),
    sa.Column('selected', sa.JSON(), nullable=True),
    sa.Column('published_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('drawn_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_involve_panel_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['involve_opportunity.id'], name=op.f('fk_involve_panel_opportunity_id_involve_opportunity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_involve_panel_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_involve_panel'))
    )
    with op.batch_alter_table('involve_panel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_involve_panel_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_panel_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_involve_panel_organisation_id'), ['organisation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('involve_panel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_panel_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_involve_panel_opportunity_id'))
        batch_op.drop_index(batch_op.f('ix_involve_panel_created_by'))

    op.drop_table('involve_panel')
    with op.batch_alter_table('involve_log_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_involve_log_entry_project')
        batch_op.drop_index(batch_op.f('ix_involve_log_entry_partner_id'))
        batch_op.drop_index(batch_op.f('ix_involve_log_entry_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_involve_log_entry_opportunity_id'))
        batch_op.drop_index(batch_op.f('ix_involve_log_entry_created_by'))

    op.drop_table('involve_log_entry')
    with op.batch_alter_table('involve_library_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_library_person_partner_id'))
        batch_op.drop_index(batch_op.f('ix_involve_library_person_entry_id'))

    op.drop_table('involve_library_person')
    op.drop_table('involve_library_organisation')
    with op.batch_alter_table('involve_interest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_interest_partner_id'))
        batch_op.drop_index(batch_op.f('ix_involve_interest_opportunity_id'))

    op.drop_table('involve_interest')
    with op.batch_alter_table('involve_consent', schema=None) as batch_op:
        batch_op.drop_index('ix_involve_consent_partner')

    op.drop_table('involve_consent')
    with op.batch_alter_table('involve_population', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_population_uploaded_by'))

    op.drop_table('involve_population')
    with op.batch_alter_table('involve_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_partner_organisation_id'))

    op.drop_table('involve_partner')
    with op.batch_alter_table('involve_opportunity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_opportunity_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_involve_opportunity_created_by'))

    op.drop_table('involve_opportunity')
    with op.batch_alter_table('involve_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_notification_account_id'))

    op.drop_table('involve_notification')
    with op.batch_alter_table('involve_library_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_library_entry_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_involve_library_entry_created_by'))

    op.drop_table('involve_library_entry')
    with op.batch_alter_table('involve_signup_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_involve_signup_draft_updated_at'))

    op.drop_table('involve_signup_draft')
