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
