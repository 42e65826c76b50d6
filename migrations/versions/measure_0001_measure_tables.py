"""measure: imported response counts and activity figures, scorecard versions

Revision ID: measure_0001
Revises: 0002_jobs
Create Date: 2026-11-23 10:00:45.550385
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db


revision: str = 'measure_0001'
down_revision: str | Sequence[str] | None = '0002_jobs'
branch_labels: str | Sequence[str] | None = ('measure',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('measure_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('imported_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by'], ['account.id'], name=op.f('fk_measure_import_imported_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_import'))
    )
    with op.batch_alter_table('measure_import', schema=None) as batch_op:
        batch_op.create_index('ix_measure_import_checksum', ['kind', 'sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_import_imported_by'), ['imported_by'], unique=False)

    op.create_table('measure_scorecard_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('saved_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('saved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_measure_scorecard_version_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_by'], ['account.id'], name=op.f('fk_measure_scorecard_version_saved_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_scorecard_version')),
    sa.UniqueConstraint('organisation_id', 'version', name=op.f('uq_measure_scorecard_version_organisation_id_version'))
    )
    with op.batch_alter_table('measure_scorecard_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_scorecard_version_saved_by'), ['saved_by'], unique=False)

    op.create_table('measure_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('measure', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('lower', sa.Float(), nullable=True),
    sa.Column('upper', sa.Float(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['measure_import.id'], name=op.f('fk_measure_activity_import_id_measure_import'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_measure_activity_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_measure_activity_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_activity'))
    )
    with op.batch_alter_table('measure_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_activity_import_id'), ['import_id'], unique=False)
        batch_op.create_index('ix_measure_activity_lookup', ['organisation_id', 'period', 'measure'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_activity_service_id'), ['service_id'], unique=False)

    op.create_table('measure_response_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('response', sa.String(length=32), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('group_code', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('count >= 0', name=op.f('ck_measure_response_count_count_not_negative')),
    sa.ForeignKeyConstraint(['import_id'], ['measure_import.id'], name=op.f('fk_measure_response_count_import_id_measure_import'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_measure_response_count_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_response_count')),
    sa.UniqueConstraint('service_id', 'period', 'dimension', 'group_code', 'response', name='uq_measure_response_count_slice')
    )
    with op.batch_alter_table('measure_response_count', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_response_count_import_id'), ['import_id'], unique=False)
        batch_op.create_index('ix_measure_response_count_period', ['period', 'service_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('measure_response_count', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_response_count_period')
        batch_op.drop_index(batch_op.f('ix_measure_response_count_import_id'))

    op.drop_table('measure_response_count')
    with op.batch_alter_table('measure_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_activity_service_id'))
        batch_op.drop_index('ix_measure_activity_lookup')
        batch_op.drop_index(batch_op.f('ix_measure_activity_import_id'))

    op.drop_table('measure_activity')
    with op.batch_alter_table('measure_scorecard_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_scorecard_version_saved_by'))

    op.drop_table('measure_scorecard_version')
    with op.batch_alter_table('measure_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_import_imported_by'))
        batch_op.drop_index('ix_measure_import_checksum')

    op.drop_table('measure_import')
