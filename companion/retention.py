"""Deleting data for real: a session's rows, a group meeting's case content, its record, a member.

What is kept how long (the README's data section says the same for the operator):
- a one-off room (POST /api/rooms) and everything of it: ``rooms.retention_days`` after it ends; its
  one-off group, meeting and members go with its last room (nobody has a link to reach that record);
- a group's meeting: its case content (the case rooms with every row that names them, and the
  follow-up updates written in it) ``groups.content_retention_days`` after the meeting ended;
- the record of hours (meetings, meeting_members, attendance: no content) ``groups.record_retention_days``
  after the meeting;
- a group with no meeting left in its record (it has not met for ``record_retention_days``): the group with
  its members' names and links;
- a member deleted by the facilitator or by themselves: their content and their record at once.
"""

from __future__ import annotations

import time

from .db import Connection, Transaction, dialect

DAY = 86400.0
ABANDONED_DAYS = 30
# A room nobody started: made and forgotten (or made in bulk); gone after this.
UNSTARTED_DAYS = 1


def delete_room(conn: Connection, room_id: str) -> None:
    with Transaction(conn):
        _delete_room_rows(conn, room_id)
    wipe_deleted(conn)


def _delete_room_rows(conn: Connection, room_id: str) -> None:
    """Inside a transaction: every row naming the room; a one-off group left without rooms goes too, and a
    group's meeting that never started and has no case room left."""
    from .schema import room_tables  # SQLAlchemy's import is kept off the operator commands' start

    if dialect(conn) == "sqlite":
        # Tables from before the migrations may point at participants without ON DELETE CASCADE.
        conn.execute("PRAGMA defer_foreign_keys = ON")
    meeting = conn.execute(
        """SELECT m.id, m.group_id, m.started_at, g.one_off, r.status FROM meeting_rooms mr
           JOIN meetings m ON m.id = mr.meeting_id JOIN groups g ON g.id = m.group_id JOIN rooms r ON r.id = mr.room_id
           WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()
    # Every table that holds room data carries a room_id column (schema.room_tables finds them all,
    # so a new table can never be forgotten here), children before parents.
    for table in room_tables():
        conn.execute(f'DELETE FROM "{table}" WHERE room_id = ?', (room_id,))
    conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
    conn.execute("DELETE FROM method_sources WHERE hash NOT IN (SELECT method_hash FROM room_methods)")
    if meeting is None:
        return
    rooms_left = """SELECT 1 FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id WHERE {} LIMIT 1"""
    if meeting["one_off"]:
        if conn.execute(rooms_left.format("m.group_id = ?"), (meeting["group_id"],)).fetchone() is None:
            conn.execute("DELETE FROM groups WHERE id = ?", (meeting["group_id"],))
    elif meeting["started_at"] is None and conn.execute(rooms_left.format("m.id = ?"), (meeting["id"],)).fetchone() is None:
        conn.execute("DELETE FROM meetings WHERE id = ?", (meeting["id"],))
    elif meeting["status"] == "waiting":
        # A next case opened (the meeting's end cleared) and never started: with that room gone the meeting
        # ended when its last case that ran did, so that it counts in the record of hours.
        conn.execute(
            """UPDATE meetings SET ended_at = (SELECT MAX(r.ended_at) FROM meeting_rooms mr JOIN rooms r ON r.id = mr.room_id
                                              WHERE mr.meeting_id = meetings.id)
               WHERE id = ? AND ended_at IS NULL AND started_at IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM meeting_rooms mr JOIN rooms r ON r.id = mr.room_id
                                 WHERE mr.meeting_id = meetings.id AND r.status != 'ended')""",
            (meeting["id"],),
        )
    elif meeting["status"] == "running":
        # A case nobody ended (the facilitator closed the laptop): the meeting ended when the last member left it.
        conn.execute(
            """UPDATE meetings SET ended_at = (SELECT MAX(a.left_at) FROM attendance a WHERE a.meeting_id = meetings.id)
               WHERE id = ? AND ended_at IS NULL AND started_at IS NOT NULL""",
            (meeting["id"],),
        )


def wipe_deleted(conn: Connection) -> None:
    """After a deletion: on SQLite, copy the WAL into the database and empty it.

    secure_delete overwrites the freed pages in the database file, but the
    write-ahead log still holds the old page images until a checkpoint; TRUNCATE
    leaves it at zero bytes, so the deleted words are in no file any more.
    PostgreSQL has no such switch: its deleted rows are in no query at once, and their bytes stay in
    the table and WAL files until VACUUM and the WAL's recycling reuse them (its operator keeps the
    database's disk encrypted, as the README says)."""
    if dialect(conn) == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# A room that is a case of a group's meeting (not of a one-off room): its content goes with the meeting's.
_IN_GROUP_MEETING = """EXISTS (SELECT 1 FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id
                               JOIN groups g ON g.id = m.group_id WHERE mr.room_id = rooms.id AND g.one_off = 0)"""


def purge_expired(conn: Connection, now: float | None = None) -> list[str]:
    """Delete what is past its retention: rooms (one-off rooms by their own figure, a group's case rooms
    with their meeting's content), follow-up updates, and records past the group's record retention.
    Returns the ids of the rooms deleted (the server forgets them)."""
    now = time.time() if now is None else now
    expired = [
        row["id"]
        for row in conn.execute(
            f"""SELECT id FROM rooms
               WHERE (status = 'ended' AND ended_at IS NOT NULL AND ended_at + retention_days * ? < ?
                      AND NOT {_IN_GROUP_MEETING})
                  -- a session nobody ended: kept until ABANDONED_DAYS past its retention
                  OR (status != 'ended' AND created_at + (retention_days + ?) * ? < ? AND NOT {_IN_GROUP_MEETING})
                  OR (status = 'waiting' AND created_at + ? * ? < ?)""",
            (DAY, now, ABANDONED_DAYS, DAY, now, UNSTARTED_DAYS, DAY, now),
        )
    ]
    for room_id in expired:
        delete_room(conn, room_id)
    for meeting_id in _content_expired(conn, now):
        expired += delete_meeting_content(conn, meeting_id)
    for meeting_id in _record_expired(conn, now):
        expired += delete_meeting(conn, meeting_id)
    _drop_idle_groups(conn, now)
    return expired


def _drop_idle_groups(conn: Connection, now: float) -> None:
    """A group with no meeting left in its record, made longer than its record retention ago: it has not met
    for that long, so its members' names and links go too."""
    cur = conn.execute(
        """DELETE FROM groups WHERE one_off = 0 AND created_at + record_retention_days * ? < ?
               AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.group_id = groups.id)""",
        (DAY, now),
    )
    if cur.rowcount:
        wipe_deleted(conn)


def _content_expired(conn: Connection, now: float) -> list[str]:
    """Group meetings whose case content is past the group's content retention (and still there)."""
    return [
        row["id"]
        for row in conn.execute(
            """SELECT m.id FROM meetings m JOIN groups g ON g.id = m.group_id
               WHERE g.one_off = 0
                 AND ((m.ended_at IS NOT NULL AND m.ended_at + g.content_retention_days * ? < ?)
                      -- a meeting nobody ended: kept until ABANDONED_DAYS past the content retention
                      OR (m.ended_at IS NULL AND m.created_at + (g.content_retention_days + ?) * ? < ?))
                 AND (EXISTS (SELECT 1 FROM meeting_rooms mr WHERE mr.meeting_id = m.id)
                      OR EXISTS (SELECT 1 FROM followup_updates u WHERE u.meeting_id = m.id))""",
            (DAY, now, ABANDONED_DAYS, DAY, now),
        )
    ]


def _record_expired(conn: Connection, now: float) -> list[str]:
    return [
        row["id"]
        for row in conn.execute(
            """SELECT m.id FROM meetings m JOIN groups g ON g.id = m.group_id
               WHERE g.one_off = 0
                 AND COALESCE(m.ended_at, m.started_at, m.created_at) + g.record_retention_days * ? < ?""",
            (DAY, now),
        )
    ]


def delete_meeting_content(conn: Connection, meeting_id: str) -> list[str]:
    """A meeting's case content, for real: its case rooms with every row naming them, and the follow-up
    updates written in it. The record (the meeting, who was there in what role, attendance) stays.
    Returns the ids of the rooms deleted."""
    with Transaction(conn):
        rooms = [r["room_id"] for r in conn.execute(
            "SELECT room_id FROM meeting_rooms WHERE meeting_id = ? ORDER BY case_no", (meeting_id,))]
        conn.execute("DELETE FROM followup_updates WHERE meeting_id = ?", (meeting_id,))
        for room_id in rooms:
            _delete_room_rows(conn, room_id)
    wipe_deleted(conn)
    return rooms


def delete_meeting(conn: Connection, meeting_id: str) -> list[str]:
    """A meeting with its content and its record; returns the ids of the rooms deleted."""
    with Transaction(conn):
        rooms = [r["room_id"] for r in conn.execute(
            "SELECT room_id FROM meeting_rooms WHERE meeting_id = ?", (meeting_id,))]
        for room_id in rooms:
            _delete_room_rows(conn, room_id)
        # meeting_members, attendance, followup_updates and meeting_rooms go with it (ON DELETE CASCADE).
        conn.execute("DELETE FROM followup_updates WHERE meeting_id = ?", (meeting_id,))
        conn.execute("DELETE FROM attendance WHERE meeting_id = ?", (meeting_id,))
        conn.execute("DELETE FROM meeting_members WHERE meeting_id = ?", (meeting_id,))
        conn.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))
    wipe_deleted(conn)
    return rooms


class MeetingOpen(Exception):
    """The member is in a case room that has not ended: their rows are in use by the room."""


# Who said what in a room names the participant without a foreign key: cleared or deleted by hand.
_SPOKEN = ("utterances", "set_aside")
_SPEAKER = ("advice_items", "advice_utterances", "advice_edits")
# The inbrenger's list of a case room and what it was made from.
_LIST_TABLES = ("advice_edits", "advice_notes", "advice_marks", "advice_utterances", "advice_item_languages",
                "advice_items", "set_aside", "utterance_pieces", "utterances", "followups")


def delete_member(conn: Connection, member_id: str) -> list[str]:
    """A member and everything that is theirs, for real: their questions, the advice lists of the cases
    they brought in (with the transcript they were made from, and the question on the room), their
    take-aways, votes, follow-up statuses and updates, what they said in the other cases (the advice
    they gave stays on the other inbrengers' lists, without their name), their participant rows, and
    their record (meeting_members, attendance).

    Returns the ids of the rooms that changed. Raises MeetingOpen while they are in a room that has not
    ended (end the meeting first)."""
    with Transaction(conn):
        if dialect(conn) == "sqlite":
            conn.execute("PRAGMA defer_foreign_keys = ON")
        pids = [r["id"] for r in conn.execute("SELECT id FROM participants WHERE member_id = ?", (member_id,))]
        marks = ",".join("?" for _ in pids) or "NULL"
        rooms = sorted({r["room_id"] for r in conn.execute(
            f"SELECT room_id FROM participants WHERE id IN ({marks})", tuple(pids))})
        if conn.execute(
            f"SELECT 1 FROM rooms WHERE id IN (SELECT room_id FROM participants WHERE id IN ({marks})) AND status != 'ended'",
            tuple(pids),
        ).fetchone():
            raise MeetingOpen(member_id)
        own = [r["id"] for r in conn.execute(f"SELECT id FROM rooms WHERE inbrenger_id IN ({marks})", tuple(pids))]
        for room_id in own:
            for table in _LIST_TABLES:
                conn.execute(f'DELETE FROM "{table}" WHERE room_id = ?', (room_id,))
            conn.execute(
                """UPDATE rooms SET inbrenger_id = NULL, case_id = NULL, question_original = NULL,
                       question_reformulated = NULL WHERE id = ?""", (room_id,))
        if pids:
            p = tuple(pids)
            for table in _SPOKEN:
                conn.execute(f'DELETE FROM "{table}" WHERE participant_id IN ({marks})', p)
            for table in _SPEAKER:
                conn.execute(f'UPDATE "{table}" SET participant_id = NULL WHERE participant_id IN ({marks})', p)
            conn.execute(f"DELETE FROM advice_notes WHERE participant_id IN ({marks})", p)
            conn.execute(f"DELETE FROM advice_marks WHERE inbrenger_id IN ({marks})", p)
            conn.execute(
                f"DELETE FROM votes WHERE voter_id IN ({marks}) OR case_id IN (SELECT id FROM cases WHERE participant_id IN ({marks}))",
                p + p)
            conn.execute(f"UPDATE rooms SET case_id = NULL WHERE case_id IN (SELECT id FROM cases WHERE participant_id IN ({marks}))", p)
            for table in ("cases", "takeaways", "removed_participants", "browser_rooms", "participant_signals"):
                conn.execute(f'DELETE FROM "{table}" WHERE participant_id IN ({marks})', p)
            conn.execute(f"DELETE FROM participants WHERE id IN ({marks})", p)
        for table in ("followups", "followup_updates", "attendance", "meeting_members"):
            conn.execute(f'DELETE FROM "{table}" WHERE member_id = ?', (member_id,))
        conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
    wipe_deleted(conn)
    return rooms
