"""Deleting a session's data: for real, every row that names the room."""

from __future__ import annotations

import sqlite3
import time

from .db import Transaction

DAY = 86400.0
ABANDONED_DAYS = 30
# A room nobody started: made and forgotten (or made in bulk); gone after this.
UNSTARTED_DAYS = 1


def _tables_with_room_id(conn: sqlite3.Connection) -> list[str]:
    # Every module's table that holds room data carries a room_id column; finding
    # them here means a new table can never be forgotten by the deletion.
    tables = [row["name"] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        name
        for name in tables
        if name != "rooms" and any(col["name"] == "room_id" for col in conn.execute(f'PRAGMA table_info("{name}")'))
    ]


def delete_room(conn: sqlite3.Connection, room_id: str) -> None:
    with Transaction(conn):
        # Module tables may point at participants without ON DELETE CASCADE.
        conn.execute("PRAGMA defer_foreign_keys = ON")
        for table in _tables_with_room_id(conn):
            conn.execute(f'DELETE FROM "{table}" WHERE room_id = ?', (room_id,))
        conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
        conn.execute("DELETE FROM method_sources WHERE hash NOT IN (SELECT method_hash FROM room_methods)")
    wipe_deleted(conn)


def wipe_deleted(conn: sqlite3.Connection) -> None:
    """After a deletion: copy the WAL into the database and empty it.

    secure_delete overwrites the freed pages in the database file, but the
    write-ahead log still holds the old page images until a checkpoint; TRUNCATE
    leaves it at zero bytes, so the deleted words are in no file any more."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def purge_expired(conn: sqlite3.Connection, now: float | None = None) -> list[str]:
    """Delete rooms whose retention ran out; return their ids."""
    now = time.time() if now is None else now
    expired = [
        row["id"]
        for row in conn.execute(
            """SELECT id FROM rooms
               WHERE (status = 'ended' AND ended_at IS NOT NULL AND ended_at + retention_days * ? < ?)
                  -- a session nobody ended: kept until ABANDONED_DAYS past its retention
                  OR (status != 'ended' AND created_at + (retention_days + ?) * ? < ?)
                  OR (status = 'waiting' AND created_at + ? * ? < ?)""",
            (DAY, now, ABANDONED_DAYS, DAY, now, UNSTARTED_DAYS, DAY, now),
        )
    ]
    for room_id in expired:
        delete_room(conn, room_id)
    return expired
