"""Deleting a session's data: for real, every row that names the room."""

from __future__ import annotations

import time

from .db import Connection, Transaction, dialect

DAY = 86400.0
ABANDONED_DAYS = 30
# A room nobody started: made and forgotten (or made in bulk); gone after this.
UNSTARTED_DAYS = 1


def delete_room(conn: Connection, room_id: str) -> None:
    from .schema import room_tables  # SQLAlchemy's import is kept off the operator commands' start

    with Transaction(conn):
        if dialect(conn) == "sqlite":
            # Tables from before the migrations may point at participants without ON DELETE CASCADE.
            conn.execute("PRAGMA defer_foreign_keys = ON")
        # Every table that holds room data carries a room_id column (schema.room_tables finds them all,
        # so a new table can never be forgotten here), children before parents.
        for table in room_tables():
            conn.execute(f'DELETE FROM "{table}" WHERE room_id = ?', (room_id,))
        conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
        conn.execute("DELETE FROM method_sources WHERE hash NOT IN (SELECT method_hash FROM room_methods)")
    wipe_deleted(conn)


def wipe_deleted(conn: Connection) -> None:
    """After a deletion: on SQLite, copy the WAL into the database and empty it.

    secure_delete overwrites the freed pages in the database file, but the
    write-ahead log still holds the old page images until a checkpoint; TRUNCATE
    leaves it at zero bytes, so the deleted words are in no file any more.
    PostgreSQL has no such switch: its deleted rows are in no query at once, and their bytes stay in
    the table and WAL files until VACUUM and the WAL's recycling reuse them (its operator keeps the
    database's disk encrypted, as the README says)."""
    if dialect(conn) == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def purge_expired(conn: Connection, now: float | None = None) -> list[str]:
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
