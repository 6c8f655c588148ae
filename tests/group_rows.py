"""Rows of groups, members, meetings and attendance written straight into the database, for the tests of the
record of hours, the member's history and retention (tests/test_hours.py, test_member_history.py,
test_group_retention.py): the exact minutes and days these tests need, without waiting for a clock."""

from __future__ import annotations

import time

from companion.shipped import PROMPTS

T0 = 1_780_000_000.0  # a fixed moment (June 2026), so dates in the record are known
MIN = 60.0


def method_source(method_id: str = "roddelmodel") -> str:
    return (PROMPTS / "methods" / f"{method_id}.toml").read_text(encoding="utf-8")


def add_group(conn, gid: str, name: str = "Intervisie Noord", *, one_off: int = 0, content_days: int = 30,
              record_days: int = 730, facilitator_id: str | None = None) -> None:
    conn.execute(
        """INSERT INTO groups (id, name, language, method_id, invite_hash, one_off, content_retention_days,
                               record_retention_days, created_at) VALUES (?, ?, 'nl', 'roddelmodel', NULL, ?, ?, ?, ?)""",
        (gid, name, one_off, content_days, record_days, T0),
    )
    if facilitator_id is not None:
        conn.execute("INSERT INTO group_facilitators (group_id, facilitator_id) VALUES (?, ?)", (gid, facilitator_id))


def add_member(conn, gid: str, mid: str, name: str, role: str = "deelnemer", token_hash: str | None = None) -> None:
    conn.execute(
        """INSERT INTO members (id, group_id, name, token_hash, role, facilitator_id, created_at)
           VALUES (?, ?, ?, ?, ?, NULL, ?)""",
        (mid, gid, name, token_hash, role, T0),
    )


def add_meeting(conn, gid: str, meeting_id: str, number: int, started_at: float | None, ended_at: float | None,
                method_id: str = "roddelmodel") -> None:
    conn.execute(
        """INSERT INTO meetings (id, group_id, number, method_id, created_at, started_at, ended_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (meeting_id, gid, number, method_id, (started_at or T0) - 5 * MIN, started_at, ended_at),
    )


def add_case_room(conn, meeting_id: str, room_id: str, case_no: int, people: dict[str, str],
                  inbrenger: str | None = None, ended_at: float | None = None, status: str = "ended",
                  created_at: float | None = None, name: str = "Intervisie Noord") -> dict[str, str]:
    """A case room of the meeting with a participant per member ({member_id: name}); returns
    {member_id: participant_id}. ``inbrenger``: the member who brought the case in."""
    created = created_at if created_at is not None else (ended_at or T0) - 90 * MIN
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at,
                              status, ended_at, step_started_at)
           VALUES (?, ?, 'roddelmodel', ?, 'nl', 8, ?, ?, ?, ?, ?)""",
        (room_id, name, method_source(), f"invite-{room_id}", created, status, ended_at, created),
    )
    conn.execute("INSERT INTO meeting_rooms (room_id, meeting_id, case_no) VALUES (?, ?, ?)", (room_id, meeting_id, case_no))
    pids = {}
    for i, (mid, person) in enumerate(people.items()):
        pid = f"{room_id}-{mid}"
        conn.execute(
            """INSERT INTO participants (id, room_id, name, role, token_hash, joined_at, member_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (pid, room_id, person, "facilitator" if i == 0 else "deelnemer", f"tok-{pid}", created + i, mid),
        )
        pids[mid] = pid
    if inbrenger is not None:
        conn.execute("UPDATE rooms SET inbrenger_id = ? WHERE id = ?", (pids[inbrenger], room_id))
    return pids


def add_case(conn, room_id: str, pid: str, title: str, question: str, treated: bool = False) -> str:
    case_id = f"case-{pid}"
    conn.execute(
        "INSERT INTO cases (id, room_id, participant_id, title, question, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (case_id, room_id, pid, title, question, time.time()),
    )
    if treated:
        conn.execute("UPDATE rooms SET case_id = ?, question_original = ? WHERE id = ?", (case_id, question, room_id))
    return case_id


def add_advice(conn, room_id: str, item_id: str, speaker_pid: str | None, text: str, position: float) -> None:
    conn.execute(
        """INSERT INTO advice_items (id, room_id, participant_id, position, original_text, text, source, created_at,
                                     updated_at) VALUES (?, ?, ?, ?, ?, ?, 'speech', ?, ?)""",
        (item_id, room_id, speaker_pid, position, text, text, T0, T0),
    )


def add_mark(conn, room_id: str, item_id: str, inbrenger_pid: str, mark: str, note: str = "") -> None:
    conn.execute(
        "INSERT INTO advice_marks (room_id, item_id, inbrenger_id, mark, note, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (room_id, item_id, inbrenger_pid, mark, note, T0),
    )


def add_takeaway(conn, room_id: str, pid: str, text: str, shared: bool) -> None:
    conn.execute(
        "INSERT INTO takeaways (room_id, participant_id, text, shared, updated_at) VALUES (?, ?, ?, ?, ?)",
        (room_id, pid, text, int(shared), T0),
    )


def attend(conn, meeting_id: str, mid: str, joined_at: float, left_at: float | None) -> None:
    conn.execute(
        "INSERT INTO attendance (meeting_id, member_id, joined_at, left_at) VALUES (?, ?, ?, ?)",
        (meeting_id, mid, joined_at, left_at),
    )


def meeting_member(conn, meeting_id: str, mid: str, role: str) -> None:
    conn.execute("INSERT INTO meeting_members (meeting_id, member_id, role) VALUES (?, ?, ?)", (meeting_id, mid, role))


def count(conn, table: str, where: str = "1 = 1", params: tuple = ()) -> int:
    return conn.execute(f'SELECT COUNT(*) FROM "{table}" WHERE {where}', params).fetchone()[0]
