"""A real companion server per test, and clients that talk to it like browsers do."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from companion import facilitators
from companion.config import Settings
from companion.web import ENGINE, create_app


class Person:
    """One participant: their token, an HTTP session and, when opened, a WebSocket."""

    def __init__(self, harness: "Harness", room_id: str, token: str, pid: str | None = None):
        self.h = harness
        self.room_id = room_id
        self.token = token
        self.id = pid
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.states: list[dict] = []
        self.messages: list[dict] = []
        self._reader: asyncio.Task | None = None
        self._next_id = 0
        self._waiters: dict[Any, asyncio.Future] = {}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def command(self, command: str, **args: Any) -> tuple[int, dict]:
        async with self.h.http.post(
            self.h.url(f"/api/rooms/{self.room_id}/commands"), json={"command": command, "args": args}, headers=self.headers
        ) as r:
            return r.status, await r.json()

    async def ok(self, command: str, **args: Any) -> dict:
        status, body = await self.command(command, **args)
        assert status == 200, (command, status, body)
        return body["state"]

    async def state(self) -> dict:
        async with self.h.http.get(self.h.url(f"/api/rooms/{self.room_id}/state"), headers=self.headers) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def connect(self) -> None:
        self.ws = await self.h.http.ws_connect(self.h.url(f"/r/{self.room_id}/ws"), headers=self.headers)
        self._reader = asyncio.ensure_future(self._read())
        await self.wait_state(lambda s: True)

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.json()
            self.messages.append(data)
            if data.get("type") == "state":
                self.states.append(data)
            waiter = self._waiters.pop(data.get("id"), None) if data.get("type") in ("result", "error", "pong") else None
            if waiter and not waiter.done():
                waiter.set_result(data)

    async def send(self, message: dict, timeout: float = 5) -> dict:
        """Send over the WebSocket and wait for the reply with the same id."""
        self._next_id += 1
        message = {"id": self._next_id, **message}
        future = asyncio.get_running_loop().create_future()
        self._waiters[self._next_id] = future
        await self.ws.send_json(message)
        return await asyncio.wait_for(future, timeout)

    async def wait_state(self, predicate, timeout: float = 5) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for state in self.states[seen:]:
                if predicate(state):
                    return state
            seen = len(self.states)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching state; last: {self.states[-1] if self.states else None}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=2)


class Harness:
    def __init__(self, data_dir: Path, database: str | None = None):
        self.data_dir = data_dir
        # None: the SQLite file in the data folder; else a PostgreSQL URL (--database).
        self.database = database
        self.server: TestServer | None = None
        self.http: aiohttp.ClientSession | None = None
        self.people: list[Person] = []
        # The operator's facilitator (companion facilitator add): creating a room needs their token.
        self.facilitator_token: str | None = None
        # invite token -> room id, for the join path (/api/rooms/<room>/invites/<invite>/join).
        self.invite_rooms: dict[str, str] = {}

    @property
    def facilitator_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.facilitator_token}"}

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, enable_media=False, enable_transcription=False, database=self.database)

    async def start(self) -> None:
        app = create_app(self.settings())
        if self.facilitator_token is None:
            self.facilitator_token = facilitators.add(app[ENGINE].conn, "Fleur (beheer)")[1]
        self.server = TestServer(app)
        await self.server.start_server()
        if self.http is None:
            self.http = aiohttp.ClientSession()

    async def restart(self) -> None:
        """Stop the server as a crash would leave it (sockets cut) and start a new one on the same data."""
        for person in self.people:
            person.ws = None
        await self.server.close()
        await self.start()

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def create_room(self, method: str = "roddelmodel", **extra: Any) -> tuple[Person, str, dict]:
        """A room made by the harness's facilitator: (facilitator as a Person, invite token, the 201 body)."""
        body = {"name": "Team Noord", "method": method, "language": "nl", "facilitator_name": "Fleur", **extra}
        async with self.http.post(self.url("/api/rooms"), json=body, headers=self.facilitator_headers) as r:
            data = await r.json()
            assert r.status == 201, data
        facilitator = Person(self, data["room_id"], data["token"])
        facilitator.id = (await facilitator.state())["you"]["id"]
        self.people.append(facilitator)
        invite = data["invite_url"].rsplit("/", 1)[1]
        self.invite_rooms[invite] = data["room_id"]
        return facilitator, invite, data

    async def join(self, invite: str, name: str) -> Person:
        # An invite the harness did not make (a renewed one) goes by the link of protocol 1: it redirects.
        room_id = self.invite_rooms.get(invite)
        path = f"/api/rooms/{room_id}/invites/{invite}/join" if room_id else f"/api/invites/{invite}/join"
        async with self.http.post(self.url(path), json={"name": name}) as r:
            data = await r.json()
            assert r.status == 201, data
        person = Person(self, data["room_id"], data["token"], data["participant_id"])
        self.people.append(person)
        return person

    async def close(self) -> None:
        for person in self.people:
            await person.close()
        if self.http:
            await self.http.close()
        if self.server:
            await self.server.close()


def pytest_generate_tests(metafunc):
    # A module with BOTH_DATABASES = True runs its harness tests on SQLite and on PostgreSQL
    # (a test marked sqlite_only, which looks into the SQLite file itself, on SQLite alone).
    if (
        "harness" in metafunc.fixturenames
        and getattr(metafunc.module, "BOTH_DATABASES", False)
        and metafunc.definition.get_closest_marker("sqlite_only") is None
    ):
        metafunc.parametrize("harness", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def harness(request, tmp_path):
    """The server in this test's process (aiohttp's TestServer), on SQLite unless the module asks for
    both databases (BOTH_DATABASES)."""
    database = None
    if getattr(request, "param", "sqlite") == "postgresql":
        database = request.getfixturevalue("pg_cluster").new_database(migrated=True)
    h = Harness(tmp_path / "data", database)
    await h.start()
    yield h
    await h.close()


def forwarder_choice() -> dict[str, str]:
    """The media forwarder a whole test run asks for with $COMPANION_MEDIA_FORWARDER, as ``serve`` takes it
    (served tests get it from the environment); nothing when unset, so the server's default holds."""
    chosen = os.environ.get("COMPANION_MEDIA_FORWARDER")
    return {"media_forwarder": chosen} if chosen else {}


class MediaHarness(Harness):
    """The same server with the media layer on (aiortc), still without a speech model."""

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, enable_media=True, enable_transcription=False, **forwarder_choice())


@pytest.fixture
async def media_server(tmp_path):
    h = MediaHarness(tmp_path / "data")
    await h.start()
    yield h
    await h.close()


class SpeechHarness(Harness):
    """Media and the bundled speech model in its worker process: the whole live path."""

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, enable_media=True, enable_transcription=True, **forwarder_choice())


@pytest.fixture
async def speech_server(tmp_path):
    h = SpeechHarness(tmp_path / "data")
    await h.start()
    yield h
    await h.close()


@pytest.fixture
def server(tmp_path):
    """`companion serve` in a subprocess on a fresh data folder, without speech recognition
    (tests/served.py); a test module may define its own ``server`` to start it otherwise."""
    from served import ServedCompanion

    served = ServedCompanion(tmp_path)
    served.start()
    yield served
    served.close()


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL 15 cluster for the whole session (tests/pg_cluster.py): ``new_database()``
    gives a fresh database's URL. Skipped only where Debian's binaries are missing, and never in CI."""
    from pg_cluster import PgCluster, missing_reason

    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI installs PostgreSQL: {reason}")
        pytest.skip(reason)
    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """What ``db.connect`` opens, once per backend: the SQLite file a server makes in its data folder,
    and a fresh database of the session's PostgreSQL cluster with the schema made."""
    if request.param == "sqlite":
        return tmp_path / "companion.sqlite3"
    return request.getfixturevalue("pg_cluster").new_database(migrated=True)

