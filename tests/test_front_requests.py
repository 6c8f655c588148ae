"""Odd first bytes at the front of ``companion serve --workers 2``: every connection gets an answer soon.

The front reads only the request line to pick a room's worker. A line it cannot read as a URL, empty lines
before the request line, or bytes that are no HTTP at all (a browser speaking TLS to the plain port) must
neither break the front (a traceback, a connection left hanging) nor send a room's request to the worker
that does not hold it (503 room_elsewhere) nor keep the client waiting for a line break that never comes.
"""

from __future__ import annotations

import json
import socket
import time

import aiohttp

from companion.front import _may_be_request, request_target, room_in_path, worker_for
from companion.serve_process import ServerProcess

ARGS = ["--workers", "2", "--no-transcription", "--node-id", "oddfront"]
# The front waits 60 s for a request line; an answer must come long before.
ANSWER_SECONDS = 10.0


def test_request_lines_the_front_reads():
    assert room_in_path("http://[::1/r/abc") is None  # not a URL: no room, no exception
    assert request_target(b"\r\n\r\nGET /r/abc/ws HTTP/1.1\r\nHost: x\r\n") == "/r/abc/ws"
    assert request_target(b"GET /\r\n") is None  # HTTP/0.9: any worker refuses it
    assert _may_be_request(b"GET /r/a") and _may_be_request(b"\r\n") and _may_be_request(b"")
    assert not _may_be_request(b"\x16\x03\x01\x02\x00\x01")  # a TLS ClientHello
    assert not _may_be_request(b"\r\n\x00\x00")


def raw(server: ServerProcess, data: bytes) -> tuple[bytes, float]:
    """Send ``data`` on a new connection; (everything the server answered until it closed, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECONDS + 5) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_odd_first_bytes_are_answered_by_the_right_worker(tmp_path):
    server = ServerProcess(tmp_path / "data", tmp_path / "front.log", ARGS)
    server.start(180)
    try:
        deadline = time.monotonic() + 120
        while server.log_path.read_text().count(") serves") < 2:
            assert time.monotonic() < deadline, "both workers serving"
            time.sleep(0.1)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            async with http.post(server.base + "/api/rooms", headers=server.facilitator_headers, json={
                    "name": "Groep", "method": "basismodel", "language": "nl", "facilitator_name": "Fleur"}) as r:
                assert r.status == 201, await r.text()
                room = await r.json()
        assert worker_for(room["room_id"], 2) in (0, 1)
        request = (f"GET /api/rooms/{room['room_id']}/state HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {room['token']}\r\nConnection: close\r\n\r\n").encode()
        # Paths without a room go to the workers in turn: four tries reach both if the blank line misroutes.
        for _ in range(4):
            answer, _ = raw(server, b"\r\n" + request)
            status, body = status_and_body(answer)
            assert status == 200, body[:300]
            assert json.loads(body)["room"]["id"] == room["room_id"]

        answer, took = raw(server, b"GET http://[::1/r/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.") and status_and_body(answer)[0] == 400, answer[:200]
        assert took < ANSWER_SECONDS

        # TLS to the plain port: refused at once instead of after the front's 60 s.
        hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(64)
        answer, took = raw(server, hello)
        assert took < ANSWER_SECONDS, took
        assert answer == b"" or status_and_body(answer)[0] == 400, answer[:200]

        assert "Traceback" not in server.log_path.read_text()
    finally:
        server.stop()


def test_idle_connections_from_one_address_are_capped(tmp_path):
    """One client that opens connections and sends nothing (a slow-loris) held a file descriptor of the front
    per connection for a minute each, 1100 of them in a try; from MAX_UNROUTED_PER_ADDRESS on, its next
    connections are closed at once. Once its idle ones go, it is served again."""
    from companion.front import MAX_UNROUTED_PER_ADDRESS

    server = ServerProcess(tmp_path / "data", tmp_path / "front.log", ARGS)
    server.start(180)
    idle: list[socket.socket] = []
    try:
        for _ in range(MAX_UNROUTED_PER_ADDRESS):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.5)  # the front has accepted them all
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
            extra.settimeout(5)
            assert extra.recv(100) == b""  # closed at once, not held for 60 s
        for sock in idle:
            sock.close()
        idle.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                answer, _ = raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if status_and_body(answer)[0] == 200:
                    break
            except (OSError, IndexError, ValueError):
                pass
            assert time.monotonic() < deadline, "served again once the idle connections went"
            time.sleep(0.2)
    finally:
        for sock in idle:
            sock.close()
        server.stop()
