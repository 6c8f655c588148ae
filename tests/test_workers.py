"""``companion serve --workers 2`` as an operator starts it: one front, two worker processes.

Rooms created through the front land on both workers, each room's requests and WebSocket on the one
that holds its lease (another worker would refuse it: 503 room_elsewhere); a kept-alive connection
reused for another room's path still reaches the right worker; a worker killed with SIGKILL is
started again under the same node id and takes its rooms back (state intact, the page's WebSocket
reconnects) while the other worker's rooms carry on untouched; SIGTERM or SIGKILL on the front
leaves no process behind; https in the process with --workers 2 is refused with what to do instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from companion.front import room_in_path, worker_for
from companion.serve_process import ROOT, ServerProcess

NODE = "testnode"
ARGS = ["--workers", "2", "--no-transcription", "--node-id", NODE, "--lease-seconds", "6", "--lease-renew-seconds", "2"]


def workers_of(front_pid: int) -> dict[int, int]:
    """{worker index: pid} of the front's children (their command line carries --worker INDEX,...)."""
    found = {}
    for task in Path(f"/proc/{front_pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--worker" in argv:
                found[int(argv[argv.index(b"--worker") + 1].split(b",")[0])] = int(pid)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def lease_owner(data: Path, room_id: str) -> str | None:
    conn = sqlite3.connect(data / "companion.sqlite3")
    try:
        row = conn.execute("SELECT owner, expires_at FROM room_leases WHERE room_id = ?", (room_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


def start_front(tmp_path: Path, name: str) -> ServerProcess:
    server = ServerProcess(tmp_path / "data", tmp_path / f"{name}.log", ARGS)
    server.start(180)
    # /healthz answered by one worker; wait for the other too (the log says when each serves).
    wait_for(lambda: server.log_path.read_text().count(") serves") >= 2, 120, "both workers")
    return server


def test_room_paths_and_the_hash_are_stable():
    assert room_in_path("/r/abc/ws") == "abc"
    assert room_in_path("/api/rooms/abc/state?x=1") == "abc"
    assert room_in_path("/r/a%62c") == "abc"  # as aiohttp decodes it for the worker
    assert room_in_path("http://example.nl/r/abc/k/t") == "abc"
    assert room_in_path("/api/rooms") is None and room_in_path("/static/room.js") is None
    assert room_in_path("/healthz") is None and room_in_path("/k/token") is None
    # The same room, the same worker, in every process: no per-process salt as in hash().
    assert [worker_for("abc", 2), worker_for("abc", 3)] == [worker_for("abc", 2), worker_for("abc", 3)]
    spread = {worker_for(f"room{i}", 4) for i in range(200)}
    assert spread == {0, 1, 2, 3}


def test_tls_with_several_workers_is_refused_with_what_to_do(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "companion", "serve", "--data-dir", str(tmp_path), "--self-signed", "--workers", "2"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode == 2
    assert "--workers" in result.stderr and "nginx" in result.stderr and "Traceback" not in result.stderr
    help_text = subprocess.run([sys.executable, "-m", "companion", "serve", "--help"], capture_output=True,
                               text=True, timeout=60, cwd=ROOT).stdout
    assert "--workers" in help_text and "TLS" in help_text


async def _create(http: aiohttp.ClientSession, server: ServerProcess, name: str) -> dict:
    async with http.post(server.base + "/api/rooms", headers=server.facilitator_headers, json={
            "name": name, "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def _state(http: aiohttp.ClientSession, server: ServerProcess, room: dict) -> tuple[int, dict]:
    async with http.get(f"{server.base}/api/rooms/{room['room_id']}/state",
                        headers={"Authorization": f"Bearer {room['token']}"}) as r:
        return r.status, await r.json()


async def _welcome(http: aiohttp.ClientSession, server: ServerProcess, room: dict):
    ws = await http.ws_connect(f"{server.base}/r/{room['room_id']}/ws", headers={"Authorization": f"Bearer {room['token']}"})
    first = await ws.receive(timeout=20)
    assert first.type == aiohttp.WSMsgType.TEXT and first.json()["type"] == "welcome", first
    return ws


async def test_rooms_spread_over_workers_stay_there_and_come_back_after_a_worker_dies(tmp_path):
    data = tmp_path / "data"
    server = start_front(tmp_path, "front")
    try:
        workers = workers_of(server.pid)
        assert sorted(workers) == [0, 1], workers
        # Every connection a new one, except where the test reuses one on purpose.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            rooms: dict[int, dict] = {}
            for i in range(16):  # about half the room ids hash to each worker
                room = await _create(http, server, f"Groep {i}")
                rooms.setdefault(worker_for(room["room_id"], 2), room)
                if len(rooms) == 2:
                    break
            assert sorted(rooms) == [0, 1]
            for index, room in rooms.items():
                for _ in range(3):  # many new connections, each routed by its path
                    status, state = await _state(http, server, room)
                    assert status == 200, state
                assert lease_owner(data, room["room_id"]) == f"{NODE}/w{index}"
            await _command(http, server, rooms[1], "session.start")
            _, before = await _state(http, server, rooms[1])
            assert before["step"]["index"] == 0

            # One kept-alive connection used for both rooms: each request still reaches its room's worker.
            # The workers say so (Connection: close), so a client does not send its next request, a POST
            # included, on a connection the worker closes.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as reuse:
                for _ in range(3):
                    for room in rooms.values():
                        status, state = await _state(reuse, server, room)
                        assert status == 200, state
                        async with reuse.post(f"{server.base}/api/rooms/{room['room_id']}/commands",
                                              json={"command": "no.such"}, headers={"Authorization": f"Bearer {room['token']}"}) as r:
                            assert r.status == 400, await r.text()  # refused by the room's worker, not 503 elsewhere
                async with reuse.get(server.base + "/api/methods") as r:
                    assert r.status == 200 and r.headers["Connection"] == "close"

            staying = await _welcome(http, server, rooms[0])
            moving = await _welcome(http, server, rooms[1])

            # Worker 1 dies without a word: the front starts it again under the same node id.
            os.kill(workers[1], signal.SIGKILL)
            killed = time.monotonic()
            closed = await moving.receive(timeout=20)
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), closed
            renewed = wait_for(lambda: (w := workers_of(server.pid)).get(1) not in (None, workers[1]) and w, 30,
                               "worker 1 started again")
            assert renewed[0] == workers[0]  # the other worker was left alone
            # The page reconnects as room.js does; the connection waits in the front until the worker serves.
            again = await _welcome(http, server, rooms[1])
            back = time.monotonic() - killed
            status, after = await _state(http, server, rooms[1])
            assert status == 200 and after["step"] == before["step"] and after["room"] == before["room"], after
            assert lease_owner(data, rooms[1]["room_id"]) == f"{NODE}/w1"
            print(f"worker 1 killed: its room served again after {back:.1f} s (the restart loads the worker anew)")
            # The other worker's room never noticed: its WebSocket is open and answers.
            await staying.send_json({"type": "ping", "id": 7})
            while True:
                message = await staying.receive(timeout=10)
                assert message.type == aiohttp.WSMsgType.TEXT, message
                if message.json()["type"] == "pong":
                    break
            for ws in (staying, again):
                await ws.close()
        assert "worker 1 stopped" in server.log_path.read_text()

        # SIGTERM on the front: every worker stops cleanly, the leases are released, nothing is left.
        pids = [server.pid, *workers_of(server.pid).values()]
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(40) == 0
        wait_for(lambda: not any(alive(pid) for pid in pids), 20, "every process gone")
        said = server.log_path.read_text(errors="replace")
        assert "stopping (SIGTERM)" in said and "stopped: every worker has ended" in said, said[-2000:]
        conn = sqlite3.connect(data / "companion.sqlite3")
        leases = conn.execute("SELECT owner, expires_at FROM room_leases").fetchall()
        conn.close()
        assert leases and all(expires <= time.time() for _, expires in leases), leases
    finally:
        server.stop()


async def _command(http: aiohttp.ClientSession, server: ServerProcess, room: dict, name: str) -> None:
    async with http.post(f"{server.base}/api/rooms/{room['room_id']}/commands", json={"command": name, "args": {}},
                         headers={"Authorization": f"Bearer {room['token']}"}) as r:
        assert r.status == 200, await r.text()


def test_a_killed_front_takes_its_workers_down(tmp_path):
    server = start_front(tmp_path, "front")
    try:
        workers = workers_of(server.pid)
        grandchildren = [int(p) for pid in workers.values() for task in Path(f"/proc/{pid}/task").iterdir()
                         for p in (task / "children").read_text().split()]
        server.proc.kill()
        server.proc.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in [*workers.values(), *grandchildren]), 30, "the workers gone")
    finally:
        server.stop()

