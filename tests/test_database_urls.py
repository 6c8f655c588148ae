"""What ``--database`` an operator can give, and how a wrong one fails: with a message, soon.

A PostgreSQL host that takes the connection and never answers (hung, or a firewall that drops packets):
``serve`` and ``migrate`` fail after ``db.CONNECT_SECONDS`` instead of waiting silently. The "database" is a
loopback socket that accepts and then says nothing, as such a host does. A mistyped URL is refused as
one, not taken for the name of a new SQLite file.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from companion import db


@pytest.fixture
def silent_host():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("open_it", [db.connect, db.migrate], ids=["connect", "migrate"])
def test_a_database_that_never_answers_is_given_up_on(silent_host, monkeypatch, open_it):
    monkeypatch.setattr(db, "CONNECT_SECONDS", 2)
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        open_it(f"postgresql://companion@127.0.0.1:{silent_host}/companion")
    took = time.monotonic() - started
    assert took < 20, took
    assert "timeout" in str(caught.value).lower() or "timed out" in str(caught.value).lower(), caught.value


def test_the_urls_own_connect_timeout_and_keepalives_win():
    ours = {"connect_timeout": db.CONNECT_SECONDS, **db.KEEPALIVES}
    assert db._pg_options("postgresql://u@h:5432/d") == ours
    assert db._pg_options("postgresql://u@h:5432/d?connect_timeout=3") == db.KEEPALIVES
    assert db._pg_options("postgresql://u@[::1/x") == ours
    given = db._pg_options("postgresql://u@h/d?keepalives_idle=60&connect_timeout=4")
    assert "connect_timeout" not in given and "keepalives_idle" not in given and given["keepalives"] == 1


@pytest.mark.parametrize("url", ["postgresql:/companion@db/companion", "postgresq://companion@db/companion",
                                 "mysql://companion@db/companion", "sqlite:/relative.db"])
def test_a_mistyped_url_is_refused_not_made_a_file(tmp_path, url):
    with pytest.raises(ValueError, match="unknown database"):
        db.sqlite_path(url)
    done = subprocess.run([sys.executable, "-m", "companion", "migrate", "--database", url], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "unknown database" in done.stderr and "Traceback" not in done.stderr, done
    assert list(tmp_path.iterdir()) == []  # no SQLite file made beside
    # Paths stay paths: a data folder's file, and SQLite's own file: URIs for in-memory databases.
    assert db.sqlite_path(tmp_path / "c.sqlite3") == str(tmp_path / "c.sqlite3")
    assert db.sqlite_path("sqlite:///" + str(tmp_path / "c.sqlite3")) == str(tmp_path / "c.sqlite3")
    db.connect(":memory:").close()


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--no-transcription", "--port", "0"], ["rooms", "list"]])
@pytest.mark.parametrize("url,says", [("garbage", "unknown database"), ("companion.db", "unknown database"),
                                      ("postgresql://u@[::1/x", "not a database URL"),
                                      ("postgresql://u@db:port/x", "not a database URL")])
def test_a_command_line_database_must_be_a_url(tmp_path, command, url, says):
    """A bare word would have become an SQLite file of that name wherever the command ran; a host or port
    that cannot be read gave Python's own error. Both are refused by the option itself, before anything runs."""
    done = subprocess.run([sys.executable, "-m", "companion", *command, "--database", url], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("harness", ["postgresql"], indirect=True)
async def test_a_database_gone_for_a_while_gives_try_again_then_the_room_goes_on(harness, pg_cluster, caplog):
    """PostgreSQL restarting (its connections cut, new ones refused): a request gets 503 with Retry-After
    and a Dutch message, the log one line without a traceback; once it is back the room answers as before."""
    import psycopg

    facilitator, _, _ = await harness.create_room()
    before = await facilitator.state()
    name = harness.database.rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            for _ in range(2):  # the cut connection, then one that cannot be made
                async with harness.http.get(harness.url(f"/api/rooms/{facilitator.room_id}/state"),
                                            headers=facilitator.headers) as r:
                    body = await r.json()
                    assert r.status == 503 and r.headers["Retry-After"] == "5", body
                    assert body["error"]["code"] == "database_unavailable"
                    assert body["error"]["message_en"] != body["error"]["message"]
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # Back: once the connection's backoff is over (a page retries on its own meanwhile).
    for _ in range(100):
        async with harness.http.get(harness.url(f"/api/rooms/{facilitator.room_id}/state"),
                                    headers=facilitator.headers) as r:
            if r.status != 503:
                break
        await asyncio.sleep(0.1)
    after = await facilitator.state()
    assert after["room"] == before["room"]
    assert "database unavailable" in caplog.text and "Traceback" not in caplog.text


def test_migrating_logs_the_revisions_it_runs_and_not_alembics_plugins(tmp_path, caplog):
    import logging

    path = tmp_path / "old.sqlite3"
    import sqlite3

    conn = sqlite3.connect(path)
    conn.executescript((Path(__file__).parent / "data" / "db" / "companion-before-alembic.sql").read_text())
    conn.close()
    caplog.set_level(logging.INFO)
    assert db.migrate(str(path))[1] == db.head()
    assert "Running upgrade" in caplog.text
    assert "setup plugin" not in caplog.text, caplog.text[:2000]


def test_a_statement_the_database_never_answers_is_cut_and_the_next_connection_waits_its_turn(pg_cluster, monkeypatch):
    """A backend that stops answering mid-statement (SIGSTOP here; a host gone from the network or a
    failover that moved the address look the same from the client): the statement fails with
    PgUnavailable after STATEMENT_SECONDS instead of blocking the event loop for as long as TCP waits,
    the next one fails at once during the backoff, and once the database answers again the connection
    is made anew."""
    import os
    import signal

    monkeypatch.setattr(db, "STATEMENT_SECONDS", 1.5)
    monkeypatch.setattr(db, "RETRY_SECONDS", (1.0, 4.0))
    conn = db.connect(pg_cluster.new_database(migrated=True))
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    assert conn.execute("SHOW statement_timeout").fetchone()[0] == "500ms"  # the server's own, a little below
    os.kill(backend, signal.SIGSTOP)
    try:
        # In a thread, so that a deadline that does not work fails this test instead of hanging the suite.
        outcome: list = []

        def statement():
            try:
                conn.execute("SELECT count(*) FROM rooms")
                outcome.append("answered")
            except db.PgUnavailable as exc:
                outcome.append(exc)

        worker = threading.Thread(target=statement, daemon=True)
        worker.start()
        worker.join(10)
        assert outcome and isinstance(outcome[0], db.PgUnavailable), outcome or "still waiting after 10 s"
        started = time.monotonic()
        with pytest.raises(db.PgUnavailable, match="next try"):
            conn.execute("SELECT 1")
        assert time.monotonic() - started < 0.5  # no connection attempted during the backoff
    finally:
        os.kill(backend, signal.SIGCONT)
    deadline = time.monotonic() + 15
    while True:
        try:
            assert conn.execute("SELECT 1").fetchone()[0] == 1
            break
        except db.PgUnavailable:
            assert time.monotonic() < deadline, "the connection did not come back"
            time.sleep(0.2)
    assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != backend
    conn.close()

