"""durable job queue

Revision ID: 0002_jobs
Revises: 0001_core
Create Date: 2026-11-23 09:42:00.496394
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db


revision: str = '0002_jobs'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='job_status', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('run_after', voices.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('heartbeat_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', voices.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_claim', ['status', 'run_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_key'), ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_key'))
        batch_op.drop_index('ix_job_claim')

    op.drop_table('job')
