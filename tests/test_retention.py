"""Retention: a session's rows are deleted for real once its time is up."""

from __future__ import annotations

import sqlite3
import time

from companion.retention import DAY, purge_expired


def _count_rows(path, room_id: str) -> int:
    conn = sqlite3.connect(path)
    total = conn.execute("SELECT COUNT(*) FROM rooms WHERE id = ?", (room_id,)).fetchone()[0]
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')]
        if "room_id" in columns:
            total += conn.execute(f'SELECT COUNT(*) FROM "{table}" WHERE room_id = ?', (room_id,)).fetchone()[0]
    return total


async def test_ended_session_is_deleted_after_retention_and_not_before(harness):
    facilitator, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    await facilitator.ok("session.start")
    await anne.ok("case.submit", title="Grens", question="Hoe zeg ik nee?")
    await anne.ok("takeaway.save", text="Nee is ook een antwoord", shared=True)
    await facilitator.ok("session.end")
    other, _, _ = await harness.create_room(name="Andere groep")
    await other.ok("session.start")  # an unstarted room would go after a day
    db = harness.data_dir / "companion.sqlite3"
    assert _count_rows(db, facilitator.room_id) >= 4

    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    assert purge_expired(conn, time.time() + 29 * DAY) == []
    assert purge_expired(conn, time.time() + 31 * DAY) == [facilitator.room_id]
    assert _count_rows(db, facilitator.room_id) == 0
    # The other room stays: its row, its facilitator, its owner, its method, the browser session naming it
    # and the lease of the process serving it.
    assert _count_rows(db, other.room_id) == 6
    status, _ = await anne.command("takeaway.save", text="x")
    assert status in (403, 404)
