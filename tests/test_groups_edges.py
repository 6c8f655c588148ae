"""Edges of lasting groups found by trying them as a facilitator would, on a server with several processes."""

from __future__ import annotations

import asyncio

from companion.groups import store
from companion.web import ENGINE

from test_groups import Browser, _api, _group_with_members, _start_meeting


async def test_a_link_renewed_by_another_process_still_closes_the_members_open_page(harness):
    """Under ``serve --workers N`` (and several servers on one database) the group API is answered by any
    process, not the one holding the case room: the member's page there stayed open and kept showing the
    meeting to whoever had the old link. The room's process notices at its next lease renewal."""
    group, links = await _group_with_members(harness, ("Anne",))
    gid = group["id"]
    await _start_meeting(harness, gid)
    anne = Browser(harness, "Anne")
    try:
        assert await anne.open(links["Anne"]) == 200
        await anne.connect()
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        mid = next(m["id"] for m in detail["members"] if m["name"] == "Anne")
        # What another process does: the new link and the browsers forgotten, in the shared database only.
        store.renew_member_link(harness.server.app[ENGINE].conn, gid, mid)
        await asyncio.wait_for(anne._reader, 15)
        assert anne.ws.close_code == 4401
    finally:
        await anne.close()
        await anne.session.close()


async def test_a_one_off_room_is_not_turned_into_a_group_through_the_group_api(harness):
    """A one-off room's id is its group's id: the group API took members, links, an invite, co-facilitators
    and a second meeting for it, though it has one meeting and its retention deletes the group with its
    last room (a later meeting's record would go with it). Only its name etc. were refused (409 one_off)."""
    facilitator, invite, created = await harness.create_room()
    gid = created["room_id"]
    await facilitator.ok("session.end")
    status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
    assert status == 200 and detail["one_off"]
    member = detail["members"][0]["id"]
    for method, path, body in [
        ("POST", f"/api/groups/{gid}/members", {"name": "Anne"}),
        ("POST", f"/api/groups/{gid}/members/{member}/link", {}),
        ("DELETE", f"/api/groups/{gid}/members/{member}/link", None),
        ("POST", f"/api/groups/{gid}/invite", {}),
        ("POST", f"/api/groups/{gid}/facilitators", {"name": "Fleur (beheer)"}),
        ("POST", f"/api/groups/{gid}/meetings", {}),
    ]:
        status, answer = await _api(harness, method, path, body)
        assert status == 409 and answer["error"]["code"] == "one_off", (path, answer)
        assert answer["error"]["message"] == "Dit is een losse kamer, geen vaste groep."
    conn = harness.server.app[ENGINE].conn
    assert conn.execute("SELECT COUNT(*) FROM meetings WHERE group_id = ?", (gid,)).fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM members WHERE group_id = ? AND token_hash IS NOT NULL", (gid,)).fetchone()[0] == 0
