"""One page floods a room of its own; another room on the same server keeps its timing.

Bounded: a fixed number of requests and messages, all to the loopback server this test starts.
The bound: during the flood, the other room's /healthz median stays under 100 ms above the
quiet median, and its WebSocket ping median under 150 ms above the quiet one. Before the limits
(one state per socket, no HTTP rate limit, unlimited sockets and items) the same flood pushed
/healthz from about 2 ms to over 300 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from served import ServedCompanion

BIG = "Een lang advies. " * 235  # about 4000 characters, the longest an item may be


async def _room(http, served, name: str) -> tuple[dict, str]:
    async with http.post(served.base + "/api/rooms", json={"name": name, "method": "basismodel", "facilitator_name": "F"},
                         headers=served.facilitator_headers) as r:
        room = await r.json()
    return room, room["invite_url"].rsplit("/", 1)[1]


async def _healthz(http, base: str) -> float:
    started = time.perf_counter()
    async with http.get(base + "/healthz") as r:
        await r.read()
    return time.perf_counter() - started


async def _ping(ws, n: int) -> float:
    started = time.perf_counter()
    await ws.send_json({"type": "ping", "id": n})
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT and msg.json().get("type") == "pong":
            return time.perf_counter() - started


async def _measure(http, base: str, ws, samples: int) -> tuple[list[float], list[float]]:
    health, pings = [], []
    for n in range(samples):
        health.append(await _healthz(http, base))
        pings.append(await _ping(ws, n))
        await asyncio.sleep(0.05)
    return health, pings


async def test_a_flooded_room_leaves_another_room_its_timing(tmp_path):
    served = ServedCompanion(tmp_path)
    served.start()
    try:
        async with aiohttp.ClientSession() as http:
            base = served.base
            quiet_room, quiet_invite = await _room(http, served, "Rustig")
            ws = await http.ws_connect(f"{base}/r/{quiet_room['room_id']}/ws",
                                       headers={"Authorization": f"Bearer {quiet_room['token']}"})
            quiet = await _measure(http, base, ws, 20)

            loud, _ = await _room(http, served, "Luid")
            headers = {"Authorization": f"Bearer {loud['token']}"}
            rid = loud["room_id"]
            async with http.post(f"{base}/api/rooms/{rid}/commands", json={"command": "session.start"}, headers=headers) as r:
                assert r.status == 200
            sockets = [await http.ws_connect(f"{base}/r/{rid}/ws", headers=headers) for _ in range(30)]

            async def flood() -> dict[int, int]:
                statuses: dict[int, int] = {}

                async def call(method: str, path: str, body: dict) -> None:
                    try:
                        async with http.request(method, base + path, json=body, headers=headers) as r:
                            statuses[r.status] = statuses.get(r.status, 0) + 1
                    except aiohttp.ClientError:
                        statuses[0] = statuses.get(0, 0) + 1

                for batch in range(6):
                    jobs = [call("POST", f"/api/rooms/{rid}/advice", {"text": BIG}) for _ in range(40)]
                    jobs += [call("POST", f"/api/rooms/{rid}/commands", {"command": "timer.add", "args": {"minutes": 1}})
                             for _ in range(40)]
                    for s in sockets:
                        if not s.closed:
                            for n in range(30):
                                jobs.append(s.send_json({"type": "command", "command": "timer.pause"}))
                    await asyncio.gather(*jobs, return_exceptions=True)
                return statuses

            flooding = asyncio.ensure_future(flood())
            await asyncio.sleep(0.2)
            loaded = await _measure(http, base, ws, 20)
            statuses = await flooding
            for s in sockets:
                await s.close()
            await ws.close()
    finally:
        served.close()

    q_health, q_ping = (statistics.median(x) for x in quiet)
    l_health, l_ping = (statistics.median(x) for x in loaded)
    report = (f"healthz median {q_health * 1000:.1f} -> {l_health * 1000:.1f} ms, "
              f"ping median {q_ping * 1000:.1f} -> {l_ping * 1000:.1f} ms, flood answers {statuses}")
    print(report)
    assert statuses.get(429, 0) + statuses.get(409, 0) > 0, report  # the limits did part of the work
    assert l_health < q_health + 0.100, report
    assert l_ping < q_ping + 0.150, report
