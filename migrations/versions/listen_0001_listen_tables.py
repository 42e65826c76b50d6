"""listen: feedback responses, redacted comments, labels and themes, coders' decisions
(append-only), services' replies, import mappings and runs, registered models

Revision ID: listen_0001
Revises: 0002_jobs
Create Date: 2026-11-23 10:26:46.725523
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voices.db

revision: str = 'listen_0001'
down_revision: str | Sequence[str] | None = '0002_jobs'
branch_labels: str | Sequence[str] | None = ('listen',)
depends_on: str | Sequence[str] | None = None


# Coders' decisions are append-only: the database refuses to change one. (Deleting stays
# possible, so erasing a response removes its decisions with it.)
SQLITE_APPEND_ONLY = """
CREATE TRIGGER listen_coding_no_update BEFORE UPDATE ON listen_coding
BEGIN SELECT RAISE(ABORT, 'listen_coding is append-only: UPDATE refused'); END
"""
POSTGRES_APPEND_ONLY = [
    """
    CREATE OR REPLACE FUNCTION listen_coding_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'listen_coding is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER listen_coding_no_update BEFORE UPDATE ON listen_coding
    FOR EACH ROW EXECUTE FUNCTION listen_coding_append_only()
    """,
]


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_APPEND_ONLY:
            op.execute(statement)
    else:
        op.execute(SQLITE_APPEND_ONLY)


def upgrade() -> None:
    op.create_table('listen_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('supplier', sa.String(length=80), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('rating_values', sa.JSON(), nullable=False),
    sa.Column('date_format', sa.String(length=40), nullable=True),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_listen_mapping_created_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_listen_mapping_service_id_service'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_mapping')),
    sa.UniqueConstraint('name', name=op.f('uq_listen_mapping_name'))
    )
    with op.batch_alter_table('listen_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_mapping_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_mapping_service_id'), ['service_id'], unique=False)

    op.create_table('listen_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('framework', sa.String(length=80), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('card', sa.JSON(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['registered_by'], ['account.id'], name=op.f('fk_listen_model_registered_by_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_model')),
    sa.UniqueConstraint('version', name=op.f('uq_listen_model_version'))
    )
    with op.batch_alter_table('listen_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_model_registered_by'), ['registered_by'], unique=False)

    op.create_table('listen_original_reader',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_listen_original_reader_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_listen_original_reader'))
    )
    op.create_table('listen_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mapping_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('imported_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by'], ['account.id'], name=op.f('fk_listen_import_imported_by_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mapping_id'], ['listen_mapping.id'], name=op.f('fk_listen_import_mapping_id_listen_mapping'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_import'))
    )
    with op.batch_alter_table('listen_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_import_imported_by'), ['imported_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_import_mapping_id'), ['mapping_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_import_sha256'), ['sha256'], unique=False)

    op.create_table('listen_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('submitted_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.String(length=32), nullable=True),
    sa.Column('age_band', sa.String(length=32), nullable=True),
    sa.Column('sex', sa.String(length=32), nullable=True),
    sa.Column('ethnic_group', sa.String(length=32), nullable=True),
    sa.Column('disability', sa.String(length=32), nullable=True),
    sa.Column('carer', sa.String(length=32), nullable=True),
    sa.Column('postcode_district', sa.String(length=8), nullable=True),
    sa.Column('lsoa_code', sa.String(length=9), nullable=True),
    sa.Column('imd_decile', sa.Integer(), nullable=True),
    sa.Column('supplier', sa.String(length=80), nullable=True),
    sa.Column('supplier_response_id', sa.String(length=120), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('api_account_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('api_reply', sa.JSON(), nullable=True),
    sa.Column('edit_token_hash', sa.String(length=64), nullable=True),
    sa.Column('completed_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_account_id'], ['account.id'], name=op.f('fk_listen_response_api_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['import_id'], ['listen_import.id'], name=op.f('fk_listen_response_import_id_listen_import'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_listen_response_service_id_service'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_response')),
    sa.UniqueConstraint('api_account_id', 'idempotency_key', name='uq_listen_response_idempotency'),
    sa.UniqueConstraint('supplier', 'supplier_response_id', name='uq_listen_response_supplier')
    )
    with op.batch_alter_table('listen_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_response_api_account_id'), ['api_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_response_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_response_period'), ['period'], unique=False)
        batch_op.create_index('ix_listen_response_service_period', ['service_id', 'period'], unique=False)

    op.create_table('listen_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('original_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('redacted_kinds', sa.String(length=200), nullable=False),
    sa.Column('flags', sa.String(length=200), nullable=False),
    sa.Column('words', sa.Integer(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('classified_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('sentiment', sa.Integer(), nullable=True),
    sa.Column('sentiment_probability', sa.Float(), nullable=True),
    sa.Column('sentiment_source', sa.String(length=8), nullable=True),
    sa.Column('explanation', sa.JSON(), nullable=True),
    sa.Column('coded_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('coded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['listen_response.id'], name=op.f('fk_listen_comment_response_id_listen_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_comment')),
    sa.UniqueConstraint('response_id', 'question', name='uq_listen_comment_question')
    )
    with op.batch_alter_table('listen_comment', schema=None) as batch_op:
        batch_op.create_index('ix_listen_comment_queue', ['coded_at', 'confidence'], unique=False)

    op.create_table('listen_coding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('coder_id', sa.Integer(), nullable=True),
    sa.Column('coded_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('sentiment', sa.Integer(), nullable=True),
    sa.Column('model_labels', sa.JSON(), nullable=False),
    sa.Column('model_sentiment', sa.Integer(), nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('agreement', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['listen_comment.id'], name=op.f('fk_listen_coding_comment_id_listen_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_coding'))
    )
    with op.batch_alter_table('listen_coding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_coding_coded_at'), ['coded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_coding_coder_id'), ['coder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_coding_comment_id'), ['comment_id'], unique=False)
    _append_only()

    op.create_table('listen_comment_label',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('probability', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['listen_comment.id'], name=op.f('fk_listen_comment_label_comment_id_listen_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', 'label', name=op.f('pk_listen_comment_label'))
    )
    with op.batch_alter_table('listen_comment_label', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_comment_label_label'), ['label'], unique=False)

    op.create_table('listen_comment_theme',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=40), nullable=False),
    sa.Column('via_labels', sa.JSON(), nullable=False),
    sa.Column('via_words', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['listen_comment.id'], name=op.f('fk_listen_comment_theme_comment_id_listen_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', 'theme', name=op.f('pk_listen_comment_theme'))
    )
    with op.batch_alter_table('listen_comment_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_comment_theme_theme'), ['theme'], unique=False)

    op.create_table('listen_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('changed_something', sa.Boolean(), nullable=False),
    sa.Column('published_at', voices.db.UTCDateTime(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', voices.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voices.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['account.id'], name=op.f('fk_listen_reply_author_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['comment_id'], ['listen_comment.id'], name=op.f('fk_listen_reply_comment_id_listen_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listen_reply')),
    sa.UniqueConstraint('comment_id', name=op.f('uq_listen_reply_comment_id'))
    )
    with op.batch_alter_table('listen_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listen_reply_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listen_reply_published_at'), ['published_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('listen_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_reply_published_at'))
        batch_op.drop_index(batch_op.f('ix_listen_reply_author_id'))

    op.drop_table('listen_reply')
    with op.batch_alter_table('listen_comment_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_comment_theme_theme'))

    op.drop_table('listen_comment_theme')
    with op.batch_alter_table('listen_comment_label', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_comment_label_label'))

    op.drop_table('listen_comment_label')
    with op.batch_alter_table('listen_coding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_coding_comment_id'))
        batch_op.drop_index(batch_op.f('ix_listen_coding_coder_id'))
        batch_op.drop_index(batch_op.f('ix_listen_coding_coded_at'))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS listen_coding_no_update ON listen_coding")
        op.execute("DROP FUNCTION IF EXISTS listen_coding_append_only()")
    op.drop_table('listen_coding')
    with op.batch_alter_table('listen_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_listen_comment_queue')

    op.drop_table('listen_comment')
    with op.batch_alter_table('listen_response', schema=None) as batch_op:
        batch_op.drop_index('ix_listen_response_service_period')
        batch_op.drop_index(batch_op.f('ix_listen_response_period'))
        batch_op.drop_index(batch_op.f('ix_listen_response_import_id'))
        batch_op.drop_index(batch_op.f('ix_listen_response_api_account_id'))

    op.drop_table('listen_response')
    with op.batch_alter_table('listen_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_import_sha256'))
        batch_op.drop_index(batch_op.f('ix_listen_import_mapping_id'))
        batch_op.drop_index(batch_op.f('ix_listen_import_imported_by'))

    op.drop_table('listen_import')
    op.drop_table('listen_original_reader')
    with op.batch_alter_table('listen_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_model_registered_by'))

    op.drop_table('listen_model')
    with op.batch_alter_table('listen_mapping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listen_mapping_service_id'))
        batch_op.drop_index(batch_op.f('ix_listen_mapping_created_by'))

    op.drop_table('listen_mapping')
