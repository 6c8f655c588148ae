"""companion/db.py: one interface over SQLite and PostgreSQL, as the stores use it (tests/conftest.py's
``database`` fixture runs each test on both)."""

from __future__ import annotations

import threading
import time

import pytest

from companion import db
from companion.leases import Leases


def _room(conn, room_id: str = "r1") -> None:
    conn.execute(
        "INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at) "
        "VALUES (?, 'Team', 'roddelmodel', '', 'nl', 7, ?, ?)", (room_id, "h-" + room_id, time.time()),
    )


def test_rows_placeholders_rowcount_and_transactions(database):
    conn = db.connect(database)
    _room(conn)
    row = conn.execute("SELECT id, name, created_at FROM rooms WHERE id = ?", ("r1",)).fetchone()
    assert row["id"] == row[0] == "r1" and dict(row)["name"] == "Team" and list(row.keys()) == ["id", "name", "created_at"]
    # A Unix time keeps its microseconds (a double on PostgreSQL, not its 4-byte REAL).
    stamp = 1796062951.123456
    conn.execute("UPDATE rooms SET created_at = ? WHERE id = ?", (stamp, "r1"))
    assert conn.execute("SELECT created_at FROM rooms").fetchone()[0] == stamp
    # A ? or a % inside quotes is text; a flag may be given as a bool.
    assert tuple(conn.execute("SELECT '?%' || ?, ? + 1", ("x", 1)).fetchone()) == ("?%x", 2)
    assert conn.execute("UPDATE rooms SET vote_closed = ? WHERE id LIKE 'r%'", (True,)).rowcount == 1
    assert conn.execute("SELECT vote_closed FROM rooms").fetchone()[0] == 1
    assert conn.execute("SELECT id FROM rooms WHERE id = ?", ("none",)).fetchone() is None
    # All or nothing: a refused command leaves nothing half-written.
    with pytest.raises(RuntimeError):
        with db.Transaction(conn):
            conn.execute("UPDATE rooms SET name = 'Anders'")
            raise RuntimeError("refused")
    assert conn.execute("SELECT name FROM rooms").fetchone()[0] == "Team"
    with db.Transaction(conn):
        conn.execute("UPDATE rooms SET name = 'Anders'")
    assert conn.execute("SELECT name FROM rooms").fetchone()[0] == "Anders"
    # A broken constraint is the same error class on both.
    with pytest.raises(db.IntegrityError):
        _room(conn)
    with pytest.raises(db.IntegrityError):
        conn.execute("INSERT INTO room_locks (room_id, locked_at) VALUES ('nowhere', 0)")
    assert conn.execute("SELECT COUNT(*) FROM rooms").fetchone()[0] == 1  # and the connection goes on
    conn.close()


def test_a_write_transaction_waits_for_another_processes_one(database):
    """What BEGIN IMMEDIATE gives on SQLite, the advisory lock gives on PostgreSQL: one writer at a time,
    so a check and the write it allows are never split by another process's write."""
    first, second = db.connect(database), db.connect(database)
    _room(first)
    order = []
    with db.Transaction(first):
        first.execute("UPDATE rooms SET rev = rev + 1")

        def other() -> None:
            with db.Transaction(second):
                order.append(("second", second.execute("SELECT rev FROM rooms").fetchone()[0]))
                second.execute("UPDATE rooms SET rev = rev + 1")

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.5)
        order.append(("first", None))
    thread.join(10)
    assert order == [("first", None), ("second", 1)]
    assert first.execute("SELECT rev FROM rooms").fetchone()[0] == 2
    first.close()
    second.close()


def test_a_lease_held_in_a_racing_transaction_is_won_once(database):
    """Two connections take one expired lease at the same moment: the second waits on the first's row
    and then finds it taken (PostgreSQL re-checks the ON CONFLICT ... WHERE on the row it waited for)."""
    a, b = db.connect(database), db.connect(database)
    _room(a)
    a.execute("INSERT INTO room_leases (room_id, owner, expires_at) VALUES ('r1', 'dead', ?)", (time.time() - 1,))
    results = {}
    if db.dialect(a) == "postgresql":
        # a takes it inside a transaction that stays open while b asks: b blocks on the row lock.
        a.execute("BEGIN")
        assert Leases(a, "node-a", 10, 2).take("r1") is None
        thread = threading.Thread(target=lambda: results.setdefault("b", Leases(b, "node-b", 10, 2).take("r1")))
        thread.start()
        time.sleep(0.5)
        assert "b" not in results  # waiting for a's row
        a.execute("COMMIT")
        thread.join(10)
    else:
        assert Leases(a, "node-a", 10, 2).take("r1") is None
        results["b"] = Leases(b, "node-b", 10, 2).take("r1")
    assert results["b"] is not None and 0 < results["b"] <= 10
    assert a.execute("SELECT owner FROM room_leases").fetchone()[0] == "node-a"
    a.close()
    b.close()


def test_a_dropped_postgresql_connection_is_opened_again(pg_cluster):
    url = pg_cluster.new_database(migrated=True)
    conn = db.connect(url)
    _room(conn)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    admin = db.connect(pg_cluster.url())
    admin.execute("SELECT pg_terminate_backend(?)", (pid,))
    admin.close()
    # The statement that meets the dropped connection fails (its outcome is unknown: never retried) ...
    with pytest.raises(db.DatabaseError):
        conn.execute("SELECT COUNT(*) FROM rooms")
    # ... the next one runs on a new connection.
    assert conn.execute("SELECT COUNT(*) FROM rooms").fetchone()[0] == 1
    assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    # The new connection too waits for another process's lock as long as SQLite's busy_timeout, and a stalled
    # process cannot hold a transaction (and with it every node's writes) for ever.
    assert conn.execute("SHOW lock_timeout").fetchone()[0] == "5s"
    assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "15s"
    conn.close()


@pytest.mark.parametrize("target", ["mysql://x/y", "sqlite:/rel", "sqlite://host/x"])
def test_a_database_that_is_neither_is_refused(target):
    with pytest.raises(ValueError):
        db.connect(target)
