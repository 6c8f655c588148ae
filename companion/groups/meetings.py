"""Meetings of a group: each a sequence of case rooms, with who was there when and in what role.

A case room is one of the engine's rooms (companion/room.py): its own steps, timer, gates, inbrenger,
question, votes, advice list and take-aways.  A meeting strings them together (``meeting_rooms``, case 1,
2, ...); the next case room is made by the engine's ``case.next`` (companion/engine.py) with
:func:`carry_over` here.  Every participant is a member (``participants.member_id``): the same person
has one participant row per case room and one member row in the group.

Presence at meeting level: ``attendance`` holds intervals per member (Unix seconds): opened when the
member's first page of the meeting connects (:func:`arrive`), closed when their last one is gone
(:func:`leave`).  Moving to the next case room or reloading a page within ``REJOIN_SECONDS`` continues
the interval instead of starting a new one.  ``meeting_members`` holds each member's role in the meeting,
the highest of begeleider, inbrenger, deelnemer (:func:`refresh_roles`).  Neither holds case content.

Ids of a one-off room (``POST /api/rooms``): group id = meeting id = the first room's id; member id = the
participant id of the first room the member was made for.

All functions take a connection and write inside the caller's transaction unless they say otherwise.
"""

from __future__ import annotations

from typing import Any

from .. import tokens
from ..db import Connection, Row
from ..errors import conflict
from . import store

BEGELEIDER, INBRENGER, DEELNEMER = "begeleider", "inbrenger", "deelnemer"
# A member whose last page closed this many seconds before one of theirs connects again (a reload, the
# move to the next case room, a dropped connection) was there all along: their interval continues.
REJOIN_SECONDS = 30.0


# ------------------------------------------------------------- what others read
def meeting_of_room(conn: Connection, room_id: str) -> Row | None:
    """The meeting a case room belongs to: the ``meetings`` row with ``case_no`` (1, 2, ...), or None."""
    return conn.execute(
        """SELECT m.*, mr.case_no FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id
           WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()


def case_rooms(conn: Connection, meeting_id: str) -> list[Row]:
    """The meeting's case rooms in order: [(room_id, case_no)]."""
    return conn.execute(
        "SELECT room_id, case_no FROM meeting_rooms WHERE meeting_id = ? ORDER BY case_no", (meeting_id,)
    ).fetchall()


def previous_meeting(conn: Connection, meeting_id: str) -> Row | None:
    """The group's meeting before this one (by number), or None for its first."""
    return conn.execute(
        """SELECT p.* FROM meetings m JOIN meetings p ON p.group_id = m.group_id AND p.number < m.number
           WHERE m.id = ? ORDER BY p.number DESC LIMIT 1""",
        (meeting_id,),
    ).fetchone()


def member_of(conn: Connection, room_id: str, participant_id: str) -> str | None:
    """The member a participant of a room is, or None."""
    row = conn.execute(
        "SELECT member_id FROM participants WHERE id = ? AND room_id = ?", (participant_id, room_id)
    ).fetchone()
    return row["member_id"] if row else None


def inbrengers(conn: Connection, meeting_id: str) -> list[tuple[str, str]]:
    """Who was inbrenger of which case room of the meeting: [(member_id, room_id)] in case order."""
    rows = conn.execute(
        """SELECT p.member_id, r.id FROM meeting_rooms mr JOIN rooms r ON r.id = mr.room_id
           JOIN participants p ON p.id = r.inbrenger_id
           WHERE mr.meeting_id = ? AND p.member_id IS NOT NULL ORDER BY mr.case_no""",
        (meeting_id,),
    )
    return [(row[0], row[1]) for row in rows]


def next_room(conn: Connection, room_id: str) -> str | None:
    """The case room that follows this one in its meeting, or None."""
    row = conn.execute(
        """SELECT n.room_id FROM meeting_rooms mr JOIN meeting_rooms n
               ON n.meeting_id = mr.meeting_id AND n.case_no = mr.case_no + 1
           WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()
    return row[0] if row else None


def latest_room(conn: Connection, room_id: str) -> str:
    """The last case room of the meeting this room belongs to (the room itself when it is the last, or
    belongs to no meeting)."""
    row = conn.execute(
        """SELECT l.room_id FROM meeting_rooms mr JOIN meeting_rooms l ON l.meeting_id = mr.meeting_id
           WHERE mr.room_id = ? ORDER BY l.case_no DESC LIMIT 1""",
        (room_id,),
    ).fetchone()
    return row[0] if row else room_id


def same_meeting(conn: Connection, room_a: str, room_b: str) -> bool:
    row = conn.execute(
        """SELECT 1 FROM meeting_rooms a JOIN meeting_rooms b ON a.meeting_id = b.meeting_id
           WHERE a.room_id = ? AND b.room_id = ?""",
        (room_a, room_b),
    ).fetchone()
    return row is not None


def meetings_of(conn: Connection, group_id: str) -> list[Row]:
    """The group's meetings, newest first, each with ``cases`` (how many case rooms it still has)."""
    return conn.execute(
        """SELECT m.*, (SELECT COUNT(*) FROM meeting_rooms mr WHERE mr.meeting_id = m.id) AS cases
           FROM meetings m WHERE m.group_id = ? ORDER BY m.number DESC""",
        (group_id,),
    ).fetchall()


def open_room(conn: Connection, group_id: str) -> str | None:
    """The case room a member of the group goes to now: the last case room of the group's newest
    meeting, while that room has not ended. None when no meeting is open."""
    row = conn.execute(
        """SELECT r.id, r.status FROM meetings m JOIN meeting_rooms mr ON mr.meeting_id = m.id
           JOIN rooms r ON r.id = mr.room_id
           WHERE m.group_id = ? ORDER BY m.number DESC, mr.case_no DESC LIMIT 1""",
        (group_id,),
    ).fetchone()
    return row["id"] if row is not None and row["status"] != "ended" else None


def group_of_room(conn: Connection, room_id: str) -> Row | None:
    """The ``groups`` row of the group a room's meeting belongs to, or None."""
    return conn.execute(
        """SELECT g.* FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id JOIN groups g ON g.id = m.group_id
           WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()


def participant_of_member(conn: Connection, room_id: str, member_id: str) -> Row | None:
    """The member's participant row in a room (the newest, should there be several), or None."""
    return conn.execute(
        "SELECT * FROM participants WHERE room_id = ? AND member_id = ? ORDER BY joined_at DESC LIMIT 1",
        (room_id, member_id),
    ).fetchone()


# ------------------------------------------------------------- making rooms part of meetings
def make_one_off(conn: Connection, room_id: str, *, name: str, language: str, method_id: str,
                 facilitator_pid: str, facilitator_name: str, owner_id: str | None, retention_days: int,
                 now: float) -> None:
    """A room made on its own (``POST /api/rooms``) becomes a one-off group with one meeting; its
    facilitator participant becomes the group's first member (ids: see the module's docstring)."""
    conn.execute(
        """INSERT INTO groups (id, name, language, method_id, invite_hash, one_off, content_retention_days,
                               record_retention_days, created_at) VALUES (?, ?, ?, ?, NULL, 1, ?, ?, ?)""",
        (room_id, name, language, method_id, retention_days, store.DEFAULT_RECORD_DAYS, now),
    )
    if owner_id is not None:
        conn.execute("INSERT INTO group_facilitators (group_id, facilitator_id) VALUES (?, ?)", (room_id, owner_id))
    conn.execute(
        "INSERT INTO meetings (id, group_id, number, method_id, created_at) VALUES (?, ?, 1, ?, ?)",
        (room_id, room_id, method_id, now),
    )
    conn.execute("INSERT INTO meeting_rooms (room_id, meeting_id, case_no) VALUES (?, ?, 1)", (room_id, room_id))
    conn.execute(
        """INSERT INTO members (id, group_id, name, token_hash, role, facilitator_id, created_at)
           VALUES (?, ?, ?, NULL, ?, ?, ?)""",
        (facilitator_pid, room_id, facilitator_name, BEGELEIDER, owner_id, now),
    )
    conn.execute("UPDATE participants SET member_id = ? WHERE id = ?", (facilitator_pid, facilitator_pid))


def new_meeting(conn: Connection, group_id: str, method_id: str, now: float) -> tuple[str, int]:
    """A new meeting of a group (numbered after the last); returns (meeting id, number)."""
    last = conn.execute("SELECT MAX(number) FROM meetings WHERE group_id = ?", (group_id,)).fetchone()[0]
    number = (last or 0) + 1
    meeting_id = tokens.new_id()
    conn.execute(
        "INSERT INTO meetings (id, group_id, number, method_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (meeting_id, group_id, number, method_id, now),
    )
    return meeting_id, number


def add_case_room(conn: Connection, meeting_id: str, room_id: str) -> int:
    """The room becomes the meeting's next case (its number returned); the meeting is open again."""
    last = conn.execute("SELECT MAX(case_no) FROM meeting_rooms WHERE meeting_id = ?", (meeting_id,)).fetchone()[0]
    case_no = (last or 0) + 1
    conn.execute(
        "INSERT INTO meeting_rooms (room_id, meeting_id, case_no) VALUES (?, ?, ?)", (room_id, meeting_id, case_no)
    )
    conn.execute("UPDATE meetings SET ended_at = NULL WHERE id = ?", (meeting_id,))
    return case_no


def attach_member(conn: Connection, room_id: str, participant_id: str, name: str, now: float) -> str | None:
    """A person who came in by a room's invite: their member row (made now) and ``member_id`` set.

    In a one-off group the member gets the participant's id; in a lasting group they become a member
    without a personal link (a guest the facilitator may give one later). ClientError 409 when their name
    is a member's of the group already (that member uses their own link). None for a room of no meeting."""
    group = group_of_room(conn, room_id)
    if group is None:
        return None
    member_id = store.insert_member(
        conn, group["id"], name, now, member_id=participant_id if group["one_off"] else None
    )
    conn.execute("UPDATE participants SET member_id = ? WHERE id = ?", (member_id, participant_id))
    return member_id


def carry_over(conn: Connection, old_room_id: str, new_room_id: str, people: list[tuple[str, str, str, str | None]],
               treated_case: str | None, now: float) -> dict[str, str]:
    """Everyone of the ended case room into the next one (its ``rooms`` row made already).

    ``people``: (participant id, name, role, member id) of everyone not removed. Each gets a new
    participant row (same member, same role: the facilitator stays facilitator, everyone else deelnemer)
    and takes their personal token along (the old row gets a random one), so their link opens the
    next case; each browser that was them in the old room is them in the new one. The questions of the
    case round that were not treated (all but ``treated_case``) are copied with their authors, to vote
    on again. Returns {old participant id: new participant id}."""
    mapping: dict[str, str] = {}
    group = group_of_room(conn, old_room_id)
    for pid, name, role, member_id in people:
        new_pid = tokens.new_id()
        if member_id is None and group is not None:
            member_id = store.insert_member(conn, group["id"], name, now, member_id=pid if group["one_off"] else None)
            conn.execute("UPDATE participants SET member_id = ? WHERE id = ?", (member_id, pid))
        row = conn.execute("SELECT token_hash, joined_at FROM participants WHERE id = ?", (pid,)).fetchone()
        conn.execute(
            "UPDATE participants SET token_hash = ? WHERE id = ?", (tokens.token_hash(tokens.new_token()), pid)
        )
        conn.execute(
            """INSERT INTO participants (id, room_id, name, role, token_hash, joined_at, member_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (new_pid, new_room_id, name, role, row["token_hash"], row["joined_at"], member_id),
        )
        conn.execute(
            """INSERT INTO browser_rooms (session_hash, room_id, participant_id, created_at)
               SELECT session_hash, ?, ?, ? FROM browser_rooms WHERE room_id = ? AND participant_id = ?""",
            (new_room_id, new_pid, now, old_room_id, pid),
        )
        mapping[pid] = new_pid
    for case in conn.execute(
        "SELECT id, participant_id, title, question, created_at FROM cases WHERE room_id = ? ORDER BY created_at",
        (old_room_id,),
    ).fetchall():
        if case["id"] == treated_case or case["participant_id"] not in mapping:
            continue
        conn.execute(
            "INSERT INTO cases (id, room_id, participant_id, title, question, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (tokens.new_id(), new_room_id, mapping[case["participant_id"]], case["title"], case["question"],
             case["created_at"]),
        )
    return mapping


def case_started(conn: Connection, room_id: str, now: float) -> None:
    """A case room's session started: the meeting started then, if it had not yet."""
    conn.execute(
        """UPDATE meetings SET started_at = ? WHERE started_at IS NULL
               AND id = (SELECT meeting_id FROM meeting_rooms WHERE room_id = ?)""",
        (now, room_id),
    )


def case_ended(conn: Connection, room_id: str, now: float) -> None:
    """A case room's session ended: when it is the meeting's last case, the meeting ended (a next case
    opens it again)."""
    if next_room(conn, room_id) is None:
        conn.execute(
            "UPDATE meetings SET ended_at = ? WHERE id = (SELECT meeting_id FROM meeting_rooms WHERE room_id = ?)",
            (now, room_id),
        )


# ------------------------------------------------------------- presence and roles
def arrive(conn: Connection, room_id: str, participant_id: str, now: float) -> str | None:
    """The participant's first page connected: the member is at the meeting from ``now`` (their interval
    goes on if they left less than REJOIN_SECONDS ago). Returns the member id, or None (no meeting)."""
    found = conn.execute(
        """SELECT p.member_id, mr.meeting_id FROM participants p JOIN meeting_rooms mr ON mr.room_id = p.room_id
           WHERE p.id = ? AND p.room_id = ?""",
        (participant_id, room_id),
    ).fetchone()
    if found is None or found["member_id"] is None:
        return None
    member_id, meeting_id = found["member_id"], found["meeting_id"]
    last = conn.execute(
        "SELECT id, left_at FROM attendance WHERE meeting_id = ? AND member_id = ? ORDER BY joined_at DESC, id DESC LIMIT 1",
        (meeting_id, member_id),
    ).fetchone()
    if last is not None and (last["left_at"] is None or now - last["left_at"] <= REJOIN_SECONDS):
        if last["left_at"] is not None:
            conn.execute("UPDATE attendance SET left_at = NULL WHERE id = ?", (last["id"],))
    else:
        conn.execute(
            "INSERT INTO attendance (meeting_id, member_id, joined_at, left_at) VALUES (?, ?, ?, NULL)",
            (meeting_id, member_id, now),
        )
    refresh_roles(conn, meeting_id, [member_id])
    return member_id


def leave(conn: Connection, room_id: str, participant_id: str, now: float) -> None:
    """The participant's last page is gone: the member's open interval in the meeting ends ``now``."""
    found = conn.execute(
        """SELECT p.member_id, mr.meeting_id FROM participants p JOIN meeting_rooms mr ON mr.room_id = p.room_id
           WHERE p.id = ? AND p.room_id = ?""",
        (participant_id, room_id),
    ).fetchone()
    if found is None or found["member_id"] is None:
        return
    conn.execute(
        "UPDATE attendance SET left_at = ? WHERE meeting_id = ? AND member_id = ? AND left_at IS NULL",
        (now, found["meeting_id"], found["member_id"]),
    )


def refresh_roles(conn: Connection, meeting_id: str, member_ids: list[str] | None = None) -> None:
    """Write each member's role in the meeting, the highest of: begeleider (facilitator in one of its
    case rooms), inbrenger (inbrenger of one of its cases), deelnemer. For ``member_ids`` (added when
    missing), the members the meeting lists already, and its inbrengers."""
    wanted = set(member_ids or ())
    wanted |= {row[0] for row in conn.execute("SELECT member_id FROM meeting_members WHERE meeting_id = ?", (meeting_id,))}
    wanted |= {member_id for member_id, _ in inbrengers(conn, meeting_id)}
    leading = {
        row[0]
        for row in conn.execute(
            """SELECT DISTINCT p.member_id FROM participants p JOIN meeting_rooms mr ON mr.room_id = p.room_id
               WHERE mr.meeting_id = ? AND p.role = 'facilitator' AND p.member_id IS NOT NULL""",
            (meeting_id,),
        )
    }
    bringing = {member_id for member_id, _ in inbrengers(conn, meeting_id)}
    for member_id in sorted(wanted):
        role = BEGELEIDER if member_id in leading else INBRENGER if member_id in bringing else DEELNEMER
        conn.execute(
            """INSERT INTO meeting_members (meeting_id, member_id, role) VALUES (?, ?, ?)
               ON CONFLICT (meeting_id, member_id) DO UPDATE SET role = excluded.role""",
            (meeting_id, member_id, role),
        )


def refresh_roles_of_room(conn: Connection, room_id: str) -> None:
    """:func:`refresh_roles` for the meeting of a case room (its inbrenger changed)."""
    meeting = conn.execute("SELECT meeting_id FROM meeting_rooms WHERE room_id = ?", (room_id,)).fetchone()
    if meeting is not None:
        refresh_roles(conn, meeting[0])


def require_meeting(conn: Connection, room_id: str) -> Row:
    meeting = meeting_of_room(conn, room_id)
    if meeting is None:
        raise conflict("Deze kamer hoort bij geen bijeenkomst.", "no_meeting")
    return meeting


def summary(conn: Connection, room_id: str) -> dict[str, Any] | None:
    """What a room's state says of its meeting: {id, group_id, group, one_off, number, case_no, cases,
    next_room}, or None for a room of no meeting."""
    row = conn.execute(
        """SELECT m.id, m.group_id, m.number, mr.case_no, g.name, g.one_off,
                  (SELECT COUNT(*) FROM meeting_rooms c WHERE c.meeting_id = m.id) AS cases,
                  (SELECT n.room_id FROM meeting_rooms n WHERE n.meeting_id = m.id AND n.case_no = mr.case_no + 1)
                      AS next_room
           FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id JOIN groups g ON g.id = m.group_id
           WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()
    if row is None:
        return None
    return {
        "id": row["id"], "group_id": row["group_id"], "group": row["name"], "one_off": bool(row["one_off"]),
        "number": row["number"], "case_no": row["case_no"], "cases": row["cases"], "next_room": row["next_room"],
    }


def earlier_lists(conn: Connection, room_id: str, participant_id: str, facilitator: bool) -> list[dict[str, Any]]:
    """The advice lists of the meeting's earlier cases this participant may still open from a later case
    room: their own as inbrenger (the same member), every one for a facilitator. [{room_id, case_no,
    inbrenger}] in case order; the lists themselves stay in their own rooms."""
    rows = conn.execute(
        """SELECT e.room_id, e.case_no, p.name, p.member_id FROM meeting_rooms mr
           JOIN meeting_rooms e ON e.meeting_id = mr.meeting_id AND e.case_no < mr.case_no
           JOIN rooms r ON r.id = e.room_id JOIN participants p ON p.id = r.inbrenger_id
           WHERE mr.room_id = ? ORDER BY e.case_no""",
        (room_id,),
    ).fetchall()
    if not rows:
        return []
    mine = member_of(conn, room_id, participant_id)
    return [
        {"room_id": row["room_id"], "case_no": row["case_no"], "inbrenger": row["name"]}
        for row in rows if facilitator or (mine is not None and row["member_id"] == mine)
    ]

