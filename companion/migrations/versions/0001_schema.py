"""Today's schema, made where it is missing: a new database gets every table, a database made before
Alembic (companion.sqlite3 from earlier releases, which made its tables with CREATE TABLE IF NOT EXISTS
at every start) is adopted with every row kept.

Besides the tables: the case-insensitive unique names become indexes on lower(name) (SQLite's
COLLATE NOCASE has no PostgreSQL twin), and the inbrenger's marks and notes still kept on advice_items
by databases from before advice_marks move to that table (what advice.store.upgrade() did at each open).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Seconds and positions: SQLite's REAL, PostgreSQL's DOUBLE PRECISION (frozen here: schema.REAL may change).
REAL = sa.Double().with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.create_table('facilitators',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    if_not_exists=True,
    )
    op.create_table('method_sources',
    sa.Column('hash', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('hash'),
    if_not_exists=True,
    )
    op.create_table('rooms',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('method_id', sa.Text(), nullable=False),
    sa.Column('method_source', sa.Text(), nullable=False),
    sa.Column('language', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('invite_hash', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'waiting'"), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=True),
    sa.Column('step_started_at', REAL, nullable=True),
    sa.Column('paused_at', REAL, nullable=True),
    sa.Column('paused_total', REAL, server_default=sa.text('0'), nullable=False),
    sa.Column('extra_seconds', REAL, server_default=sa.text('0'), nullable=False),
    sa.Column('overtime_notified', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('inbrenger_id', sa.Text(), nullable=True),
    sa.Column('case_id', sa.Text(), nullable=True),
    sa.Column('question_original', sa.Text(), nullable=True),
    sa.Column('question_reformulated', sa.Text(), nullable=True),
    sa.Column('vote_closed', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('vote_tie', sa.Text(), nullable=True),
    sa.Column('ended_at', REAL, nullable=True),
    sa.Column('retention_days', sa.Integer(), server_default=sa.text('30'), nullable=False),
    sa.Column('rev', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invite_hash'),
    if_not_exists=True,
    )
    op.create_table('server_meta',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    if_not_exists=True,
    )
    op.create_table('advice_edits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    if_not_exists=True,
    )
    op.create_index('advice_edits_item', 'advice_edits', ['room_id', 'item_id'], unique=False, if_not_exists=True)
    op.create_table('advice_item_languages',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('language', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'item_id'),
    if_not_exists=True,
    )
    op.create_table('advice_items',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=True),
    sa.Column('position', REAL, nullable=False),
    sa.Column('start_s', REAL, nullable=True),
    sa.Column('end_s', REAL, nullable=True),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.Column('updated_at', REAL, nullable=False),
    sa.Column('edited', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('deleted', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('merged_into', sa.Text(), nullable=True),
    sa.Column('mark', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), server_default=sa.text("''"), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    if_not_exists=True,
    )
    op.create_index('advice_items_room', 'advice_items', ['room_id', 'position'], unique=False, if_not_exists=True)
    op.create_table('advice_marks',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('inbrenger_id', sa.Text(), nullable=False),
    sa.Column('mark', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), server_default=sa.text("''"), nullable=False),
    sa.Column('updated_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'inbrenger_id'),
    if_not_exists=True,
    )
    op.create_table('advice_notes',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'participant_id'),
    if_not_exists=True,
    )
    op.create_table('advice_utterances',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('utterance_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=True),
    sa.Column('start_s', REAL, nullable=False),
    sa.Column('end_s', REAL, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.Column('item_id', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'utterance_id'),
    if_not_exists=True,
    )
    op.create_table('participants',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('joined_at', REAL, nullable=False),
    sa.Column('mic_muted_by', sa.Text(), nullable=True),
    sa.Column('camera_off', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    if_not_exists=True,
    )
    op.create_table('room_leases',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=False),
    sa.Column('expires_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id'),
    if_not_exists=True,
    )
    op.create_table('room_locks',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('locked_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id'),
    if_not_exists=True,
    )
    op.create_table('room_methods',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('method_hash', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['method_hash'], ['method_sources.hash'], ),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id'),
    if_not_exists=True,
    )
    op.create_table('room_owners',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('facilitator_id', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id'),
    if_not_exists=True,
    )
    op.create_index('room_owners_facilitator', 'room_owners', ['facilitator_id'], unique=False, if_not_exists=True)
    op.create_table('set_aside',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=True),
    sa.Column('start_s', REAL, nullable=True),
    sa.Column('end_s', REAL, nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('language', sa.Text(), nullable=True),
    sa.Column('utterance_ids', sa.Text(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.Column('restored_item', sa.Text(), nullable=True),
    sa.Column('restored_at', REAL, nullable=True),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    if_not_exists=True,
    )
    op.create_index('set_aside_room', 'set_aside', ['room_id', 'start_s'], unique=False, if_not_exists=True)
    op.create_table('utterance_pieces',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('piece_id', sa.Text(), nullable=False),
    sa.Column('turn_id', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'piece_id'),
    if_not_exists=True,
    )
    op.create_table('utterances',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('step_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('start_s', REAL, nullable=False),
    sa.Column('end_s', REAL, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('confidence', REAL, nullable=False),
    sa.Column('language', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    if_not_exists=True,
    )
    op.create_index('utterances_by_step', 'utterances', ['room_id', 'step_id', 'start_s'], unique=False, if_not_exists=True)
    op.create_table('browser_rooms',
    sa.Column('session_hash', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_hash', 'room_id'),
    if_not_exists=True,
    )
    op.create_index('browser_rooms_participant', 'browser_rooms', ['participant_id'], unique=False, if_not_exists=True)
    op.create_table('cases',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('created_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('room_id', 'participant_id'),
    if_not_exists=True,
    )
    op.create_table('participant_signals',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'participant_id', 'kind'),
    if_not_exists=True,
    )
    op.create_table('removed_participants',
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('removed_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id'),
    if_not_exists=True,
    )
    op.create_table('takeaways',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('participant_id', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('shared', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', REAL, nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'participant_id'),
    if_not_exists=True,
    )
    op.create_table('votes',
    sa.Column('room_id', sa.Text(), nullable=False),
    sa.Column('voter_id', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['participants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', 'voter_id'),
    if_not_exists=True,
    )

    # Case-insensitive unique names, in the form both databases know (earlier files: COLLATE NOCASE).
    op.drop_index("participants_room_name", table_name="participants", if_exists=True)
    op.drop_index("facilitators_name", table_name="facilitators", if_exists=True)
    op.create_index(
        "participants_room_lower_name", "participants", ["room_id", sa.text("lower(name)")], unique=True,
        if_not_exists=True,
    )
    op.create_index("facilitators_lower_name", "facilitators", [sa.text("lower(name)")], unique=True, if_not_exists=True)

    # Marks and notes kept on the item by databases from before advice_marks belong to the inbrenger
    # they were last shown to (only an inbrenger could write them); the old columns are then emptied so
    # no later inbrenger sees them. A room that already has per-inbrenger rows only has its old columns
    # emptied. A room without an inbrenger cannot have any.
    op.execute(
        """INSERT INTO advice_marks (room_id, item_id, inbrenger_id, mark, note, updated_at)
           SELECT i.room_id, i.id, r.inbrenger_id, i.mark, i.note, i.updated_at
           FROM advice_items i JOIN rooms r ON r.id = i.room_id
           WHERE (i.mark IS NOT NULL OR i.note != '') AND r.inbrenger_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM advice_marks m WHERE m.room_id = i.room_id)
           ON CONFLICT DO NOTHING"""
    )
    op.execute(
        """UPDATE advice_items SET mark = NULL, note = ''
           WHERE (mark IS NOT NULL OR note != '')
             AND EXISTS (SELECT 1 FROM advice_marks m WHERE m.room_id = advice_items.room_id)"""
    )


def downgrade() -> None:
    # The first revision is the schema itself: going below it means an empty database.
    raise NotImplementedError("there is no schema before revision 0001")
