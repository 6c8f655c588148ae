"""Limits that hold under abuse: what one page (or one client) can take from the server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp
import pytest

from companion import web as web_module
from companion import web_common
from companion.advice import store as advice_store
from companion.media import service as media_service
from companion.retention import delete_room
from companion.room import Room
from companion.web import ENGINE, LIVE


async def test_a_method_is_stored_once_and_old_rooms_keep_their_copy(harness):
    rooms = [await harness.create_room(name=f"Groep {n}") for n in range(3)]
    conn = harness.server.app[ENGINE].conn
    assert conn.execute("SELECT COUNT(*) FROM method_sources").fetchone()[0] == 1
    assert {r[0] for r in conn.execute("SELECT method_source FROM rooms")} == {""}
    source = conn.execute("SELECT source FROM method_sources").fetchone()[0]
    # A room from before the table, with its own copy, still loads.
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
           VALUES ('oud', 'Oude groep', 'roddelmodel', ?, 'nl', 8, 'h', 0)""", (source,))
    assert Room.load(conn, "oud").method.title == Room.load(conn, rooms[0][0].room_id).method.title
    for fac, _, _ in rooms:
        delete_room(conn, fac.room_id)
    assert conn.execute("SELECT COUNT(*) FROM method_sources").fetchone()[0] == 0  # none left behind


async def test_sockets_per_participant_newest_wins_and_per_address(harness, monkeypatch):
    fac, invite, _ = await harness.create_room()
    url = harness.url(f"/r/{fac.room_id}/ws")
    sockets = [await harness.http.ws_connect(url, headers=fac.headers) for _ in range(4)]
    msg = await sockets[0].receive(timeout=5)
    while msg.type == aiohttp.WSMsgType.TEXT:  # welcome and state first
        msg = await sockets[0].receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and sockets[0].close_code == 4409
    assert not sockets[3].closed
    for ws in sockets:
        await ws.close()

    monkeypatch.setattr(web_module, "MAX_SOCKETS_PER_IP", 3)
    anne = await harness.join(invite, "Anne")
    held = [await harness.http.ws_connect(url, headers=p.headers) for p in (fac, fac, anne)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.http.ws_connect(url, headers=anne.headers)
    assert refused.value.status == 429
    await held[0].close()
    await asyncio.sleep(0.1)
    again = await harness.http.ws_connect(url, headers=anne.headers)  # a freed place can be taken
    for ws in (*held, again):
        await ws.close()


async def test_behind_a_trusted_proxy_the_limits_count_per_client_not_per_proxy(harness, monkeypatch):
    """Behind nginx every connection comes from nginx's address: with --trusted-proxy the server counts
    the address nginx saw (X-Forwarded-For), so one busy site does not use up the limit for all; from
    anyone else the header is not believed."""
    from companion.web_common import SETTINGS

    monkeypatch.setattr(web_module, "MAX_SOCKETS_PER_IP", 2)
    fac, invite, _ = await harness.create_room()
    url = harness.url(f"/r/{fac.room_id}/ws")

    def via(address: str) -> dict:
        return {**fac.headers, "X-Forwarded-For": f"198.51.100.99, {address}"}  # the last is what the proxy saw

    untrusted = [await harness.http.ws_connect(url, headers=via(f"203.0.113.{n}")) for n in (1, 2)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # all one address: the peer's own
        await harness.http.ws_connect(url, headers=via("203.0.113.3"))
    assert refused.value.status == 429
    for ws in untrusted:
        await ws.close()
    await asyncio.sleep(0.1)

    harness.server.app[SETTINGS].trusted_proxies = ("127.0.0.1",)
    held = [await harness.http.ws_connect(url, headers=via(address)) for address in ("203.0.113.1", "203.0.113.1", "203.0.113.2")]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.http.ws_connect(url, headers=via("203.0.113.1"))
    assert refused.value.status == 429
    for ws in held:
        await ws.close()


async def test_pages_per_address_lets_many_groups_share_one_address(harness, monkeypatch):
    """A hospital's groups all come from its one NAT address: --pages-per-address raises the open pages
    that address may hold, and the requests per second it may make grow with it."""
    from companion.web_common import SETTINGS

    monkeypatch.setattr(web_module, "MAX_SOCKETS_PER_IP", 2)
    monkeypatch.setattr(web_module.HttpLimits, "PER_ADDRESS", (1.0, 20.0))
    harness.server.app[SETTINGS].pages_per_address = 5
    fac, invite, _ = await harness.create_room()
    people = [fac] + [await harness.join(invite, name) for name in ("Anne", "Bea", "Daan", "Sem")]
    url = harness.url(f"/r/{fac.room_id}/ws")
    held = [await harness.http.ws_connect(url, headers=p.headers) for p in people]  # 5 > the default 2
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.http.ws_connect(url, headers=people[1].headers)
    assert refused.value.status == 429
    for ws in held:
        await ws.close()

    harness.server.app[web_module.HTTP_LIMITS].buckets.clear()
    invite_url = harness.url("/api/invites/" + "x" * 32)

    async def get(i: int) -> int:
        async with harness.http.get(invite_url, headers={"Authorization": f"Bearer made-up-{i:06d}"}) as r:
            return r.status

    statuses = [await get(i) for i in range(45)]
    # scale 5/2: a burst of 50 instead of 20, so all 45 pass; at the default they would not.
    assert statuses.count(429) == 0, statuses
    harness.server.app[SETTINGS].pages_per_address = None
    harness.server.app[web_module.HTTP_LIMITS].buckets.clear()
    statuses = [await get(i) for i in range(45)]
    assert statuses.count(429) > 0, statuses  # a burst of 20 and 1 a second: 45 in a row cannot all pass


async def test_more_sockets_buy_no_more_messages(harness):
    fac, _, _ = await harness.create_room()
    url = harness.url(f"/r/{fac.room_id}/ws")
    sockets = [await harness.http.ws_connect(url, headers=fac.headers) for _ in range(3)]
    for ws in sockets:
        for n in range(80):
            await ws.send_json({"type": "ping", "id": n})
    pongs = 0
    for ws in sockets:
        try:
            while True:
                msg = await ws.receive(timeout=1)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                pongs += msg.json().get("type") == "pong"
        except asyncio.TimeoutError:
            pass
        await ws.close()
    # One bucket for the person (burst 60, 20 a second): not 3 x 60.
    assert 60 <= pongs <= 100, pongs


async def test_http_rate_limit_per_credential(harness):
    fac, _, _ = await harness.create_room()
    url = harness.url(f"/api/rooms/{fac.room_id}/state")

    async def get() -> int:
        async with harness.http.get(url, headers=fac.headers) as r:
            return r.status

    loop = asyncio.get_running_loop()
    started = loop.time()
    statuses = await asyncio.gather(*(get() for _ in range(300)))
    elapsed = loop.time() - started
    rate, burst = web_module.HttpLimits.PER_CREDENTIAL
    assert statuses.count(200) <= burst + rate * elapsed + 1, (statuses.count(200), elapsed)
    assert statuses.count(429) >= 300 - burst - rate * elapsed - 1
    async with harness.http.get(harness.url("/healthz")) as r:  # the health check is never limited
        assert r.status == 200


async def test_http_rate_limit_per_address_without_any_credential(harness, monkeypatch):
    """A client without a token (or with a fresh made-up one per request) is held by its address."""
    monkeypatch.setattr(web_module.HttpLimits, "PER_ADDRESS", (5.0, 40.0))
    url = harness.url("/api/invites/" + "x" * 32)

    async def get(i: int) -> int:
        async with harness.http.get(url, headers={"Authorization": f"Bearer made-up-{i:06d}"}) as r:
            return r.status

    loop = asyncio.get_running_loop()
    started = loop.time()
    statuses = await asyncio.gather(*(get(i) for i in range(120)))
    elapsed = loop.time() - started
    rate, burst = web_module.HttpLimits.PER_ADDRESS
    assert statuses.count(404) <= burst + rate * elapsed + 1, (statuses.count(404), elapsed)
    assert statuses.count(429) >= 120 - burst - rate * elapsed - 1
    assert set(statuses) <= {404, 429}


async def test_advice_items_made_by_hand_are_capped(harness, monkeypatch):
    monkeypatch.setattr(advice_store, "MAX_HAND_ITEMS", 3)
    fac, invite, _ = await harness.create_room(method="basismodel")
    url = harness.url(f"/api/rooms/{fac.room_id}/advice")
    statuses = []
    for n in range(4):
        async with harness.http.post(url, json={"text": f"Advies {n}."}, headers=fac.headers) as r:
            statuses.append(r.status)
            body = await r.json()
    assert statuses == [201, 201, 201, 409] and body["error"]["code"] == "too_many_items"


async def test_a_body_sent_too_slowly_is_cut_off(harness, monkeypatch):
    monkeypatch.setattr(web_common, "BODY_SECONDS", 1.0)
    fac, invite, _ = await harness.create_room()
    port = harness.server.port

    def slow() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"POST /api/rooms/{fac.room_id}/invites/{invite}/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 200\r\n\r\n{".encode())
            return s.recv(4096)

    answer = await asyncio.to_thread(slow)
    assert b" 408 " in answer.split(b"\r\n")[0], answer[:80]


async def test_an_unanswered_offer_frees_its_connection(media_server, monkeypatch):
    monkeypatch.setattr(media_service, "OFFER_TIMEOUT", 1.0)
    h = media_server
    fac, _, _ = await h.create_room()
    await fac.connect()
    await fac.ws.send_json({"type": "media.join"})
    media = h.server.app[LIVE].media
    for _ in range(100):
        if any(m.get("type") == "media.offer" for m in fac.messages):
            break
        await asyncio.sleep(0.05)
    assert fac.id in media.connected(fac.room_id)
    await asyncio.sleep(2.0)
    assert fac.id not in media.connected(fac.room_id)  # never answered: closed, its sockets freed


def test_open_files_limit_is_raised_at_start():
    code = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from companion.server import raise_open_files_limit\n"
        "print(raise_open_files_limit(), hard)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    (before, after), hard = eval(out.split(")")[0] + ")"), int(out.split(")")[1])
    assert before == 256 and after == min(65536, hard) and after > 256


async def test_a_change_builds_the_state_once_per_person_not_once_per_page(harness, monkeypatch):
    """The finding: 100 pages with one token each got their own copy of an 823 KB state. Now pages
    are capped (3 a person) and a change builds each person's state once, for all their pages (the
    state is personal: role, own vote, own take-away, own call; so per person is as shared as it gets)."""
    fac, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    url = harness.url(f"/r/{fac.room_id}/ws")
    pages = [await harness.http.ws_connect(url, headers=p.headers) for p in (fac, fac, fac, anne, anne, anne)]
    await asyncio.sleep(0.5)
    for ws in pages:  # welcome and the first states
        while True:
            try:
                await ws.receive(timeout=0.2)
            except asyncio.TimeoutError:
                break
    built = []
    real = web_module._snapshot_for
    monkeypatch.setattr(web_module, "_snapshot_for", lambda *a: built.append(a[2]) or real(*a))
    await fac.ok("session.start")  # over HTTP: its answer carries one more state, for the caller
    for ws in pages:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT and '"type": "state"' in msg.data
    assert sorted(built) == sorted([fac.id, fac.id, anne.id]), built
    for ws in pages:
        await ws.close()
