"""access: waiting-list snapshots and pathways, RTT figures, versioned policies, simulations

Revision ID: access_0001
Revises: 0002_jobs
Create Date: 2026-11-23 10:41:08.231349
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db


revision: str = 'access_0001'
down_revision: str | Sequence[str] | None = '0002_jobs'
branch_labels: str | Sequence[str] | None = ('access',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_access_policy_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_access_policy_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_policy')),
    sa.UniqueConstraint('organisation_id', 'slug', name=op.f('uq_access_policy_organisation_id_slug'))
    )
    with op.batch_alter_table('access_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_policy_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_policy_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('access_rtt_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.Column('providers', sa.Integer(), nullable=False),
    sa.Column('imported_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by'], ['account.id'], name=op.f('fk_access_rtt_import_imported_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_rtt_import'))
    )
    with op.batch_alter_table('access_rtt_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_rtt_import_imported_by'), ['imported_by'], unique=False)

    op.create_table('access_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pathways', sa.Integer(), nullable=False),
    sa.Column('missing_columns', sa.JSON(), nullable=False),
    sa.Column('unknowns', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('imported_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by'], ['account.id'], name=op.f('fk_access_snapshot_imported_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_access_snapshot_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_snapshot')),
    sa.UniqueConstraint('organisation_id', 'snapshot_date', name=op.f('uq_access_snapshot_organisation_id_snapshot_date'))
    )
    with op.batch_alter_table('access_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_snapshot_imported_by'), ['imported_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_snapshot_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('access_pathway',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.String(length=64), nullable=False),
    sa.Column('treatment_function_code', sa.String(length=3), nullable=False),
    sa.Column('clock_start_date', sa.Date(), nullable=False),
    sa.Column('clinical_priority', sa.String(length=3), nullable=False),
    sa.Column('procedure', sa.Text(), nullable=True),
    sa.Column('age', sa.SmallInteger(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('ethnic_category', sa.String(length=2), nullable=True),
    sa.Column('lsoa', sa.String(length=9), nullable=True),
    sa.Column('imd_decile', sa.SmallInteger(), nullable=True),
    sa.Column('learning_disability', sa.Boolean(), nullable=True),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=True),
    sa.Column('carer', sa.Boolean(), nullable=True),
    sa.CheckConstraint('age IS NULL OR age BETWEEN 0 AND 130', name=op.f('ck_access_pathway_age_range')),
    sa.CheckConstraint('imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10', name=op.f('ck_access_pathway_imd_decile_range')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['access_snapshot.id'], name=op.f('fk_access_pathway_snapshot_id_access_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'pathway_id', name=op.f('pk_access_pathway'))
    )
    op.create_table('access_policy_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('saved_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('saved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['policy_id'], ['access_policy.id'], name=op.f('fk_access_policy_version_policy_id_access_policy'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_by'], ['account.id'], name=op.f('fk_access_policy_version_saved_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_policy_version')),
    sa.UniqueConstraint('policy_id', 'version', name=op.f('uq_access_policy_version_policy_id_version'))
    )
    with op.batch_alter_table('access_policy_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_policy_version_saved_by'), ['saved_by'], unique=False)

    op.create_table('access_rtt_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('provider_code', sa.String(length=10), nullable=False),
    sa.Column('provider_name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('treatment_function_code', sa.String(length=10), nullable=False),
    sa.Column('treatment_function_name', sa.String(length=200), nullable=False),
    sa.Column('pathways', sa.Integer(), nullable=False),
    sa.Column('unknown_clock_start', sa.Integer(), nullable=True),
    sa.Column('within_18', sa.Integer(), nullable=False),
    sa.Column('over_52', sa.Integer(), nullable=False),
    sa.Column('over_65', sa.Integer(), nullable=False),
    sa.Column('over_78', sa.Integer(), nullable=False),
    sa.Column('over_104', sa.Integer(), nullable=False),
    sa.Column('median_weeks', sa.Float(), nullable=True),
    sa.Column('p92_weeks', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['access_rtt_import.id'], name=op.f('fk_access_rtt_figure_import_id_access_rtt_import'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_rtt_figure')),
    sa.UniqueConstraint('period', 'provider_code', 'level', 'treatment_function_code', name=op.f('uq_access_rtt_figure_period_provider_code_level_treatment_function_code'))
    )
    with op.batch_alter_table('access_rtt_figure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_rtt_figure_import_id'), ['import_id'], unique=False)
        batch_op.create_index('ix_access_rtt_figure_provider', ['provider_code', 'period'], unique=False)

    op.create_table('access_simulation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('version_ids', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('finished_at', voices.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_access_simulation_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_access_simulation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['access_snapshot.id'], name=op.f('fk_access_simulation_snapshot_id_access_snapshot'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_simulation'))
    )
    with op.batch_alter_table('access_simulation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_simulation_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_simulation_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_simulation_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('access_active_policy',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('set_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_access_active_policy_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by'], ['account.id'], name=op.f('fk_access_active_policy_set_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['access_policy_version.id'], name=op.f('fk_access_active_policy_version_id_access_policy_version'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_access_active_policy'))
    )
    with op.batch_alter_table('access_active_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_active_policy_set_by'), ['set_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_active_policy_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('access_active_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_active_policy_version_id'))
        batch_op.drop_index(batch_op.f('ix_access_active_policy_set_by'))

    op.drop_table('access_active_policy')
    with op.batch_alter_table('access_simulation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_simulation_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_access_simulation_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_access_simulation_created_by'))

    op.drop_table('access_simulation')
    with op.batch_alter_table('access_rtt_figure', schema=None) as batch_op:
        batch_op.drop_index('ix_access_rtt_figure_provider')
        batch_op.drop_index(batch_op.f('ix_access_rtt_figure_import_id'))

    op.drop_table('access_rtt_figure')
    with op.batch_alter_table('access_policy_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_policy_version_saved_by'))

    op.drop_table('access_policy_version')
    op.drop_table('access_pathway')
    with op.batch_alter_table('access_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_snapshot_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_access_snapshot_imported_by'))

    op.drop_table('access_snapshot')
    with op.batch_alter_table('access_rtt_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_rtt_import_imported_by'))

    op.drop_table('access_rtt_import')
    with op.batch_alter_table('access_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_policy_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_access_policy_created_by'))

    op.drop_table('access_policy')
