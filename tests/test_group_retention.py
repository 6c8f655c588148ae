"""Retention per group: a meeting's case content goes after content_retention_days, its record of hours stays
until record_retention_days; deleting a member removes their content and their record (issue 17, part 6)."""

from __future__ import annotations

import json

import pytest

from companion import db, history, hours
from companion.retention import DAY, MeetingOpen, delete_member, delete_room, purge_expired
from group_rows import add_case_room, add_group, add_meeting, add_member, count, T0, MIN
from test_member_history import PEOPLE, two_meetings


@pytest.fixture
def conn(database):
    c = db.connect(database)  # on SQLite and on PostgreSQL
    yield c
    c.close()


def _record(conn) -> list[tuple]:
    return [(r.number, r.member_id, r.role, r.minutes) for r in hours.group_attendance(conn, "g1")]


def test_content_goes_after_the_groups_content_retention_and_the_record_stays(conn):
    two_meetings(conn)
    conn.execute("UPDATE groups SET content_retention_days = 14, record_retention_days = 365 WHERE id = 'g1'")
    record = _record(conn)
    assert len(record) == 7
    end1, end2 = T0 + 180 * MIN, T0 + 28 * DAY + 100 * MIN
    # Case 1 of meeting 1 ended an hour and a half before the meeting: it goes with the meeting, not before.
    assert purge_expired(conn, end1 + 14 * DAY - 60) == []
    assert count(conn, "rooms", "id = 'r1'") == 1
    assert sorted(purge_expired(conn, end1 + 14 * DAY + 60)) == ["r1", "r2"]
    for table in ("rooms", "participants", "cases", "advice_items", "advice_marks", "takeaways", "followups",
                  "meeting_rooms"):
        assert count(conn, table, "room_id IN ('r1', 'r2')" if table != "rooms" else "id IN ('r1', 'r2')") == 0, table
    assert count(conn, "rooms", "id = 'r3'") == 1
    assert _record(conn) == record  # no minute of the record lost
    # Meeting 2's follow-up update is its content: it goes with meeting 2's rooms.
    assert count(conn, "followup_updates") == 1
    assert purge_expired(conn, end2 + 15 * DAY) == ["r3"]
    assert count(conn, "followup_updates") == 0 and count(conn, "rooms") == 0
    assert _record(conn) == record
    assert json.dumps(history.member_history(conn, "anne")).count("nee") == 0
    # The record goes after its own time, meeting by meeting; the members stay.
    assert purge_expired(conn, end1 + 366 * DAY) == []
    assert [r[0] for r in _record(conn)] == [2, 2, 2]
    assert count(conn, "members", "group_id = 'g1'") == len(PEOPLE)
    conn.execute("INSERT INTO groups (id, name, language, method_id, one_off, content_retention_days, "
                 "record_retention_days, created_at) VALUES ('new', 'Nieuw', 'nl', 'roddelmodel', 0, 30, 365, ?)",
                 (end2 + 300 * DAY,))
    purge_expired(conn, end2 + 366 * DAY)
    assert _record(conn) == [] and count(conn, "meetings") == 0 and count(conn, "attendance") == 0
    # A group that has not met for its record's time goes with its members' names; a new one stays.
    assert count(conn, "members") == 0 and [r[0] for r in conn.execute("SELECT id FROM groups")] == ["new"]


def test_a_one_off_room_takes_its_group_along(conn):
    add_group(conn, "solo", "Eenmalig", one_off=1)
    add_member(conn, "solo", "p1", "Fleur", "begeleider")
    add_meeting(conn, "solo", "solo", 1, T0, T0 + 60 * MIN)
    add_case_room(conn, "solo", "solo", 1, {"p1": "Fleur"}, ended_at=T0 + 60 * MIN)
    assert purge_expired(conn, T0 + 29 * DAY) == []
    assert purge_expired(conn, T0 + 31 * DAY) == ["solo"]
    for table in ("groups", "members", "meetings", "meeting_members", "attendance"):
        assert count(conn, table) == 0, table


def test_a_meeting_never_started_goes_with_its_last_room(conn):
    add_group(conn, "g1")
    add_meeting(conn, "g1", "m1", 1, None, None)
    add_case_room(conn, "m1", "r1", 1, {}, status="waiting", created_at=T0)
    assert purge_expired(conn, T0 + 2 * DAY) == ["r1"]
    assert count(conn, "meetings") == 0 and count(conn, "groups") == 1


def test_a_next_case_never_started_leaves_the_meeting_ended_with_the_case_before(conn):
    add_group(conn, "g1")
    add_member(conn, "g1", "anne", "Anne")
    add_meeting(conn, "g1", "m1", 1, T0, None)  # case.next cleared the meeting's end
    add_case_room(conn, "m1", "r1", 1, {"anne": "Anne"}, ended_at=T0 + 80 * MIN)
    add_case_room(conn, "m1", "r2", 2, {"anne": "Anne"}, status="waiting", created_at=T0 + 82 * MIN)
    conn.execute("INSERT INTO meeting_members (meeting_id, member_id, role) VALUES ('m1', 'anne', 'deelnemer')")
    conn.execute("INSERT INTO attendance (meeting_id, member_id, joined_at, left_at) VALUES ('m1', 'anne', ?, ?)",
                 (T0, T0 + 85 * MIN))
    assert hours.member_record(conn, "anne") == []
    assert purge_expired(conn, T0 + 2 * DAY) == ["r2"]
    assert [(r.number, r.minutes) for r in hours.member_record(conn, "anne")] == [(1, 80)]


def test_a_meeting_nobody_ended_counts_until_the_last_member_left(conn):
    add_group(conn, "g1")
    for mid in ("anne", "bas"):
        add_member(conn, "g1", mid, mid.title())
    add_meeting(conn, "g1", "m1", 1, T0, None)
    add_case_room(conn, "m1", "r1", 1, {"anne": "Anne", "bas": "Bas"}, status="running", created_at=T0)
    for mid, left in (("anne", T0 + 70 * MIN), ("bas", T0 + 75 * MIN)):
        conn.execute("INSERT INTO meeting_members (meeting_id, member_id, role) VALUES ('m1', ?, 'deelnemer')", (mid,))
        conn.execute("INSERT INTO attendance (meeting_id, member_id, joined_at, left_at) VALUES ('m1', ?, ?, ?)",
                     (mid, T0, left))
    assert purge_expired(conn, T0 + 59 * DAY) == []  # not ended: kept 30 days past the content retention
    assert purge_expired(conn, T0 + 61 * DAY) == ["r1"]
    assert [(r.member_id, r.minutes) for r in hours.group_attendance(conn, "g1")] == [("anne", 70), ("bas", 75)]


def test_deleting_a_member_removes_their_content_and_their_record(conn):
    two_meetings(conn)
    rows = {t: count(conn, t) for t in ("participants", "cases", "takeaways", "advice_items")}
    changed = delete_member(conn, "anne")
    assert changed == ["r1", "r2", "r3"]
    assert count(conn, "members", "id = 'anne'") == 0
    for table in ("attendance", "meeting_members", "followups", "followup_updates"):
        assert count(conn, table, "member_id = 'anne'") == 0, table
    assert count(conn, "participants", "member_id = 'anne'") == 0
    assert count(conn, "participants") == rows["participants"] - 3
    # Her question, her take-away and her list (with the marks and notes on it) are gone...
    assert count(conn, "cases") == rows["cases"] - 1 and count(conn, "takeaways") == rows["takeaways"] - 1
    assert count(conn, "advice_items", "room_id = 'r1'") == 0 and count(conn, "advice_marks", "room_id = 'r1'") == 0
    room = conn.execute("SELECT inbrenger_id, question_original, case_id FROM rooms WHERE id = 'r1'").fetchone()
    assert tuple(room) == (None, None, None)
    # ...the advice she gave stays on the others' lists, without her name.
    assert conn.execute("SELECT participant_id, text FROM advice_items WHERE id = 'b1'").fetchone()[0] is None
    assert count(conn, "advice_items") == rows["advice_items"] - 2
    assert [r[1] for r in _record(conn)].count("anne") == 0
    assert len(_record(conn)) == 5
    bas = history.member_history(conn, "bas")
    assert [i["speaker"] for i in bas["advice_lists"][0]["items"]] == [None]
    with pytest.raises(KeyError):
        history.member_history(conn, "anne")


def test_a_member_in_a_meeting_that_has_not_ended_cannot_be_deleted_yet(conn):
    two_meetings(conn)
    conn.execute("UPDATE rooms SET status = 'running', ended_at = NULL WHERE id = 'r3'")
    with pytest.raises(MeetingOpen):
        delete_member(conn, "carla")
    assert count(conn, "members", "id = 'carla'") == 1 and count(conn, "cases", "participant_id = 'r3-carla'") == 1
    # Bas was not in meeting 2: he can go.
    assert delete_member(conn, "bas") == ["r1", "r2"]


def test_delete_now_of_a_case_room_keeps_the_record(conn):
    two_meetings(conn)
    record = _record(conn)
    delete_room(conn, "r3")
    assert _record(conn) == record and count(conn, "meetings") == 2


# ------------------------------------------------------------------ over HTTP
BOTH_DATABASES = True


async def test_a_member_and_the_facilitator_delete_a_member_over_http(harness):
    from companion import facilitators
    from companion.web import ENGINE
    from test_member_history import member_tokens, recent

    conn = harness.server.app[ENGINE].conn
    recent(conn)
    tok = member_tokens(conn)
    fid = facilitators.authenticate(conn, harness.facilitator_token)["id"]
    conn.execute("INSERT INTO group_facilitators (group_id, facilitator_id) VALUES ('g1', ?)", (fid,))
    me = {"Authorization": f"Bearer {tok['anne']}"}
    async with harness.http.delete(harness.url("/api/groups/g1/me"), json={}, headers=me) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "confirm_needed"
    async with harness.http.delete(harness.url("/api/groups/g1/me"), json={"confirm": True}, headers=me) as r:
        assert r.status == 200, await r.text()
    assert count(conn, "members", "id = 'anne'") == 0 and count(conn, "attendance", "member_id = 'anne'") == 0
    async with harness.http.get(harness.url("/api/groups/g1/me"), headers=me) as r:
        assert r.status == 404
    # Carla is in a case room that has not ended: not yet.
    conn.execute("UPDATE rooms SET status = 'running', ended_at = NULL WHERE id = 'r3'")
    async with harness.http.delete(harness.url("/api/groups/g1/members/carla"), json={"confirm": True},
                                   headers=harness.facilitator_headers) as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "meeting_open"
    async with harness.http.delete(harness.url("/api/groups/g1/members/bas"), json={"confirm": True},
                                   headers={"Authorization": f"Bearer {tok['carla']}"}) as r:
        assert r.status == 401  # a member cannot delete another
    async with harness.http.delete(harness.url("/api/groups/g1/members/bas"), json={"confirm": True},
                                   headers=harness.facilitator_headers) as r:
        assert r.status == 200
    assert count(conn, "members", "id = 'bas'") == 0 and count(conn, "cases", "participant_id LIKE '%-bas'") == 0
    assert [r[1] for r in _record(conn)] == ["carla", "fleur", "carla", "fleur"]


async def test_a_one_off_room_made_over_http_leaves_no_group_behind(harness):
    import time

    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    facilitator, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    await facilitator.ok("session.start")
    await anne.ok("takeaway.save", text="Meer vragen", shared=False)
    await facilitator.ok("session.end")
    group_id = conn.execute(
        """SELECT m.group_id FROM meeting_rooms mr JOIN meetings m ON m.id = mr.meeting_id WHERE mr.room_id = ?""",
        (facilitator.room_id,)).fetchone()[0]
    assert count(conn, "members", "group_id = ?", (group_id,)) == 2
    assert purge_expired(conn, time.time() + 31 * DAY) == [facilitator.room_id]
    for table in ("groups", "members", "meetings"):
        assert count(conn, table, "id = ?" if table == "groups" else "group_id = ?", (group_id,)) == 0, table
    assert count(conn, "attendance") == 0 and count(conn, "meeting_members") == 0
