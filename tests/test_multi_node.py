"""Several machines, tested with the real parts on loopback: Debian's nginx, configured by
`companion proxy-config nginx`, in front of two `companion serve` processes standing for two nodes
(own --node-id, port and data folder) on one PostgreSQL database (Debian's, a throwaway cluster made
by the test: tests/pg_cluster.py), with leases of 3 s renewed every second.

Rooms are made through nginx and spread over both nodes by the consistent hash of their id; every
request and WebSocket of a room lands on the node that holds its lease (the other would refuse it with
503 / 4503). A room is brought into its advice round with advice items, a timer and three real
aiortc peers (camera and microphone, one of them signed in by the session cookie of her personal link as
a browser is; the inbrenger's video cut both ways, the group's audio reaching them); its node is killed
with SIGKILL. Within the lease time nginx's traffic for the room reaches the
other node, which takes the room over from the database: state, step, timer, gates and advice items
as they were, the peers' WebSockets and media connections back on their own (with the room page's
backoff), the gates holding on the new connections, and the room going on from there. A room of the
surviving node notices nothing. When the dead node comes back, nginx sends the room's traffic to it
again and the other node hands the room back to it, the pages following. The same with nodes that each run two workers (nginx picks the node,
the node's front the worker) and a whole node killed at once. Every process the test starts is
stopped at the end, nginx included.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from media_page import small_camera

from companion import proxy_config
from companion.media.page import RoomPage
from companion.media.peer import ToneTrack
from companion.serve_process import ServerProcess, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# In CI the README's command installs nginx: missing there is a failure, not a skip.
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) and not os.environ.get("CI"), reason="no nginx")

LEASE, RENEW = 3.0, 1.0
ADVICE_STEP = 5  # 0-based "Adviesronde" in the roddelmodel
MAX_ROOMS = 16  # rooms made until both nodes serve some (the hash decides where each goes)
# The room page's reconnect backoff (static/js/protocol.js), without its jitter.
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)


class Nginx:
    """Debian's nginx in the foreground, every file of it in ``folder``."""

    def __init__(self, folder: Path, site: str, port: int):
        self.folder, self.port = folder, port
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "companion.conf").write_text(site)
        self.conf = folder / "nginx.conf"
        self.conf.write_text(f"""
user root;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
daemon off;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
  include {folder}/companion.conf;
}}
""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        checked = subprocess.run([NGINX, "-t", "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(self.conf)],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen([NGINX, "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Cluster:
    """Two nodes on one shared database behind nginx, started as an operator starts them."""

    def __init__(self, tmp_path: Path, database: str, workers: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database = database
        common = ["--no-transcription", "--lease-seconds", str(LEASE), "--lease-renew-seconds", str(RENEW),
                  "--public-url", self.base, "--trusted-proxy", "127.0.0.1"]
        self.nodes = {
            # Each node its own data folder (its methods, its speech model), as on two machines.
            name: ServerProcess(tmp_path / name, tmp_path / f"{name}.log",
                                [*common, "--node-id", name, "--workers", str(workers)], database=database)
            for name in ("node-a", "node-b")
        }
        upstreams = [f"127.0.0.1:{node.port}" for node in self.nodes.values()]
        site = proxy_config.nginx_conf(proxy_config.NginxOptions(upstreams, listen=[f"127.0.0.1:{self.port}"]))
        self.nginx = Nginx(tmp_path / "nginx", site, self.port)

    def start(self) -> None:
        a, b = self.nodes.values()
        a.start(180)
        b.facilitator_token = a.facilitator_token  # one database: the operator's facilitator is known to both
        b.start(180)
        self.nginx.start()

    @property
    def facilitator_headers(self) -> dict[str, str]:
        return next(iter(self.nodes.values())).facilitator_headers

    def owner(self, room_id: str) -> str | None:
        """The node id holding the room's lease, read from the shared database."""
        import psycopg

        with psycopg.connect(self.database, connect_timeout=10) as conn:
            row = conn.execute("SELECT owner FROM room_leases WHERE room_id = %s", (room_id,)).fetchone()
        return row[0] if row else None

    def crash(self, name: str) -> None:
        """The machine of node ``name`` dies: SIGKILL to its process and every process under it at once."""
        proc = self.nodes[name].proc
        assert proc is not None
        pids = [proc.pid]
        for pid in pids:  # grows while it walks: children of children
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pids += [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:
                pass  # gone by itself meanwhile
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        proc.wait(10)
        self.nodes[name].proc = None

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes.values():
            if node.proc is not None:
                node.proc.kill()  # nothing to keep: the database is thrown away with the test cluster
                node.proc.wait(20)
                node.proc = None


@pytest.fixture
def cluster(tmp_path, pg_cluster):
    c = Cluster(tmp_path, pg_cluster.new_database("nodes"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


class ReconnectingPage:
    """A participant's open room page without a browser: its WebSocket and aiortc peer (camera and
    microphone), opened again as the room page does (static/js/protocol.js: backoff 0.5, 1, 2, 4, 8 s)
    whenever the socket drops, each time with a fresh media connection, as media.js makes one.
    ``token`` None: the socket is authenticated by the session cookie in ``http``'s jar, as a browser's."""

    def __init__(self, http: aiohttp.ClientSession, base: str, room_id: str, token: str | None, pid: str):
        self.http, self.pid = http, pid
        self.url = base.replace("http://", "ws://") + f"/r/{room_id}/ws"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.page: RoomPage | None = None
        self.opened: list[RoomPage] = []
        self.drops: list[float] = []  # monotonic times the socket dropped
        self.refusals: list[str] = []
        self._stopped = False
        self._task: asyncio.Task | None = None
        self._old: list[asyncio.Task] = []

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        attempt = 0
        while not self._stopped:
            page = RoomPage(self.http, self.url, self.headers, self.pid, audio=ToneTrack(), video=small_camera(10.0))
            try:
                await page.open()
            except (aiohttp.ClientError, OSError) as exc:
                self.refusals.append(repr(exc))
            else:
                self.page = page
                self.opened.append(page)
                await page._reader
                if page.states:
                    attempt = 0
                if page.ws is not None and page.ws.close_code not in (None, 1000, 1006, 4503):
                    self.refusals.append(f"closed {page.ws.close_code}")
                self.drops.append(time.monotonic())
            self._old.append(asyncio.ensure_future(page.close()))  # aiortc's close takes its time
            if self._stopped:
                return
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    @property
    def connections(self) -> int:
        """Sockets that got as far as the room's state."""
        return sum(1 for page in self.opened if page.states)

    @property
    def connected(self) -> bool:
        return self.page is not None and self.page.ws is not None and not self.page.ws.closed and bool(self.page.states)

    def received(self, source: str, kind: str) -> int:
        """Frames of ``source``'s ``kind`` on the current media connection."""
        return self.page.peer.received[(source, kind)] if self.page is not None else 0

    async def close(self) -> None:
        self._stopped = True
        if self.page is not None:
            await self.page.close()
        if self._task is not None:
            await asyncio.wait([self._task], timeout=10)
            self._task.cancel()
        if self._old:
            await asyncio.wait(self._old, timeout=10)


async def wait_for(condition, timeout: float, what: str) -> float:
    """Seconds it took until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out after {timeout:.0f} s waiting for {what}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def comparable(state: dict) -> dict:
    """What must survive the move unchanged (presence and clocks move on by themselves)."""
    return {
        "room": state["room"], "step": state["step"], "inbrenger": state["inbrenger"], "question": state["question"],
        "participants": [{k: v for k, v in p.items() if k != "online"} for p in state["participants"]],
        "advice": [(i["id"], i["text"], i["speaker"], i["participant_id"]) for i in state["advice"]["items"]],
        "planned": state["timer"]["planned"], "running": state["timer"]["running"],
    }


async def test_rooms_stay_on_their_node_and_move_within_the_lease_time_when_it_is_killed(cluster):
    base = cluster.base
    async with aiohttp.ClientSession() as http:
        async def call(method: str, path: str, token: str | None = None, body: dict | None = None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, base + path, json=body, headers=headers, allow_redirects=False) as r:
                data = await r.json() if r.content_type == "application/json" else await r.text()
                return r.status, data

        async def ok(method: str, path: str, token: str | None = None, body: dict | None = None):
            status, data = await call(method, path, token, body)
            assert status in (200, 201), (method, path, status, data)
            return data

        # Rooms made through nginx (any node makes them); each is taken by the node its id hashes to.
        rooms: dict[str, dict] = {}
        owners: dict[str, str] = {}
        while len(set(owners.values())) < 2 or len(rooms) < 4:
            assert len(rooms) < MAX_ROOMS, f"every room went to one node: {owners}"
            async with http.post(base + "/api/rooms", headers=cluster.facilitator_headers, json={
                    "name": f"Groep {len(rooms) + 1}", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
                assert r.status == 201, await r.text()
                room = await r.json()
            assert room["invite_url"].startswith(f"{base}/r/{room['room_id']}/i/")
            rooms[room["room_id"]] = room
            await ok("GET", f"/api/rooms/{room['room_id']}/state", room["token"])
            owners[room["room_id"]] = cluster.owner(room["room_id"])
        assert set(owners.values()) == set(cluster.nodes)

        # Every kind of request of every room lands on its node: the other node would answer 503
        # (room_elsewhere) or close the socket with 4503.
        for room_id, room in rooms.items():
            fac = room["token"]
            invite = room["invite_url"].rsplit("/", 1)[1]
            for _ in range(3):
                await ok("GET", f"/api/rooms/{room_id}/state", fac)
                await ok("GET", f"/api/rooms/{room_id}/advice", fac)
                await ok("GET", f"/api/rooms/{room_id}/invites/{invite}")
                status, _ = await call("GET", f"/r/{room_id}/k/{fac}")
                assert status == 303
                async with http.get(f"{base}/api/rooms/{room_id}/advice/export.md", headers={"Authorization": f"Bearer {fac}"}) as r:
                    assert r.status == 200
                async with http.ws_connect(base.replace("http", "ws") + f"/r/{room_id}/ws", headers={"Authorization": f"Bearer {fac}"}) as ws:
                    assert (await ws.receive_json(timeout=10))["type"] == "welcome"
            assert cluster.owner(room_id) == owners[room_id]

        # The room that will lose its node, and one on the node that stays.
        moving = next(iter(rooms))
        victim = owners[moving]
        staying = next(room_id for room_id, owner in owners.items() if owner != victim)
        survivor = owners[staying]
        fac = rooms[moving]["token"]
        invite = rooms[moving]["invite_url"].rsplit("/", 1)[1]
        anne, bas = [await ok("POST", f"/api/rooms/{moving}/invites/{invite}/join", None, {"name": n}) for n in ("Anne", "Bas")]
        fac_id = (await ok("GET", f"/api/rooms/{moving}/state", fac))["you"]["id"]

        async def command(name: str, **args) -> dict:
            return (await ok("POST", f"/api/rooms/{moving}/commands", fac, {"command": name, "args": args}))["state"]

        await command("inbrenger.set", participant_id=bas["participant_id"])
        await command("session.start")
        await command("step.goto", index=ADVICE_STEP)
        await command("timer.add", minutes=2)
        for text, who in (("Vraag je leidinggevende om een vast overleg.", anne["participant_id"]),
                          ("Schrijf een week lang op waar je ja op zegt.", None)):
            await ok("POST", f"/api/rooms/{moving}/advice", fac, {"text": text, "participant_id": who})

        # The room's three people with camera and microphone, through nginx; the media straight to the node.
        # Anne's "browser" opened her personal link: her socket comes in by the session cookie, which
        # every node knows from the shared database.
        anne_browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with anne_browser.get(f"{base}/r/{moving}/k/{anne['token']}", allow_redirects=False) as r:
            assert r.status == 303 and "companion" in r.cookies, r.status
        pages = {
            "fac": ReconnectingPage(http, base, moving, fac, fac_id),
            "anne": ReconnectingPage(anne_browser, base, moving, None, anne["participant_id"]),
            "bas": ReconnectingPage(http, base, moving, bas["token"], bas["participant_id"]),
        }
        ids = {name: page.pid for name, page in pages.items()}
        group = ("fac", "anne")
        # A page of the room on the other node, reading all along (it answers the server's pings).
        calm = await http.ws_connect(base.replace("http", "ws") + f"/r/{staying}/ws",
                                     headers={"Authorization": f"Bearer {rooms[staying]['token']}"})
        assert (await calm.receive_json(timeout=10))["type"] == "welcome"

        async def read_calm() -> aiohttp.WSMessage:
            while True:  # until it closes: that would be a failure
                msg = await calm.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return msg

        calm_reader = asyncio.ensure_future(read_calm())
        try:
            for page in pages.values():
                page.start()

            def advice_round_media(since: dict | None = None) -> bool:
                """Each of the group sees and hears the other; the inbrenger hears the group."""
                since = since or {}
                def more(name, source, kind):
                    return pages[name].received(ids[source], kind) > since.get((name, source, kind), 0) + 10
                return (all(pages[n].connected for n in pages)
                        and more("fac", "anne", "video") and more("anne", "fac", "video")
                        and more("fac", "anne", "audio") and more("anne", "fac", "audio")
                        and more("bas", "fac", "audio") and more("bas", "anne", "audio"))

            def gated() -> dict:
                """Video the advice round must hold back: the inbrenger's to the group, the group's to them."""
                return {(n, s): pages[n].received(ids[s], "video")
                        for n, s in (("fac", "bas"), ("anne", "bas"), ("bas", "fac"), ("bas", "anne"))}

            await wait_for(advice_round_media, 90, "media in the advice round")
            assert set(gated().values()) == {0}, gated()
            before = await ok("GET", f"/api/rooms/{moving}/state", fac)
            assert before["step"]["index"] == ADVICE_STEP and len(before["advice"]["items"]) == 2
            assert [p["hidden"] for p in (await ok("GET", f"/api/rooms/{moving}/state", anne["token"]))["participants"]
                    if p["id"] == ids["bas"]] == [True]
            assert cluster.owner(moving) == victim and cluster.owner(staying) == survivor

            # The node dies without a word, in the middle of the advice round.
            cluster.nodes[victim].proc.kill()
            killed = time.monotonic()
            cluster.nodes[victim].proc.wait(10)
            cluster.nodes[victim].proc = None

            # Through the same nginx address the room answers again, from the other node, within the lease.
            while True:
                status, after = await call("GET", f"/api/rooms/{moving}/state", fac)
                if status == 200 or time.monotonic() - killed > LEASE + 15:
                    break
                assert status == 503 and after["error"]["code"] == "room_elsewhere", (status, after)
                await asyncio.sleep(0.1)
            took = time.monotonic() - killed
            print(f"moved: the room answered from {survivor} {took:.2f} s after {victim} was killed "
                  f"(lease {LEASE} s, renewed every {RENEW} s)")
            assert status == 200, after
            assert took <= LEASE + 1.5, took
            assert cluster.owner(moving) == survivor
            assert comparable(after) == comparable(before)
            waited = after["server_time"] - before["server_time"]
            assert abs(after["timer"]["elapsed"] - before["timer"]["elapsed"] - waited) < 1.5, (before["timer"], after["timer"])
            assert [p["hidden"] for p in (await ok("GET", f"/api/rooms/{moving}/state", anne["token"]))["participants"]
                    if p["id"] == ids["bas"]] == [True]

            # The pages came back on their own, with new media connections to the surviving node,
            # and the advice round's gates hold on them.
            try:
                back = await wait_for(lambda: all(p.connections >= 2 and p.connected for p in pages.values()), 30, "the pages back")
            except AssertionError:
                raise AssertionError({n: (p.connections, p.connected, [d - killed for d in p.drops], p.refusals,
                                          p.page.ws.closed if p.page and p.page.ws else None, p.page.ws.close_code if p.page and p.page.ws else None)
                                      for n, p in pages.items()}) from None
            media_back = await wait_for(advice_round_media, 60, "media again after the move")
            print(f"pages back {took + back:.1f} s, media {took + back + media_back:.1f} s after the kill")
            assert all(p.drops and p.drops[0] >= killed for p in pages.values())
            assert set(gated().values()) == {0}, gated()
            for name in pages:
                assert pages[name].page.state["step"]["index"] == ADVICE_STEP
                assert [i["text"] for i in pages[name].page.state["advice"]["items"]] == [i[1] for i in comparable(before)["advice"]]
                assert pages[name].page.peer.errors == [] and pages[name].page.errors == []

            # The room goes on from there: the facilitator's page moves it on, the gates open.
            assert (await pages["fac"].page.command("step.next"))["ok"]
            assert (await ok("GET", f"/api/rooms/{moving}/state", fac))["step"]["index"] == ADVICE_STEP + 1
            await wait_for(lambda: all(v > 5 for v in gated().values()), 30, "the inbrenger's video back in the next step")
            assert cluster.owner(moving) == survivor

            # The other node's room noticed nothing: its socket stayed open, its node kept it.
            assert not calm_reader.done(), calm_reader.result()
            assert cluster.owner(staying) == survivor
            await ok("GET", f"/api/rooms/{staying}/state", rooms[staying]["token"])
            # Every other room of the dead node moved too, on its next request.
            for room_id, owner in owners.items():
                await ok("GET", f"/api/rooms/{room_id}/state", rooms[room_id]["token"])
                assert cluster.owner(room_id) == survivor
            assert all(p.refusals == [] for p in pages.values()), {n: p.refusals for n, p in pages.items()}
        finally:
            calm_reader.cancel()
            await calm.close()
            for page in pages.values():
                await page.close()
            await anne_browser.close()


def media_flowing(pages: dict, ids: dict, since: dict | None = None) -> bool:
    """The advice round's media: fac and anne see and hear each other; bas (the inbrenger) hears them."""
    since = since or {}

    def more(name, source, kind):
        return pages[name].received(ids[source], kind) > since.get((name, source, kind), 0) + 10

    return (all(pages[n].connected for n in pages)
            and more("fac", "anne", "video") and more("anne", "fac", "video")
            and more("fac", "anne", "audio") and more("anne", "fac", "audio")
            and more("bas", "fac", "audio") and more("bas", "anne", "audio"))


def gated_video(pages: dict, ids: dict) -> dict:
    """Video the advice round must hold back: the inbrenger's to the group, the group's to them."""
    return {(n, s): pages[n].received(ids[s], "video") for n, s in (("fac", "bas"), ("anne", "bas"), ("bas", "fac"), ("bas", "anne"))}


async def test_a_room_that_moved_is_served_again_after_its_node_comes_back(cluster):
    """The dead node is started again (same --node-id and port, as systemd does after the power came back).
    nginx sends the rooms that hash to it there again once its fail_timeout is over; a room that moved to
    the other node while it was down must then be served, not refused for good: the other node hands it
    back (companion/leases.py) once node-a asks for it. The room is in its advice round with three open
    pages (real aiortc peers) on node-b; they are closed with 4503, reconnect through nginx to node-a and
    the round goes on there: step, timer, gates and advice list as they were, sound and picture back."""
    base = cluster.base
    async with aiohttp.ClientSession() as http:
        async def call(method: str, path: str, token: str | None, body: dict | None = None):
            async with http.request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
                return r.status, await r.json()

        async def ok(method: str, path: str, token: str | None, body: dict | None = None) -> dict:
            status, data = await call(method, path, token, body)
            assert status in (200, 201), (path, status, data)
            return data

        for _ in range(MAX_ROOMS):
            async with http.post(base + "/api/rooms", headers=cluster.facilitator_headers, json={
                    "name": "Groep", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
                room = await r.json()
            await ok("GET", f"/api/rooms/{room['room_id']}/state", room["token"])
            if cluster.owner(room["room_id"]) == "node-a":
                break
        else:
            pytest.fail("no room went to node-a")
        room_id, fac = room["room_id"], room["token"]
        invite = room["invite_url"].rsplit("/", 1)[1]
        anne, bas = [await ok("POST", f"/api/rooms/{room_id}/invites/{invite}/join", None, {"name": n}) for n in ("Anne", "Bas")]
        fac_id = (await ok("GET", f"/api/rooms/{room_id}/state", fac))["you"]["id"]
        for name, args in (("inbrenger.set", {"participant_id": bas["participant_id"]}), ("session.start", {}),
                           ("step.goto", {"index": ADVICE_STEP}), ("timer.add", {"minutes": 2})):
            await ok("POST", f"/api/rooms/{room_id}/commands", fac, {"command": name, "args": args})
        await ok("POST", f"/api/rooms/{room_id}/advice", fac, {"text": "Plan een gesprek met je team.", "participant_id": None})
        before = await ok("GET", f"/api/rooms/{room_id}/state", fac)

        node = cluster.nodes["node-a"]
        node.proc.kill()
        node.proc.wait(10)
        node.proc = None
        killed = time.monotonic()
        while (await call("GET", f"/api/rooms/{room_id}/state", fac))[0] != 200:
            assert time.monotonic() - killed < LEASE + 10, "the room never moved"
            await asyncio.sleep(0.2)
        assert cluster.owner(room_id) == "node-b"

        pages = {
            "fac": ReconnectingPage(http, base, room_id, fac, fac_id),
            "anne": ReconnectingPage(http, base, room_id, anne["token"], anne["participant_id"]),
            "bas": ReconnectingPage(http, base, room_id, bas["token"], bas["participant_id"]),
        }
        ids = {name: page.pid for name, page in pages.items()}
        returning: asyncio.Task | None = None
        try:
            for page in pages.values():
                page.start()
            await wait_for(lambda: media_flowing(pages, ids), 90, "media in the advice round on node-b")
            assert set(gated_video(pages, ids).values()) == {0}
            on_b = {name: page.connections for name, page in pages.items()}

            await asyncio.to_thread(node.start, 180)
            # nginx tries the node again after its fail_timeout; from then on the room must answer.
            back = time.monotonic()

            async def pages_return() -> tuple[float, float]:
                """The pages closed by node-b come back on their own to node-a, media and gates with them."""
                await wait_for(lambda: all(p.connections > on_b[n] and p.connected for n, p in pages.items()),
                               10 + 3 * LEASE + 30, "the pages back")
                pages_back = time.monotonic() - back
                since = {(n, s, k): pages[n].received(ids[s], k) for n in pages for s in ids for k in ("audio", "video")}
                await wait_for(lambda: media_flowing(pages, ids, since), 60, "media again on node-a")
                return pages_back, time.monotonic() - back

            returning = asyncio.ensure_future(pages_return())
            statuses, since = [], None
            while time.monotonic() - back < 10 + 3 * LEASE:
                status, after = await call("GET", f"/api/rooms/{room_id}/state", fac)
                statuses.append(status)
                if status != 200:
                    assert after["error"]["code"] == "room_elsewhere", after
                    since = None
                elif since is None:
                    since = time.monotonic() - back
                await asyncio.sleep(0.5)
            assert set(statuses[-4:]) == {200}, statuses
            # node-b handed the room back to the node nginx sends it to.
            assert cluster.owner(room_id) == "node-a"
            print(f"node back: the room answered again for good {since:.1f} s after node-a was up "
                  f"(nginx fail_timeout {proxy_config.FAIL_TIMEOUT}, lease {LEASE} s); statuses every 0.5 s: {statuses}")
            assert comparable(after) == comparable(before)
            waited = after["server_time"] - before["server_time"]
            assert abs(after["timer"]["elapsed"] - before["timer"]["elapsed"] - waited) < 1.5, (before["timer"], after["timer"])

            # The pages were closed by node-b and came back on their own to node-a, media and gates with them.
            pages_back, media_back = await returning
            drops = sorted(d - back for p in pages.values() for d in p.drops)
            print(f"node back: pages closed by node-b {drops[0]:.1f}-{drops[-1]:.1f} s, all back by {pages_back:.1f} s, "
                  f"sound and picture by {media_back:.1f} s after node-a was up")
            assert set(gated_video(pages, ids).values()) == {0}, gated_video(pages, ids)
            for name, page in pages.items():
                assert page.page.state["step"]["index"] == ADVICE_STEP
                assert [i["text"] for i in page.page.state["advice"]["items"]] == ["Plan een gesprek met je team."]
                assert page.page.peer.errors == [] and page.page.errors == [] and page.refusals == [], name
            assert (await pages["fac"].page.command("step.next"))["ok"]
            assert (await ok("GET", f"/api/rooms/{room_id}/state", fac))["step"]["index"] == ADVICE_STEP + 1
            assert cluster.owner(room_id) == "node-a"
        finally:
            if returning is not None:
                returning.cancel()
            for page in pages.values():
                await page.close()


async def test_nodes_with_workers_route_each_room_to_one_worker_and_move_when_a_node_dies(tmp_path, pg_cluster):
    """The set-up the README gives for several machines, each using its cores: nginx in front of two nodes
    that each run `companion serve --workers 2`. nginx picks the node by the room's hash, the node's front
    the worker; every request and WebSocket of a room reaches the one worker holding its lease
    (`<node>/w<i>`). When a whole node dies (its front and workers killed at once), its rooms continue on
    a worker of the other node within the lease time."""
    cluster = Cluster(tmp_path, pg_cluster.new_database("workers"), workers=2)
    try:
        cluster.start()
        base = cluster.base
        async with aiohttp.ClientSession() as http:
            async def state(room: dict) -> int:
                async with http.get(f"{base}/api/rooms/{room['room_id']}/state",
                                    headers={"Authorization": f"Bearer {room['token']}"}) as r:
                    return r.status

            rooms, owners = [], {}
            while len({owner.split("/")[0] for owner in owners.values()}) < 2 or len(rooms) < 6:
                assert len(rooms) < MAX_ROOMS, f"every room went to one node: {owners}"
                async with http.post(base + "/api/rooms", headers=cluster.facilitator_headers, json={
                        "name": f"Groep {len(rooms) + 1}", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
                    assert r.status == 201, await r.text()
                    room = await r.json()
                rooms.append(room)
                for _ in range(3):  # the other worker of the node, or the other node, would refuse it
                    assert await state(room) == 200
                    async with http.ws_connect(base.replace("http", "ws") + f"/r/{room['room_id']}/ws",
                                               headers={"Authorization": f"Bearer {room['token']}"}) as ws:
                        assert (await ws.receive_json(timeout=10))["type"] == "welcome"
                owners[room["room_id"]] = cluster.owner(room["room_id"])
            assert all(owner.split("/")[0] in cluster.nodes and owner.split("/")[1] in ("w0", "w1") for owner in owners.values()), owners
            print(f"rooms on {len(set(owners.values()))} workers of 2 nodes: {sorted(owners.values())}")

            victim = owners[rooms[0]["room_id"]].split("/")[0]
            cluster.crash(victim)
            killed = time.monotonic()
            moved = [room for room in rooms if owners[room["room_id"]].startswith(victim + "/")]
            for room in moved:
                while (status := await state(room)) != 200:
                    assert status == 503 and time.monotonic() - killed < LEASE + 10, status
                    await asyncio.sleep(0.1)
                owner = cluster.owner(room["room_id"])
                assert not owner.startswith(victim + "/") and owner.split("/")[1] in ("w0", "w1"), owner
            took = time.monotonic() - killed
            print(f"{len(moved)} room(s) of the dead node answered from the other node {took:.2f} s after the kill")
            assert took <= LEASE + 1.5, took
            for room in rooms:
                if room not in moved:
                    assert owners[room["room_id"]] == cluster.owner(room["room_id"])  # the others stayed put
                    assert await state(room) == 200
    finally:
        cluster.stop()
