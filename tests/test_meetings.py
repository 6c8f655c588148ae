"""Meetings as a sequence of case rooms (companion/groups/meetings.py and the engine's ``case.next``).

The domain functions other parts rely on, on the engine and a real database; then one meeting over HTTP and
WebSocket that treats two cases in a row, the second chosen by vote from the questions left over."""

from __future__ import annotations

import aiohttp

from companion import db, hours
from companion.engine import PhaseEngine
from companion.groups import meetings
from companion.methods import SHIPPED_METHODS, load_catalog
from companion.web import ENGINE

# The SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

CATALOG = load_catalog([SHIPPED_METHODS])


def minutes_present(conn, meeting_id: str, member_id: str) -> float:
    """What the record of hours counts (companion/hours.py), unrounded."""
    meeting = conn.execute("SELECT started_at, ended_at FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
    intervals = conn.execute("SELECT joined_at, left_at FROM attendance WHERE meeting_id = ? AND member_id = ?",
                             (meeting_id, member_id)).fetchall()
    return hours.seconds_present([tuple(r) for r in intervals], meeting[0], meeting[1]) / 60


class Clock:
    """The engine's clock, moved by the test (seconds)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _engine_with_case_round(tmp_path, names=("Anne", "Bas", "Chris")):
    clock = Clock()
    conn = db.connect(tmp_path / "c.sqlite3")
    engine = PhaseEngine(conn, CATALOG, clock=clock)
    room, _, invite = engine.create_room("Team Zuid", "roddelmodel", "nl", "Fleur", owner_id="fac-1")
    fac = next(p for p in room.participants.values())
    people = [(await engine.join(invite, name, room.id))[1] for name in names]
    return engine, clock, room, fac, people, invite


async def test_a_one_off_room_is_a_group_with_one_meeting_and_the_ids_of_its_first_room(tmp_path):
    engine, clock, room, fac, people, _ = await _engine_with_case_round(tmp_path)
    conn = engine.conn
    meeting = meetings.meeting_of_room(conn, room.id)
    assert (meeting["id"], meeting["group_id"], meeting["number"], meeting["case_no"]) == (room.id, room.id, 1, 1)
    group = conn.execute("SELECT * FROM groups WHERE id = ?", (room.id,)).fetchone()
    assert group["one_off"] == 1 and group["name"] == "Team Zuid" and group["method_id"] == "roddelmodel"
    assert conn.execute("SELECT facilitator_id FROM group_facilitators WHERE group_id = ?", (room.id,)).fetchone()[0] == "fac-1"
    # Each member has the id of the participant it was made for; the facilitator's is the begeleider.
    for p in [fac, *people]:
        assert meetings.member_of(conn, room.id, p.id) == p.id
    roles = dict(conn.execute("SELECT id, role FROM members WHERE group_id = ?", (room.id,)).fetchall())
    assert roles == {fac.id: "begeleider", **{p.id: "deelnemer" for p in people}}
    assert [tuple(r) for r in meetings.case_rooms(conn, room.id)] == [(room.id, 1)]
    assert meetings.previous_meeting(conn, room.id) is None
    assert meetings.inbrengers(conn, room.id) == []
    assert meetings.member_of(conn, room.id, "nobody") is None
    conn.close()


async def test_case_next_makes_the_next_room_of_the_meeting_with_everyone_and_the_questions_left(tmp_path):
    engine, clock, room, fac, people, invite = await _engine_with_case_round(tmp_path, ("Anne", "Bas", "Chris", "Eva"))
    conn = engine.conn
    anne, bas, chris, eva = people
    await engine.command(room.id, fac.id, "session.start", {})
    assert conn.execute("SELECT started_at FROM meetings WHERE id = ?", (room.id,)).fetchone()[0] == clock.now
    for p in people:
        await engine.command(room.id, p.id, "case.submit", {"title": f"Casus {p.name}", "question": f"Vraag van {p.name}?"})
    await engine.command(room.id, fac.id, "step.next", {})
    cases = {r["participant_id"]: r["id"] for r in conn.execute("SELECT id, participant_id FROM cases WHERE room_id = ?", (room.id,))}
    for p in people:
        await engine.command(room.id, p.id, "vote.cast", {"case_id": cases[bas.id]})
    await engine.command(room.id, fac.id, "vote.close", {})
    assert engine.get(room.id).inbrenger_id == bas.id
    # Someone the facilitator took out does not come along, nor does their question.
    await engine.command(room.id, fac.id, "participant.remove", {"participant_id": eva.id})
    # Not before the case ended.
    try:
        await engine.command(room.id, fac.id, "case.next", {})
        raise AssertionError("case.next before the end")
    except Exception as exc:
        assert getattr(exc, "code", None) == "not_ended"
    await engine.command(room.id, anne.id, "takeaway.save", {"text": "Eerst luisteren.", "shared": True})
    clock.now += 90 * 60
    await engine.command(room.id, fac.id, "session.end", {})
    assert conn.execute("SELECT ended_at FROM meetings WHERE id = ?", (room.id,)).fetchone()[0] == clock.now
    # Only the facilitator starts the next case.
    try:
        await engine.command(room.id, anne.id, "case.next", {})
        raise AssertionError("a deelnemer started the next case")
    except Exception as exc:
        assert getattr(exc, "status", None) == 403
    clock.now += 60
    events = await engine.command(room.id, fac.id, "case.next", {})
    assert events == ("moved",)
    second = meetings.next_room(conn, room.id)
    assert second and second != room.id
    assert [tuple(r) for r in meetings.case_rooms(conn, room.id)] == [(room.id, 1), (second, 2)]
    assert meetings.latest_room(conn, room.id) == second and meetings.latest_room(conn, second) == second
    assert meetings.summary(conn, room.id)["next_room"] == second
    # The meeting is open again until its last case ends.
    assert conn.execute("SELECT ended_at FROM meetings WHERE id = ?", (room.id,)).fetchone()[0] is None
    new = engine.get(second)
    assert (new.name, new.method.id, new.language, new.capacity, new.status) == ("Team Zuid", "roddelmodel", "nl", 8, "waiting")
    assert new.inbrenger_id is None and new.step_index is None and not new.vote_closed
    # Same members, new participant rows, roles kept.
    by_member = {meetings.member_of(conn, second, p.id): p for p in new.participants.values()}
    assert set(by_member) == {fac.id, anne.id, bas.id, chris.id}
    assert by_member[fac.id].role == "facilitator" and by_member[bas.id].role == "deelnemer"
    assert not set(new.participants) & {fac.id, anne.id, bas.id, chris.id}
    # The treated question stays behind; the others are there to vote on again, by their authors.
    carried = conn.execute("SELECT participant_id, title FROM cases WHERE room_id = ? ORDER BY created_at", (second,)).fetchall()
    assert sorted((meetings.member_of(conn, second, r[0]), r[1]) for r in carried) == sorted(
        [(anne.id, "Casus Anne"), (chris.id, "Casus Chris")])
    # Nothing of the first case's content came along.
    assert conn.execute("SELECT COUNT(*) FROM takeaways WHERE room_id = ?", (second,)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM votes WHERE room_id = ?", (second,)).fetchone()[0] == 0
    # The invite goes along: a latecomer with it joins the case that runs now.
    assert engine.room_id_of_invite(invite) == second
    _, late, _ = await engine.join(invite, "Dewi", second)
    assert meetings.member_of(conn, second, late.id) == late.id  # one-off group: the member id is the participant's
    # Only once per case.
    try:
        await engine.command(room.id, fac.id, "case.next", {})
        raise AssertionError("two next cases")
    except Exception as exc:
        assert getattr(exc, "code", None) == "next_exists"
    # The second case: Chris's question by vote; roles of the meeting follow.
    new_fac = by_member[fac.id].id
    await engine.command(second, new_fac, "session.start", {})
    await engine.command(second, new_fac, "step.next", {})
    chris_case = next(r[0] for r in conn.execute("SELECT id, participant_id FROM cases WHERE room_id = ?", (second,))
                      if r[1] == by_member[chris.id].id)
    for p in (by_member[anne.id], by_member[bas.id], by_member[chris.id]):
        await engine.command(second, p.id, "vote.cast", {"case_id": chris_case})
    await engine.command(second, new_fac, "vote.close", {})
    assert engine.get(second).inbrenger_id == by_member[chris.id].id
    assert meetings.inbrengers(conn, room.id) == [(bas.id, room.id), (chris.id, second)]
    roles = dict(conn.execute("SELECT member_id, role FROM meeting_members WHERE meeting_id = ?", (room.id,)).fetchall())
    assert roles[bas.id] == "inbrenger" and roles[chris.id] == "inbrenger"
    clock.now += 60
    await engine.command(second, new_fac, "session.end", {})
    assert conn.execute("SELECT ended_at FROM meetings WHERE id = ?", (room.id,)).fetchone()[0] == clock.now
    conn.close()


async def test_attendance_intervals_and_minutes_present(tmp_path):
    engine, clock, room, fac, people, _ = await _engine_with_case_round(tmp_path)
    conn = engine.conn
    anne, bas, _ = people
    start = clock.now
    for p in (fac, anne):
        meetings.arrive(conn, room.id, p.id, clock.now)
    await engine.command(room.id, fac.id, "session.start", {})
    clock.now += 600
    meetings.arrive(conn, room.id, bas.id, clock.now)  # ten minutes late
    clock.now += 600
    meetings.leave(conn, room.id, anne.id, clock.now)
    clock.now += 20  # back within REJOIN_SECONDS: the same interval goes on
    meetings.arrive(conn, room.id, anne.id, clock.now)
    clock.now += 2400
    await engine.command(room.id, fac.id, "session.end", {})
    end = clock.now
    clock.now += 300  # still on the page after the end: not counted
    rows = conn.execute("SELECT member_id, joined_at, left_at FROM attendance WHERE meeting_id = ?", (room.id,)).fetchall()
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted([(fac.id, start, None), (anne.id, start, None), (bas.id, start + 600, None)])
    assert minutes_present(conn, room.id, anne.id) == (end - start) / 60
    assert minutes_present(conn, room.id, bas.id) == (end - start) / 60 - 10
    # A member gone for longer than the grace gets a second interval.
    meetings.leave(conn, room.id, bas.id, end - 1200)
    meetings.arrive(conn, room.id, bas.id, end - 600)
    assert minutes_present(conn, room.id, bas.id) == (end - start) / 60 - 20
    roles = dict(conn.execute("SELECT member_id, role FROM meeting_members WHERE meeting_id = ?", (room.id,)).fetchall())
    assert roles == {fac.id: "begeleider", anne.id: "deelnemer", bas.id: "deelnemer"}
    conn.close()


async def test_previous_meeting_of_a_group(tmp_path):
    conn = db.connect(tmp_path / "c.sqlite3")
    with db.Transaction(conn):
        conn.execute("INSERT INTO groups (id, name, language, method_id, created_at) VALUES ('g', 'G', 'nl', 'basismodel', 1)")
        first, n1 = meetings.new_meeting(conn, "g", "basismodel", 1.0)
        second, n2 = meetings.new_meeting(conn, "g", "basismodel", 2.0)
    assert (n1, n2) == (1, 2)
    assert meetings.previous_meeting(conn, second)["id"] == first
    assert meetings.previous_meeting(conn, first) is None
    assert [m["id"] for m in meetings.meetings_of(conn, "g")] == [second, first]
    conn.close()
