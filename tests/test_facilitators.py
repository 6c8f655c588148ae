"""Only facilitators the operator knows create rooms; the operator lists and deletes rooms."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import aiohttp

from companion import facilitators
from companion.retention import DAY, purge_expired
from companion.serve_process import ServerProcess
from companion.web import ENGINE

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

ROOM = {"name": "Team Noord", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


async def test_creating_a_room_needs_a_facilitator_credential(harness):
    # No credential, a made-up one, a participant's token: all refused with how to get a link.
    async with harness.http.post(harness.url("/api/rooms"), json=ROOM) as r:
        assert r.status == 401
        body = await r.json()
        assert body["error"]["code"] == "no_facilitator" and "beheerder" in body["error"]["message"]
    fac, invite, _ = await harness.create_room()
    for token in ("x" * 32, fac.token):
        async with harness.http.post(harness.url("/api/rooms"), json=ROOM, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 401
    async with harness.http.get(harness.url("/api/facilitator")) as r:
        assert r.status == 401

    # The facilitator's link sets a cookie in this browser: the landing page's form works from then on.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(harness.url(f"/f/{harness.facilitator_token}"), allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with browser.get(harness.url("/api/facilitator")) as r:
            assert r.status == 200 and (await r.json())["name"] == "Fleur (beheer)"
        async with browser.post(harness.url("/api/rooms"), json=ROOM) as r:
            assert r.status == 201, await r.text()
    async with harness.http.get(harness.url("/f/" + "y" * 32), allow_redirects=False) as r:
        assert r.status == 404 and "beheerder" in await r.text()

    # Revoked: the link and its cookie create nothing more; the rooms made stay.
    conn = harness.server.app[ENGINE].conn
    assert facilitators.remove(conn, "Fleur (beheer)")
    async with harness.http.post(harness.url("/api/rooms"), json=ROOM, headers=harness.facilitator_headers) as r:
        assert r.status == 401
    assert (await fac.state())["room"]["status"] == "waiting"


async def test_room_limits_per_facilitator_and_server(harness):
    engine = harness.server.app[ENGINE]
    engine.max_rooms_per_facilitator = 2
    await harness.create_room()
    await harness.create_room()
    async with harness.http.post(harness.url("/api/rooms"), json=ROOM, headers=harness.facilitator_headers) as r:
        assert r.status == 429 and (await r.json())["error"]["code"] == "too_many_rooms"
    # Another facilitator has rooms of their own to make, until the server as a whole is full.
    _, other = facilitators.add(engine.conn, "Sanne")
    engine.max_rooms = 3
    headers = {"Authorization": f"Bearer {other}"}
    async with harness.http.post(harness.url("/api/rooms"), json=ROOM, headers=headers) as r:
        assert r.status == 201
    async with harness.http.post(harness.url("/api/rooms"), json=ROOM, headers=headers) as r:
        assert r.status == 429 and (await r.json())["error"]["code"] == "server_full"


async def test_unstarted_rooms_expire_after_a_day(harness):
    idle, _, _ = await harness.create_room(name="Nooit begonnen")
    started, _, _ = await harness.create_room(name="Wel begonnen")
    await started.ok("session.start")
    conn = harness.server.app[ENGINE].conn
    assert purge_expired(conn, time.time() + 0.5 * DAY) == []
    assert purge_expired(conn, time.time() + 1.1 * DAY) == [idle.room_id]
    assert conn.execute("SELECT COUNT(*) FROM room_owners").fetchone()[0] == 1


def test_operator_commands_and_the_first_link_of_a_fresh_folder(tmp_path):
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", ["--no-transcription"])
    server.facilitator_token = "none yet"  # as the README's first command: serve on an empty folder
    server.start(60)
    try:
        log = (tmp_path / "server.log").read_text()
        links = re.findall(r"(http://\S+/f/(\S+))", log)
        assert len(links) == 1, log
        url, token = links[0]
        assert url.startswith(f"http://localhost:{server.port}/f/")
        server.stop()
        server.start(60)  # shown once: a restart prints no new link
        assert len(re.findall(r"/f/\S+", (tmp_path / "server.log").read_text())) == 1
        request = urllib.request.Request(
            server.base + "/api/rooms", data=b'{"name": "Team", "method": "basismodel", "facilitator_name": "Ik"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 201
            room_id = json.loads(r.read())["room_id"]

        data = ["--data-dir", str(tmp_path / "data")]
        added = cli("facilitator", "add", "Sanne de Vries", "--public-url", "https://intervisie.example.nl", *data)
        assert added.returncode == 0, added.stderr
        assert re.search(r"https://intervisie\.example\.nl/f/[\w-]{32}\b", added.stdout)
        assert cli("facilitator", "add", "sanne de vries", *data).returncode == 1  # names are unique
        listed = cli("facilitator", "list", *data)
        assert "begeleider" in listed.stdout and "Sanne de Vries" in listed.stdout and "1 room(s)" in listed.stdout
        assert token not in listed.stdout
        rooms = cli("rooms", "list", *data)
        assert room_id in rooms.stdout and "waiting" in rooms.stdout and "by begeleider" in rooms.stdout
        assert cli("facilitator", "remove", "begeleider", *data).returncode == 0
        assert cli("facilitator", "remove", "begeleider", *data).returncode == 1
        assert "begeleider" not in cli("facilitator", "list", *data).stdout
        deleted = cli("rooms", "delete", room_id, *data)
        assert deleted.returncode == 0, deleted.stderr
        assert room_id not in cli("rooms", "list", *data).stdout
        assert cli("rooms", "delete", room_id, *data).returncode == 1
    finally:
        server.stop()
