"""A meeting's next case under ``companion serve --workers 2``: the next case room is a new room id, so its
traffic may go to the other worker. It must be served there at once (its lease taken by that worker), the
moved personal token must open it, and the meeting's first personal link must still lead to it."""

from __future__ import annotations

import aiohttp

from companion.front import worker_for
from test_workers import NODE, _command, _create, _state, lease_owner, start_front


async def test_the_next_case_is_served_by_the_worker_its_id_goes_to(tmp_path):
    data = tmp_path / "data"
    server = start_front(tmp_path, "front")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            room = await _create(http, server, "Team Oost")
            first_worker = worker_for(room["room_id"], 2)
            seen = set()
            for _ in range(12):  # each next case a new random id: both workers come up soon (1 - 2^-12)
                await _command(http, server, room, "session.start")
                await _command(http, server, room, "session.end")
                async with http.post(f"{server.base}/api/rooms/{room['room_id']}/commands",
                                     json={"command": "case.next", "args": {}},
                                     headers={"Authorization": f"Bearer {room['token']}"}) as r:
                    body = await r.json()
                    assert r.status == 200, body
                nxt = body["state"]["meeting"]["next_room"]
                room = {**room, "room_id": nxt}  # the facilitator's token went along
                status, state = await _state(http, server, room)
                assert status == 200 and state["room"]["status"] == "waiting", state
                assert lease_owner(data, nxt) == f"{NODE}/w{worker_for(nxt, 2)}"
                seen.add(worker_for(nxt, 2))
                if seen == {0, 1} and worker_for(nxt, 2) != first_worker:
                    break
            assert seen == {0, 1}
            # The first personal link of the meeting still leads to the case that runs now.
            async with http.get(f"{server.base}{room['facilitator_url'].split(server.base, 1)[1]}") as r:
                assert r.status == 200 and r.url.path == f"/r/{room['room_id']}"
    finally:
        server.stop()
