"""The database schema as it is now, as SQLAlchemy Core tables: the one description both backends share.

The tables are made and changed only by the Alembic revisions in ``companion/migrations/versions``;
this module is what the newest revision must arrive at (tests/test_migrations.py compares them on
SQLite and on PostgreSQL).  The queries themselves are plain SQL through ``companion.db``.

Column types are the common subset: TEXT, INTEGER (flags are 0/1 integers, as SQLite stores them), and
``REAL`` for seconds and positions, which is SQLite's REAL and PostgreSQL's DOUBLE PRECISION (its own
REAL has 24 bits of mantissa: a Unix time in it is off by minutes).  Case-insensitive names are unique
indexes on ``lower(name)`` (SQLite's ``lower`` folds ASCII only, as its NOCASE did).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

REAL = sa.Double().with_variant(sqlite.REAL(), "sqlite")
metadata = sa.MetaData()


def _room_fk() -> sa.ForeignKey:
    return sa.ForeignKey("rooms.id", ondelete="CASCADE")


def _participant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("participants.id", ondelete="CASCADE")


def _text(name: str, nullable: bool = False, **kw) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=nullable, **kw)


def _int(name: str, nullable: bool = False, default: int | None = None) -> sa.Column:
    kw = {} if default is None else {"server_default": sa.text(str(default))}
    return sa.Column(name, sa.Integer, nullable=nullable, **kw)


def _real(name: str, nullable: bool = False, default: float | None = None) -> sa.Column:
    kw = {} if default is None else {"server_default": sa.text(str(default))}
    return sa.Column(name, REAL, nullable=nullable, **kw)


rooms = sa.Table(
    "rooms", metadata,
    _text("id", primary_key=True),
    _text("name"),
    _text("method_id"),
    # The method as it was when the room was made (rooms made before method_sources keep theirs here).
    _text("method_source"),
    _text("language"),
    _int("capacity"),
    _text("invite_hash", unique=True),
    _real("created_at"),
    _text("status", server_default=sa.text("'waiting'")),
    _int("step_index", nullable=True),
    _real("step_started_at", nullable=True),
    _real("paused_at", nullable=True),
    _real("paused_total", default=0),
    _real("extra_seconds", default=0),
    _int("overtime_notified", default=0),
    _text("inbrenger_id", nullable=True),
    _text("case_id", nullable=True),
    _text("question_original", nullable=True),
    _text("question_reformulated", nullable=True),
    _int("vote_closed", default=0),
    _text("vote_tie", nullable=True),
    _real("ended_at", nullable=True),
    _int("retention_days", default=30),
    _int("rev", default=0),
)
# A method's text, stored once by its SHA-256 however many rooms use it.
method_sources = sa.Table("method_sources", metadata, _text("hash", primary_key=True), _text("source"))
room_methods = sa.Table(
    "room_methods", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("method_hash", sa.Text, sa.ForeignKey("method_sources.hash"), nullable=False),
)
room_locks = sa.Table(
    "room_locks", metadata, sa.Column("room_id", sa.Text, _room_fk(), primary_key=True), _real("locked_at")
)
participants = sa.Table(
    "participants", metadata,
    _text("id", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("name"),
    _text("role"),
    _text("token_hash", unique=True),
    _real("joined_at"),
    _text("mic_muted_by", nullable=True),
    _int("camera_off", default=0),
    # The group member this participant is (companion/groups): one person across a meeting's case rooms.
    _text("member_id", nullable=True),
)
sa.Index("participants_member", participants.c.member_id)
sa.Index("participants_room_lower_name", participants.c.room_id, sa.func.lower(participants.c.name), unique=True)
removed_participants = sa.Table(
    "removed_participants", metadata,
    sa.Column("participant_id", sa.Text, _participant_fk(), primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _real("removed_at"),
)
cases = sa.Table(
    "cases", metadata,
    _text("id", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    sa.Column("participant_id", sa.Text, _participant_fk(), nullable=False),
    _text("title"),
    _text("question"),
    _real("created_at"),
    sa.UniqueConstraint("room_id", "participant_id"),
)
votes = sa.Table(
    "votes", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("voter_id", sa.Text, _participant_fk(), primary_key=True),
    sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
)
takeaways = sa.Table(
    "takeaways", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("participant_id", sa.Text, _participant_fk(), primary_key=True),
    _text("text"),
    _int("shared", default=0),
    _real("updated_at"),
)

# companion/speech/store.py
utterances = sa.Table(
    "utterances", metadata,
    _text("id", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("step_id"),
    _text("participant_id"),
    _real("start_s"),
    _real("end_s"),
    _text("text"),
    _real("confidence"),
    _text("language"),
    _real("created_at"),
)
sa.Index("utterances_by_step", utterances.c.room_id, utterances.c.step_id, utterances.c.start_s)
# Pieces of a turn whose text gave way to the turn decoded again as one window (speech/service.py).
utterance_pieces = sa.Table(
    "utterance_pieces", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("piece_id", primary_key=True),
    _text("turn_id"),
)

# companion/advice/store.py
advice_items = sa.Table(
    "advice_items", metadata,
    _text("id", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("participant_id", nullable=True),
    _real("position"),
    _real("start_s", nullable=True),
    _real("end_s", nullable=True),
    # what the machine heard (or what was typed, for an item added by hand)
    _text("original_text"),
    _text("text"),
    _text("source"),
    _real("created_at"),
    _real("updated_at"),
    _int("edited", default=0),
    _int("deleted", default=0),
    _text("merged_into", nullable=True),
    # Marks and notes of databases from before advice_marks; emptied by the first revision.
    _text("mark", nullable=True),
    _text("note", server_default=sa.text("''")),
)
sa.Index("advice_items_room", advice_items.c.room_id, advice_items.c.position)
advice_utterances = sa.Table(
    "advice_utterances", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("utterance_id", primary_key=True),
    _text("participant_id", nullable=True),
    _real("start_s"),
    _real("end_s"),
    _text("text"),
    _real("created_at"),
    # the last item this utterance went into (NULL: nothing in it was advice)
    _text("item_id", nullable=True),
)
advice_edits = sa.Table(
    "advice_edits", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("item_id"),
    _text("participant_id", nullable=True),
    _text("action"),
    _text("before", nullable=True),
    _text("after", nullable=True),
    _real("at"),
    sqlite_autoincrement=True,
)
sa.Index("advice_edits_item", advice_edits.c.room_id, advice_edits.c.item_id)
# the language an item was heard in, for items in another language than the room's
advice_item_languages = sa.Table(
    "advice_item_languages", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("item_id", primary_key=True),
    _text("language"),
)
# The inbrenger's marks and notes, per inbrenger: a later inbrenger starts with none.
advice_marks = sa.Table(
    "advice_marks", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("item_id", primary_key=True),
    _text("inbrenger_id", primary_key=True),
    _text("mark", nullable=True),
    _text("note", server_default=sa.text("''")),
    _real("updated_at"),
)
advice_notes = sa.Table(
    "advice_notes", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("participant_id", primary_key=True),
    _text("text"),
    _real("updated_at"),
)

# companion/advice/aside.py
set_aside = sa.Table(
    "set_aside", metadata,
    _text("id", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), nullable=False),
    _text("participant_id", nullable=True),
    _real("start_s", nullable=True),
    _real("end_s", nullable=True),
    _text("text"),
    _text("reason"),  # one of aside.REASONS
    _text("language", nullable=True),
    _text("utterance_ids", server_default=sa.text("'[]'")),  # JSON list of utterance ids
    _real("created_at"),
    _text("restored_item", nullable=True),  # the advice item it became when restored
    _real("restored_at", nullable=True),
)
sa.Index("set_aside_room", set_aside.c.room_id, set_aside.c.start_s)

# companion/facilitators.py
facilitators = sa.Table(
    "facilitators", metadata,
    _text("id", primary_key=True),
    _text("name"),
    _text("token_hash", unique=True),
    _real("created_at"),
)
sa.Index("facilitators_lower_name", sa.func.lower(facilitators.c.name), unique=True)
# Which facilitator made a room (no foreign key: a removed facilitator's rooms keep running).
room_owners = sa.Table(
    "room_owners", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("facilitator_id"),
)
sa.Index("room_owners_facilitator", room_owners.c.facilitator_id)
server_meta = sa.Table("server_meta", metadata, _text("key", primary_key=True), _text("value"))

# companion/browser_sessions.py
browser_rooms = sa.Table(
    "browser_rooms", metadata,
    _text("session_hash", primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("participant_id", sa.Text, _participant_fk(), nullable=False),
    _real("created_at"),
)
sa.Index("browser_rooms_participant", browser_rooms.c.participant_id)

# companion/signals.py
participant_signals = sa.Table(
    "participant_signals", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("participant_id", sa.Text, _participant_fk(), primary_key=True),
    _text("kind", primary_key=True),
    _real("at"),
)

# companion/leases.py: which process serves a room now; expires_at in Unix seconds. wanted_by/wanted_at:
# the other process that got the room's traffic last and when (Unix seconds): the holder hands it over.
room_leases = sa.Table(
    "room_leases", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("owner"),
    _real("expires_at"),
    _text("wanted_by", nullable=True),
    _real("wanted_at", nullable=True),
)

# The process that uses a node id now (a random instance id per start) and when it last renewed
# (Unix seconds): a second live process with the same --node-id is refused at start.
lease_nodes = sa.Table(
    "lease_nodes", metadata,
    _text("node_id", primary_key=True),
    _text("instance"),
    _real("seen_at"),
)


# companion/groups: a group lasts; its meetings are sequences of case rooms (one room per case).
def _group_fk() -> sa.ForeignKey:
    return sa.ForeignKey("groups.id", ondelete="CASCADE")


def _meeting_fk() -> sa.ForeignKey:
    return sa.ForeignKey("meetings.id", ondelete="CASCADE")


def _member_fk() -> sa.ForeignKey:
    return sa.ForeignKey("members.id", ondelete="CASCADE")


groups = sa.Table(
    "groups", metadata,
    _text("id", primary_key=True),
    _text("name"),
    _text("language"),
    _text("method_id"),
    _text("invite_hash", nullable=True, unique=True),  # the group's invite link; NULL: none
    _int("one_off", default=0),  # 1: a room made on its own (POST /api/rooms), one meeting
    _int("content_retention_days", default=30),
    _int("record_retention_days", default=730),
    _real("created_at"),
)
# No foreign key to facilitators: a removed facilitator's groups keep their members and record.
group_facilitators = sa.Table(
    "group_facilitators", metadata,
    sa.Column("group_id", sa.Text, _group_fk(), primary_key=True),
    _text("facilitator_id", primary_key=True),
)
members = sa.Table(
    "members", metadata,
    _text("id", primary_key=True),
    sa.Column("group_id", sa.Text, _group_fk(), nullable=False),
    _text("name"),
    _text("token_hash", nullable=True, unique=True),  # personal link /g/<group>/m/<token>; NULL: revoked
    _text("role", server_default=sa.text("'deelnemer'")),  # 'begeleider' for a facilitator's own row
    _text("facilitator_id", nullable=True),
    _real("created_at"),
)
sa.Index("members_group_lower_name", members.c.group_id, sa.func.lower(members.c.name), unique=True)
meetings = sa.Table(
    "meetings", metadata,
    _text("id", primary_key=True),
    sa.Column("group_id", sa.Text, _group_fk(), nullable=False),
    _int("number"),
    _text("method_id"),
    _real("created_at"),
    _real("started_at", nullable=True),
    _real("ended_at", nullable=True),
)
sa.Index("meetings_group", meetings.c.group_id, meetings.c.number)
meeting_rooms = sa.Table(
    "meeting_rooms", metadata,
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    sa.Column("meeting_id", sa.Text, _meeting_fk(), nullable=False),
    _int("case_no"),
    # 1/0: this room runs its method's follow-up step or not, decided once (companion/followup.py); NULL: not yet
    _int("followup", nullable=True),
)
sa.Index("meeting_rooms_meeting", meeting_rooms.c.meeting_id, meeting_rooms.c.case_no)
# Who was in a meeting when (Unix seconds); left_at NULL: still there, or the process died (count to ended_at).
attendance = sa.Table(
    "attendance", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meeting_id", sa.Text, _meeting_fk(), nullable=False),
    sa.Column("member_id", sa.Text, _member_fk(), nullable=False),
    _real("joined_at"),
    _real("left_at", nullable=True),
    sqlite_autoincrement=True,
)
sa.Index("attendance_meeting_member", attendance.c.meeting_id, attendance.c.member_id)
# A member's role in a meeting: the highest of begeleider, inbrenger, deelnemer (no case content).
meeting_members = sa.Table(
    "meeting_members", metadata,
    sa.Column("meeting_id", sa.Text, _meeting_fk(), primary_key=True),
    sa.Column("member_id", sa.Text, _member_fk(), primary_key=True),
    _text("role"),
)
# What an inbrenger did with each advice of an earlier case: 'tried', 'helped', 'not_yet' or 'dropped'.
followups = sa.Table(
    "followups", metadata,
    sa.Column("member_id", sa.Text, _member_fk(), primary_key=True),
    sa.Column("room_id", sa.Text, _room_fk(), primary_key=True),
    _text("item_id", primary_key=True),
    _text("status"),
    _real("updated_at"),
)
followup_updates = sa.Table(
    "followup_updates", metadata,
    sa.Column("meeting_id", sa.Text, _meeting_fk(), primary_key=True),
    sa.Column("member_id", sa.Text, _member_fk(), primary_key=True),
    _text("text"),
    _int("shared", default=0),
    _real("updated_at"),
)

def room_tables() -> list[str]:
    """Every table that holds a room's data (a ``room_id`` column), children before parents: the order
    a room's rows can be deleted in without breaking a foreign key."""
    return [t.name for t in reversed(metadata.sorted_tables) if "room_id" in t.c]
