"""A room has one owner process at a time: the room lease (companion/leases.py) with real processes.

Two `companion serve` processes share one SQLite file.  A room served by A is refused by B (503 with
Retry-After, WebSocket closed with 4503); after A is killed (SIGKILL) B takes the room over within the
lease time, restored from the database as after a restart; a clean stop releases the leases at once.
Two processes racing for the same expired leases never both get one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from conftest import SpeechHarness
from media_page import MediaPage, small_camera

from companion import db
from companion.leases import Leases
from companion.media.loopback import wait_for
from companion.media.peer import SpeakingTrack
from companion.serve_process import ServerProcess
from companion.speech.audiofile import espeak
from companion.speech.wer import wer
from companion.web import LIVE, hand_over
from companion.web_common import LEASES

LEASE, RENEW = 3.0, 1.0
ARGS = ["--no-transcription", "--lease-seconds", str(LEASE), "--lease-renew-seconds", str(RENEW)]
ADVICE_STEP = 5  # 0-based "Adviesronde" in the roddelmodel
ROOMS = 300
# English: espeak-ng's Dutch voice is too poor for Whisper base (tests/test_live_path.py).
SPOKEN = "Maybe you can ask a colleague for help."


def _race(path: str, owner: str, barrier, results) -> None:
    conn = db.connect(path)
    leases = Leases(conn, owner, LEASE, RENEW)
    rooms = [row[0] for row in conn.execute("SELECT id FROM rooms ORDER BY id")]
    won = []
    for room_id in rooms:
        barrier.wait(30)  # both ask for the same room at the same moment, room after room
        if leases.take(room_id) is None:
            won.append(room_id)
    results.put((owner, won))
    conn.close()


def test_lease_times_that_cannot_work_are_refused(tmp_path, capsys):
    from companion import cli

    conn = db.connect(str(tmp_path / "x.sqlite3"))
    for seconds, renew in ((0, 0), (-5, 1), (4, 4), (4, 2.5), (4, 0), (4, -1), (float("inf"), 5), (float("nan"), 1)):
        with pytest.raises(ValueError):
            Leases(conn, "n", seconds, renew)
        argv = ["--data-dir", str(tmp_path), "--lease-seconds", str(seconds), "--lease-renew-seconds", str(renew)]
        assert cli.serve(argv) == 2
        assert "--lease-renew-seconds" in capsys.readouterr().err
    Leases(conn, "n", 4, 2)
    conn.close()


def test_two_processes_racing_for_expired_leases_never_both_own_one(database):
    path = database
    conn = db.connect(path)
    now = time.time()
    with db.Transaction(conn):
        for i in range(ROOMS):
            room_id = f"room{i:04d}"
            conn.execute(
                "INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at) "
                "VALUES (?, 'x', 'roddelmodel', '', 'nl', 8, ?, ?)", (room_id, f"h{i}", now),
            )
            # Held by a process that died: expired, free for whoever comes first.
            conn.execute("INSERT INTO room_leases (room_id, owner, expires_at) VALUES (?, 'dead', ?)", (room_id, now - 1))
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(path), owner, barrier, results)) for owner in ("a", "b")]
    for p in procs:
        p.start()
    try:
        won = dict(results.get(timeout=120) for _ in procs)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    print(f"race: a took {len(won['a'])}, b took {len(won['b'])} of {ROOMS} expired leases")
    assert not set(won["a"]) & set(won["b"]), "a lease owned by both"
    assert len(won["a"]) + len(won["b"]) == ROOMS  # every room got exactly one owner
    owners = dict(conn.execute("SELECT owner, COUNT(*) FROM room_leases GROUP BY owner").fetchall())
    assert owners == {k: len(v) for k, v in won.items() if v}
    # A live lease is refused with the time it still runs; a lease taken from a stalled owner shows on renew.
    a, b = Leases(conn, "a", LEASE, RENEW), Leases(conn, "b", LEASE, RENEW)
    room_id = won["a"][0] if won["a"] else won["b"][0]
    holder, other = (a, b) if won["a"] else (b, a)
    assert holder.take(room_id) is None
    assert 0 < other.take(room_id) <= LEASE
    conn.execute("UPDATE room_leases SET expires_at = ? WHERE room_id = ?", (time.time() - 1, room_id))
    assert other.take(room_id) is None
    assert holder.renew() == [room_id] and room_id not in holder.held
    with pytest.raises(ValueError):
        Leases(conn, "c", 10, 6)  # renewed less than twice per lease
    conn.close()


class Api:
    def __init__(self, http: aiohttp.ClientSession, room_id: str):
        self.http, self.room_id = http, room_id

    async def call(self, server: ServerProcess, method: str, path: str, token: str, body: dict | None = None):
        async with self.http.request(method, server.base + path, json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status, await r.json(), r.headers

    async def ok(self, server: ServerProcess, method: str, path: str, token: str, body: dict | None = None) -> dict:
        status, data, _ = await self.call(server, method, path, token, body)
        assert status in (200, 201), (path, data)
        return data

    async def state(self, server: ServerProcess, token: str) -> tuple[int, dict, dict]:
        return await self.call(server, "GET", f"/api/rooms/{self.room_id}/state", token)


def comparable(state: dict) -> dict:
    """What must survive a takeover unchanged (presence and clocks move on by themselves)."""
    return {
        "room": state["room"], "step": state["step"], "inbrenger": state["inbrenger"], "question": state["question"],
        "participants": [{k: v for k, v in p.items() if k != "online"} for p in state["participants"]],
        "advice": [(i["id"], i["text"], i["speaker"], i["participant_id"]) for i in state["advice"]["items"]],
        "planned": state["timer"]["planned"], "running": state["timer"]["running"],
    }


async def _room_with_anne_and_bas(http: aiohttp.ClientSession, server: ServerProcess, name: str):
    """A roddelmodel room made on ``server`` with Anne and Bas joined: (Api, facilitator token, anne, bas)."""
    async with http.post(server.base + "/api/rooms", headers=server.facilitator_headers, json={
            "name": name, "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
        room = await r.json()
    api, fac = Api(http, room["room_id"]), room["token"]
    invite = room["invite_url"].rsplit("/", 1)[1]
    anne, bas = [await api.ok(server, "POST", f"/api/rooms/{api.room_id}/invites/{invite}/join", "", {"name": n})
                 for n in ("Anne", "Bas")]
    return api, fac, anne, bas


async def _ws_close_code(http: aiohttp.ClientSession, server: ServerProcess, room_id: str, token: str):
    async with http.ws_connect(f"{server.base}/r/{room_id}/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        first = await ws.receive(timeout=10)
        if first.type == aiohttp.WSMsgType.TEXT:
            return first.json()
        assert first.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), first
        return ws.close_code


async def test_a_room_has_one_owner_process_and_moves_when_it_dies(tmp_path):
    data = tmp_path / "data"
    a = ServerProcess(data, tmp_path / "a.log", ARGS)
    b = ServerProcess(data, tmp_path / "b.log", ARGS)
    a2 = ServerProcess(data, tmp_path / "a2.log", ARGS)
    try:
        a.start(120)
        b.facilitator_token = a2.facilitator_token = a.facilitator_token
        b.start(120)
        async with aiohttp.ClientSession() as http:
            api, fac, anne, bas = await _room_with_anne_and_bas(http, a, "Team Zuid")

            async def command(server, name, **args):
                return await api.ok(server, "POST", f"/api/rooms/{api.room_id}/commands", fac, {"command": name, "args": args})

            await command(a, "inbrenger.set", participant_id=bas["participant_id"])
            await command(a, "session.start")
            await command(a, "step.goto", index=ADVICE_STEP)
            await command(a, "timer.add", minutes=2)
            for text, who in (("Vraag je leidinggevende om een vast overleg.", anne["participant_id"]),
                              ("Schrijf een week lang op waar je ja op zegt.", None)):
                await api.ok(a, "POST", f"/api/rooms/{api.room_id}/advice", fac, {"text": text, "participant_id": who})
            _, before, _ = await api.state(a, fac)
            _, anne_before, _ = await api.state(a, anne["token"])
            assert [p["hidden"] for p in anne_before["participants"] if p["id"] == bas["participant_id"]] == [True]
            assert len(before["advice"]["items"]) == 2 and before["step"]["index"] == ADVICE_STEP

            # B refuses the room A serves: API, WebSocket and the personal link; nothing changes through B.
            status, body, headers = await api.state(b, fac)
            assert status == 503 and body["error"]["code"] == "room_elsewhere", body
            assert "ander serverproces" in body["error"]["message"] and "another server process" in body["error"]["message_en"]
            assert 1 <= int(headers["Retry-After"]) <= LEASE
            status, body, _ = await api.call(b, "POST", f"/api/rooms/{api.room_id}/commands", fac, {"command": "step.next"})
            assert status == 503
            assert await _ws_close_code(http, b, api.room_id, fac) == 4503
            async with http.get(f"{b.base}/r/{api.room_id}/k/{anne['token']}", allow_redirects=False) as r:
                assert r.status == 503 and "ander serverproces" in await r.text()
            async with http.get(f"{b.base}/r/{api.room_id}") as r:
                assert r.status == 200  # the page itself is the same file everywhere
            assert (await api.state(a, fac))[1]["step"]["index"] == ADVICE_STEP

            # A dies without a word. B serves the room once A's lease ran out, as A left it.
            a.proc.kill()
            a.proc.wait(10)
            killed = time.monotonic()
            while True:
                status, after, _ = await api.state(b, fac)
                if status == 200 or time.monotonic() - killed > LEASE + 10:
                    break
                assert status == 503, after
                await asyncio.sleep(0.1)
            took = time.monotonic() - killed
            print(f"takeover: B served the room {took:.2f} s after A was killed (lease {LEASE} s, renewed every {RENEW} s)")
            assert status == 200, after
            assert took <= LEASE + 1.0, took  # renewed at most RENEW before the kill: expired within LEASE
            assert comparable(after) == comparable(before)
            # The timer counted on over the wall clock, as after a restart.
            waited = after["server_time"] - before["server_time"]
            assert abs(after["timer"]["elapsed"] - before["timer"]["elapsed"] - waited) < 1.0
            _, anne_after, _ = await api.state(b, anne["token"])
            assert [p["hidden"] for p in anne_after["participants"] if p["id"] == bas["participant_id"]] == [True]
            welcome = await _ws_close_code(http, b, api.room_id, anne["token"])
            assert welcome["type"] == "welcome" and welcome["protocol"] == 3
            moved_on = await command(b, "step.next")
            assert moved_on["state"]["step"]["index"] == ADVICE_STEP + 1

            # A comes back on another port while B serves: refused. B stops cleanly: at once A's again.
            a2.start(120)
            assert (await api.state(a2, fac))[0] == 503
            b.stop()
            stopped = time.monotonic()
            status, back, _ = await api.state(a2, fac)
            assert status == 200 and time.monotonic() - stopped < LEASE, back
            assert back["step"]["index"] == ADVICE_STEP + 1 and len(back["advice"]["items"]) == 2
    finally:
        for server in (a, b, a2):
            server.stop()
    conn = sqlite3.connect(data / "companion.sqlite3")
    owner, expires = conn.execute("SELECT owner, expires_at FROM room_leases").fetchone()
    conn.close()
    assert owner.endswith(f":{a2.port}") and expires <= time.time()  # released by a2's clean stop too


async def test_a_process_that_stalled_past_its_lease_hands_the_room_over(tmp_path):
    """A is stopped (SIGSTOP) past its lease; B takes the room. When A runs again it serves nothing of the
    room any more: its pages are closed with 4503 (they reconnect to B) and its API refuses the room."""
    data = tmp_path / "data"
    a = ServerProcess(data, tmp_path / "a.log", ARGS)
    b = ServerProcess(data, tmp_path / "b.log", ARGS)
    try:
        a.start(120)
        b.facilitator_token = a.facilitator_token
        b.start(120)
        async with aiohttp.ClientSession() as http:
            async with http.post(a.base + "/api/rooms", headers=a.facilitator_headers, json={
                    "name": "Team West", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
                room = await r.json()
            api, fac = Api(http, room["room_id"]), room["token"]
            ws = await http.ws_connect(f"{a.base}/r/{api.room_id}/ws", headers={"Authorization": f"Bearer {fac}"})
            assert (await ws.receive_json(timeout=10))["type"] == "welcome"

            async def read_until_closed() -> float:
                # Reading all along answers the server's pings, as a browser does.
                async for _ in ws:
                    pass
                return time.monotonic()

            reader = asyncio.ensure_future(read_until_closed())
            a.proc.send_signal(signal.SIGSTOP)
            try:
                stopped = time.monotonic()
                while (await api.state(b, fac))[0] != 200:
                    assert time.monotonic() - stopped < LEASE + 10, "B never took the room"
                    await asyncio.sleep(0.1)
                await api.ok(b, "POST", f"/api/rooms/{api.room_id}/commands", fac, {"command": "session.start"})
            finally:
                a.proc.send_signal(signal.SIGCONT)
            # A at once asks the database again before it serves the room: refused, not its stale copy.
            status, body, headers = await api.state(a, fac)
            assert status == 503 and body["error"]["code"] == "room_elsewhere" and int(headers["Retry-After"]) >= 1
            refused = time.monotonic()
            closed = await asyncio.wait_for(reader, LEASE + 10)
            assert ws.close_code == 4503 and closed - refused < LEASE + 5
            assert (await api.state(b, fac))[1]["room"]["status"] == "running"
    finally:
        for server in (a, b):
            server.stop()


def _holders(room_id: str, *processes: Leases) -> list[str]:
    """The processes that would serve the room now without asking the database."""
    return [p.owner for p in processes if p.serving(room_id)]


def test_a_room_is_handed_over_to_the_process_that_gets_its_traffic(database):
    """The unit of the handover (companion/leases.py), on SQLite and on PostgreSQL: a refused process's
    want is written down; the holder hands the room over only after its minimum holding time and only
    for a fresh want; the wanting process then takes it at once, the one that let it go cannot pull it
    back, and at no moment do two processes serve it."""
    seconds, renew = 1.0, 0.5
    conns = [db.connect(database) for _ in range(3)]
    try:
        now = time.time()
        conns[0].execute(
            "INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at) "
            "VALUES ('r1', 'x', 'roddelmodel', '', 'nl', 8, 'h', ?)", (now,))
        a, b, c = (Leases(conn, name, seconds, renew) for conn, name in zip(conns, "abc"))
        assert a.min_hold == seconds and a.want_fresh == 2 * seconds

        def row():
            return tuple(conns[0].execute("SELECT owner, wanted_by FROM room_leases WHERE room_id = 'r1'").fetchone())

        assert a.take("r1") is None and _holders("r1", a, b, c) == ["a"]
        assert b.take("r1") > 0
        b.want("r1")
        assert row() == ("a", "b")
        a.want("r1")  # the holder's own traffic is no want
        assert row() == ("a", "b")

        # Within the minimum holding time the want waits, renewed by b's traffic (as the pages retry).
        taken = time.monotonic()
        while time.monotonic() - taken < a.min_hold - 0.2:
            assert a.renew() == [] and a.wanted_elsewhere() == []
            assert b.take("r1") > 0
            b.want("r1")
            assert _holders("r1", a, b, c) == ["a"]
            time.sleep(renew / 2)
        time.sleep(0.3)
        assert a.renew() == []
        assert a.wanted_elsewhere() == [("r1", "b")]

        # A stale want does not count: written more than want_fresh ago (b's clock stands for the past).
        stale = Leases(conns[1], "b", seconds, renew, clock=lambda: time.time() - 2 * seconds - 0.5)
        stale.want("r1")
        assert row() == ("a", "b") and a.wanted_elsewhere() == []

        # A fresh want again, from c this time: the last want wins.
        assert c.take("r1") > 0
        c.want("r1")
        assert a.wanted_elsewhere() == [("r1", "c")]
        assert a.hand_over("r1", "c") and _holders("r1", a, b, c) == []
        assert row() == ("c", None)
        # Passed on, not merely released: only c may take it now, and a's late requests do not want it back.
        assert b.take("r1") > 0 and a.take("r1") > 0
        a.want("r1")
        assert row() == ("c", None)
        assert c.take("r1") is None and _holders("r1", a, b, c) == ["c"]
        # c holds it for its minimum time too, whoever wants it.
        b.wanted.clear()
        b.want("r1")
        assert row() == ("c", "b") and c.wanted_elsewhere() == []
        # Taking an expired lease clears the want that was meant for the holder before.
        conns[0].execute("UPDATE room_leases SET expires_at = ? WHERE room_id = 'r1'", (time.time() - 1,))
        assert a.take("r1") is None and row() == ("a", None)
        assert c.renew() == ["r1"] and _holders("r1", a, b, c) == ["a"]
        # A handover whose lease went meanwhile says so and serves nothing.
        assert not c.hand_over("r1", "b") and row() == ("a", None)
    finally:
        for conn in conns:
            conn.close()


async def test_a_node_that_comes_back_gets_its_room_handed_back_intact(tmp_path):
    """A serves a room in its advice round and is killed; B takes the room over. A comes back (same node
    id) and the room's traffic reaches A again, as the proxy's hash sends it: A refuses and asks for the
    room, B hands it over at its next renewal once it held it its minimum time, B's page is closed with
    4503, and the page reconnects to A, where the room goes on as it was: step, timer, gates, advice."""
    data = tmp_path / "data"
    a = ServerProcess(data, tmp_path / "a.log", [*ARGS, "--node-id", "node-a"])
    b = ServerProcess(data, tmp_path / "b.log", [*ARGS, "--node-id", "node-b"])
    a2 = ServerProcess(data, tmp_path / "a2.log", [*ARGS, "--node-id", "node-a"])
    try:
        a.start(120)
        b.facilitator_token = a2.facilitator_token = a.facilitator_token
        b.start(120)
        async with aiohttp.ClientSession() as http:
            api, fac, anne, bas = await _room_with_anne_and_bas(http, a, "Team Oost")
            for name, args in (("inbrenger.set", {"participant_id": bas["participant_id"]}), ("session.start", {}),
                               ("step.goto", {"index": ADVICE_STEP}), ("timer.add", {"minutes": 2})):
                await api.ok(a, "POST", f"/api/rooms/{api.room_id}/commands", fac, {"command": name, "args": args})
            await api.ok(a, "POST", f"/api/rooms/{api.room_id}/advice", fac,
                         {"text": "Plan een gesprek met je team.", "participant_id": anne["participant_id"]})
            _, before, _ = await api.state(a, fac)

            a.proc.kill()
            a.proc.wait(10)
            killed = time.monotonic()
            while (await api.state(b, fac))[0] != 200:
                assert time.monotonic() - killed < LEASE + 10, "B never took the room"
                await asyncio.sleep(0.1)
            taken = time.monotonic()
            ws = await http.ws_connect(f"{b.base}/r/{api.room_id}/ws", headers={"Authorization": f"Bearer {anne['token']}"})
            assert (await ws.receive_json(timeout=10))["type"] == "welcome"

            async def read_until_closed() -> float:
                async for _ in ws:  # answering pings, as a browser does
                    pass
                return time.monotonic()

            reader = asyncio.ensure_future(read_until_closed())
            await asyncio.to_thread(a2.start, 120)
            # From here the room's traffic goes to A (as nginx sends it once A is up again).
            back = time.monotonic()
            statuses = []
            while True:
                status, after, _ = await api.state(a2, fac)
                statuses.append(status)
                if status == 200:
                    break
                assert status == 503 and after["error"]["code"] == "room_elsewhere", after
                assert time.monotonic() - back < 2 * LEASE + 10, statuses
                await asyncio.sleep(0.2)
            served = time.monotonic()
            closed = await asyncio.wait_for(reader, 10)
            print(f"handover: A came back {back - taken:.1f} s after B took the room; A served it {served - back:.2f} s "
                  f"after its first refused request (minimum hold {LEASE} s from B's take, renewal every {RENEW} s); "
                  f"B's page closed {closed - back:.2f} s after A was back")
            assert ws.close_code == 4503
            # B held the room its minimum time before it let go, and let go within a renewal after that.
            assert closed - taken >= LEASE - 0.5
            assert served - max(back, taken + LEASE) < 2 * RENEW + 2.0
            assert comparable(after) == comparable(before)
            waited = after["server_time"] - before["server_time"]
            assert abs(after["timer"]["elapsed"] - before["timer"]["elapsed"] - waited) < 1.0
            _, anne_after, _ = await api.state(a2, anne["token"])
            assert [p["hidden"] for p in anne_after["participants"] if p["id"] == bas["participant_id"]] == [True]
            # The page reconnects (to A now) and the room goes on there; B refuses it from now on.
            async with http.ws_connect(f"{a2.base}/r/{api.room_id}/ws", headers={"Authorization": f"Bearer {anne['token']}"}) as again:
                welcome = await again.receive_json(timeout=10)
                assert welcome["type"] == "welcome"
            await api.ok(a2, "POST", f"/api/rooms/{api.room_id}/advice", fac, {"text": "Vraag om hulp.", "participant_id": None})
            assert [i["text"] for i in (await api.state(a2, fac))[1]["advice"]["items"]] == [
                "Plan een gesprek met je team.", "Vraag om hulp."]
            assert (await api.state(b, fac))[0] == 503
            # Nothing pulls it back: B's refused requests right after the handover are no want.
            await asyncio.sleep(LEASE + 2 * RENEW)
            assert (await api.state(a2, fac))[0] == 200
    finally:
        for server in (a, b, a2):
            server.stop()
    conn = sqlite3.connect(data / "companion.sqlite3")
    owner, wanted_by = conn.execute("SELECT owner, wanted_by FROM room_leases").fetchone()
    conn.close()
    assert owner == "node-a" and wanted_by is None


class _LongLeaseSpeech(SpeechHarness):
    """The live path with leases long enough that the handover's wait for queued speech (half a lease)
    outlasts a loaded machine's transcription."""

    def settings(self):
        return dataclasses.replace(super().settings(), lease_seconds=60.0, lease_renew_seconds=5.0)


async def test_speech_still_queued_when_a_room_is_handed_over_is_in_its_advice_list_first(tmp_path):
    """A room in its transcribed advice round is handed over (companion/web.py hand_over) while what a
    participant just said is still queued (the speech worker frozen) or still open: the handover waits,
    the words land in the advice list in the database, and only then does the lease pass to the other
    process; the room's pages were closed with 4503 at once."""
    h = _LongLeaseSpeech(tmp_path / "data")
    await h.start()
    page = None
    try:
        app = h.server.app
        live = app[LIVE]
        service = live.transcription
        assert service is not None, "the speech model did not load"
        fac, invite, _ = await h.create_room(method="basismodel", language="en")
        inbrenger, sam = await h.join(invite, "Ilse"), await h.join(invite, "Sam")
        await fac.ok("inbrenger.set", participant_id=inbrenger.id)
        await fac.ok("session.start")
        steps = (await fac.state())["room"]["method"]["steps"]
        await fac.ok("step.goto", index=next(i for i, s in enumerate(steps) if s["media"]["transcribe"]))
        await fac.connect()
        voice = SpeakingTrack()
        page = MediaPage(h, sam, voice, small_camera())
        await page.open()
        await wait_for(lambda: page.peer.offers > 0 and live.media.connected(fac.room_id) == {sam.id}, 30)
        await asyncio.sleep(1.0)  # the connection carries audio before the clip starts
        worker = service.worker_pid
        os.kill(worker, signal.SIGSTOP)
        try:
            voice.say(espeak(SPOKEN, voice="en"))
            await wait_for(lambda: not voice.speaking, 30)
            # Handed over at once: the utterance may still be open (the VAD waits for silence) or queued.
            handing = asyncio.ensure_future(hand_over(app, fac.room_id, "node-x"))
            await asyncio.wait_for(fac._reader, 10)
            assert fac.ws.close_code == 4503
            await asyncio.sleep(1.0)
            assert service.pending_for(fac.room_id) >= 1 and not handing.done()
            assert Leases(app[LEASES].conn, "probe").owner_of(fac.room_id)[0] == app[LEASES].owner  # not yet passed
        finally:
            os.kill(worker, signal.SIGCONT)
        await asyncio.wait_for(handing, 40)
        assert service.pending_for(fac.room_id) == 0
        owner, left = app[LEASES].owner_of(fac.room_id)
        assert owner == "node-x" and left > 30
        said = " ".join(row[0] for row in app[LEASES].conn.execute(
            "SELECT text FROM advice_items WHERE room_id = ? ORDER BY position", (fac.room_id,)))
        assert wer(SPOKEN, said) < 0.5, said
        # This process serves the room no more: the other one restores it, advice and all.
        async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/state"), headers=fac.headers) as r:
            assert r.status == 503 and (await r.json())["error"]["code"] == "room_elsewhere"
    finally:
        if page is not None:
            await page.close()
        await h.close()


def test_a_second_process_with_the_same_node_id_is_refused_and_a_restart_after_a_crash_is_not(tmp_path):
    """Two processes with one --node-id would both count as the rooms' lease holder and serve the same rooms
    apart (an operator who copies a unit with a fixed id does this): the second refuses to start and says
    why, while the first keeps serving. A process killed and started again under its id (a crash, a
    restart by systemd) is not refused: the dead one stops renewing, the new one watches the id for 1.5
    renewal times and takes it. A clean stop frees the id at once."""
    data = tmp_path / "data"
    a = ServerProcess(data, tmp_path / "a.log", [*ARGS, "--node-id", "twin"])
    b = ServerProcess(data, tmp_path / "b.log", [*ARGS, "--node-id", "twin"])
    a2 = ServerProcess(data, tmp_path / "a2.log", [*ARGS, "--node-id", "twin"])
    try:
        a.start(120)
        b.facilitator_token = a2.facilitator_token = a.facilitator_token
        with pytest.raises(RuntimeError, match="another server process is running with the node id 'twin'"):
            b.start(120)
        assert a.proc.poll() is None
        with urllib.request.urlopen(a.base + "/healthz", timeout=5) as r:
            assert r.status == 200

        a.proc.kill()
        a.proc.wait(10)
        killed = time.monotonic()
        a2.start(120)
        # The dead process renewed at most one renewal time (5 s) before it was killed; a start that got to its
        # check within another 10 s found the id renewed less than a lease ago and had to watch it. A start
        # slower than that (a loaded machine) rightly found the id stale and took it at once.
        if time.monotonic() - killed < 10:
            # The line comes from its start-up hook, which may still be running when the server already answers.
            for _ in range(100):
                if "watching it" in a2.log_path.read_text():
                    break
                time.sleep(0.1)
            assert "watching it" in a2.log_path.read_text()
        a2.stop()
        conn = db.connect(str(data / "companion.sqlite3"))
        try:
            assert conn.execute("SELECT COUNT(*) FROM lease_nodes WHERE node_id = 'twin'").fetchone()[0] == 0
        finally:
            conn.close()
    finally:
        for server in (a, b, a2):
            server.stop()


def test_at_start_a_process_resumes_its_own_rooms_and_unleased_ones_under_way_not_new_ones(database):
    """A process starting beside running nodes (a node restarted, a worker started late) took a room made a
    moment before through another node, with no lease yet: the router sent that room's traffic to the
    node its hash names, which refused it until a handover (CI: 503 for the first request of a new room).
    Rooms not started yet wait for their first request; running ones without a lease (a database from
    before leases) and this node's own are resumed; another node's never."""
    conn = db.connect(database)
    try:
        for room_id, status in (("new", "waiting"), ("old", "running"), ("mine", "waiting"), ("theirs", "running")):
            conn.execute(
                "INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at, status) "
                "VALUES (?, 'x', 'roddelmodel', '', 'nl', 8, ?, ?, ?)", (room_id, "h" + room_id, time.time(), status))
        me, other = Leases(conn, "me", LEASE, RENEW), Leases(conn, "other", LEASE, RENEW)
        assert me.take("mine") is None and other.take("theirs") is None
        me.held.clear()  # as a process starting afresh
        assert sorted(me.resumable(["new", "old", "mine", "theirs"])) == ["mine", "old"]
    finally:
        conn.close()
