"""access: RTT counts over 65, 78 and 104 weeks may be not known (older extracts stop at 52)

Revision ID: access_0002
Revises: access_0001
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'access_0002'
down_revision: str | Sequence[str] | None = 'access_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('over_65', 'over_78', 'over_104')


def upgrade() -> None:
    with op.batch_alter_table('access_rtt_figure', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE access_rtt_figure SET over_65 = 0 WHERE over_65 IS NULL")
    op.execute("UPDATE access_rtt_figure SET over_78 = 0 WHERE over_78 IS NULL")
    op.execute("UPDATE access_rtt_figure SET over_104 = 0 WHERE over_104 IS NULL")
    with op.batch_alter_table('access_rtt_figure', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Integer(), nullable=False)
