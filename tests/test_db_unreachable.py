"""A PostgreSQL host that takes the connection and never answers (hung, or a firewall that drops packets):
``serve`` and ``migrate`` fail with a message after ``db.CONNECT_SECONDS`` instead of waiting silently.

The "database" is a loopback socket that accepts and then says nothing, as such a host does.
"""

from __future__ import annotations

import socket
import time

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


def test_the_urls_own_connect_timeout_wins():
    assert db._pg_options("postgresql://u@h:5432/d") == {"connect_timeout": db.CONNECT_SECONDS}
    assert db._pg_options("postgresql://u@h:5432/d?connect_timeout=3") == {}
    assert db._pg_options("postgresql://u@[::1/x") == {"connect_timeout": db.CONNECT_SECONDS}
