"""codesign tables: conversations, participants, statements, votes, opinion maps, ideas

Revision ID: codesign_0001
Revises: 0002_jobs
Create Date: 2026-11-23 10:23:00.888173
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db

revision: str = 'codesign_0001'
down_revision: str | Sequence[str] | None = '0002_jobs'
branch_labels: str | Sequence[str] | None = ('codesign',)
depends_on: str | Sequence[str] | None = None


# The history of an idea is append-only, like the audit log: the database refuses to
# change or delete a row.
POSTGRES_APPEND_ONLY = [
    """
    CREATE OR REPLACE FUNCTION codesign_idea_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'codesign_idea_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER codesign_idea_event_no_update BEFORE UPDATE OR DELETE
    ON codesign_idea_event FOR EACH ROW EXECUTE FUNCTION codesign_idea_event_append_only()
    """,
]
SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER codesign_idea_event_no_update BEFORE UPDATE ON codesign_idea_event
    BEGIN SELECT RAISE(ABORT, 'codesign_idea_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER codesign_idea_event_no_delete BEFORE DELETE ON codesign_idea_event
    BEGIN SELECT RAISE(ABORT, 'codesign_idea_event is append-only: DELETE refused'); END
    """,
]


def upgrade() -> None:
    op.create_table('codesign_conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('background', sa.Text(), nullable=False),
    sa.Column('opens_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('closes_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('moderation', sa.Boolean(), nullable=False),
    sa.Column('demographics', sa.JSON(), nullable=False),
    sa.Column('population', sa.JSON(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_codesign_conversation_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_codesign_conversation_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_conversation')),
    sa.UniqueConstraint('slug', name=op.f('uq_codesign_conversation_slug'))
    )
    with op.batch_alter_table('codesign_conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_conversation_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_conversation_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('codesign_opinion_map',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('votes_counted', sa.Integer(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('placed', sa.Integer(), nullable=False),
    sa.Column('group_count', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['codesign_conversation.id'], name=op.f('fk_codesign_opinion_map_conversation_id_codesign_conversation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_codesign_opinion_map'))
    )
    op.create_table('codesign_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('age_band', sa.String(length=24), nullable=True),
    sa.Column('ethnic_group', sa.String(length=24), nullable=True),
    sa.Column('imd_quintile', sa.String(length=24), nullable=True),
    sa.Column('imd_source', sa.String(length=16), nullable=True),
    sa.Column('disability', sa.String(length=24), nullable=True),
    sa.Column('joined_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_codesign_participant_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['codesign_conversation.id'], name=op.f('fk_codesign_participant_conversation_id_codesign_conversation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_participant')),
    sa.UniqueConstraint('conversation_id', 'account_id', name=op.f('uq_codesign_participant_conversation_id_account_id')),
    sa.UniqueConstraint('conversation_id', 'key_hash', name=op.f('uq_codesign_participant_conversation_id_key_hash')),
    sa.UniqueConstraint('conversation_id', 'number', name=op.f('uq_codesign_participant_conversation_id_number'))
    )
    with op.batch_alter_table('codesign_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_participant_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_participant_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('codesign_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('seed', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'accepted', 'rejected', name='codesign_statement_status', native_enum=False, length=32), nullable=False),
    sa.Column('review', sa.Enum('none', 'needed', 'done', name='codesign_review', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('moderated_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('moderated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['codesign_participant.id'], name=op.f('fk_codesign_statement_author_id_codesign_participant'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['codesign_conversation.id'], name=op.f('fk_codesign_statement_conversation_id_codesign_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['moderated_by'], ['account.id'], name=op.f('fk_codesign_statement_moderated_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_statement')),
    sa.UniqueConstraint('conversation_id', 'number', name=op.f('uq_codesign_statement_conversation_id_number'))
    )
    with op.batch_alter_table('codesign_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_statement_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_statement_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_statement_moderated_by'), ['moderated_by'], unique=False)

    op.create_table('codesign_idea',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('stage', sa.Enum('explore', 'investigate', 'propose', 'agreed', name='codesign_stage', native_enum=False, length=32), nullable=False),
    sa.Column('proposal', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['codesign_conversation.id'], name=op.f('fk_codesign_idea_conversation_id_codesign_conversation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_codesign_idea_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_codesign_idea_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['statement_id'], ['codesign_statement.id'], name=op.f('fk_codesign_idea_statement_id_codesign_statement'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_idea'))
    )
    with op.batch_alter_table('codesign_idea', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_idea_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_idea_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_idea_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_idea_statement_id'), ['statement_id'], unique=False)

    op.create_table('codesign_vote',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('vote', sa.SmallInteger(), nullable=False),
    sa.Column('unclear', sa.Boolean(), nullable=False),
    sa.Column('voted_at', voices.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('vote IN (-1, 0, 1)', name=op.f('ck_codesign_vote_vote_value')),
    sa.ForeignKeyConstraint(['conversation_id'], ['codesign_conversation.id'], name=op.f('fk_codesign_vote_conversation_id_codesign_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['codesign_participant.id'], name=op.f('fk_codesign_vote_participant_id_codesign_participant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['statement_id'], ['codesign_statement.id'], name=op.f('fk_codesign_vote_statement_id_codesign_statement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', 'statement_id', name=op.f('pk_codesign_vote'))
    )
    with op.batch_alter_table('codesign_vote', schema=None) as batch_op:
        batch_op.create_index('ix_codesign_vote_conversation', ['conversation_id', 'voted_at'], unique=False)
        batch_op.create_index('ix_codesign_vote_statement', ['statement_id'], unique=False)

    op.create_table('codesign_idea_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('from_stage', sa.String(length=16), nullable=True),
    sa.Column('what', sa.String(length=500), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['codesign_idea.id'], name=op.f('fk_codesign_idea_event_idea_id_codesign_idea'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_idea_event'))
    )
    with op.batch_alter_table('codesign_idea_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_idea_event_idea_id'), ['idea_id'], unique=False)

    op.create_table('codesign_idea_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=300), nullable=False),
    sa.Column('added_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_codesign_idea_partner_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['codesign_idea.id'], name=op.f('fk_codesign_idea_partner_idea_id_codesign_idea'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_idea_partner')),
    sa.UniqueConstraint('idea_id', 'account_id', name=op.f('uq_codesign_idea_partner_idea_id_account_id'))
    )
    with op.batch_alter_table('codesign_idea_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_idea_partner_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_idea_partner_idea_id'), ['idea_id'], unique=False)

    op.create_table('codesign_idea_supporter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contribution', sa.String(length=500), nullable=False),
    sa.Column('added_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['codesign_idea.id'], name=op.f('fk_codesign_idea_supporter_idea_id_codesign_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_codesign_idea_supporter_organisation_id_organisation'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codesign_idea_supporter'))
    )
    with op.batch_alter_table('codesign_idea_supporter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_idea_supporter_idea_id'), ['idea_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_codesign_idea_supporter_organisation_id'), ['organisation_id'], unique=False)


    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_APPEND_ONLY if dialect == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS codesign_idea_event_no_update ON codesign_idea_event")
        op.execute("DROP FUNCTION IF EXISTS codesign_idea_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS codesign_idea_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS codesign_idea_event_no_delete")
    with op.batch_alter_table('codesign_idea_supporter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_idea_supporter_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_idea_supporter_idea_id'))

    op.drop_table('codesign_idea_supporter')
    with op.batch_alter_table('codesign_idea_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_idea_partner_idea_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_idea_partner_account_id'))

    op.drop_table('codesign_idea_partner')
    with op.batch_alter_table('codesign_idea_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_idea_event_idea_id'))

    op.drop_table('codesign_idea_event')
    with op.batch_alter_table('codesign_vote', schema=None) as batch_op:
        batch_op.drop_index('ix_codesign_vote_statement')
        batch_op.drop_index('ix_codesign_vote_conversation')

    op.drop_table('codesign_vote')
    with op.batch_alter_table('codesign_idea', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_idea_statement_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_idea_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_idea_created_by'))
        batch_op.drop_index(batch_op.f('ix_codesign_idea_conversation_id'))

    op.drop_table('codesign_idea')
    with op.batch_alter_table('codesign_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_statement_moderated_by'))
        batch_op.drop_index(batch_op.f('ix_codesign_statement_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_statement_author_id'))

    op.drop_table('codesign_statement')
    with op.batch_alter_table('codesign_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_participant_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_participant_account_id'))

    op.drop_table('codesign_participant')
    op.drop_table('codesign_opinion_map')
    with op.batch_alter_table('codesign_conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codesign_conversation_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_codesign_conversation_created_by'))

    op.drop_table('codesign_conversation')
