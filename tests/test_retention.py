"""Retention: a session's rows are deleted for real once its time is up."""

from __future__ import annotations

import time

from companion import db
from companion.retention import DAY, purge_expired

BOTH_DATABASES = True


def _count_rows(conn, room_id: str) -> int:
    # Every table the database itself has (not the code's list of them) with a room_id column.
    total = conn.execute("SELECT COUNT(*) FROM rooms WHERE id = ?", (room_id,)).fetchone()[0]
    if db.dialect(conn) == "sqlite":
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if "room_id" in [c[1] for c in conn.execute(f'PRAGMA table_info("{r[0]}")')]]
    else:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'room_id'")]
    assert len(tables) >= 15
    for table in tables:
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
    conn = db.connect(harness.settings().database_target)
    assert _count_rows(conn, facilitator.room_id) >= 4
    assert purge_expired(conn, time.time() + 29 * DAY) == []
    assert purge_expired(conn, time.time() + 31 * DAY) == [facilitator.room_id]
    assert _count_rows(conn, facilitator.room_id) == 0
    # The other room stays: its row, its facilitator, its owner, its method, the browser session naming it,
    # the lease of the process serving it and its place in its (one-off) meeting.
    assert _count_rows(conn, other.room_id) == 7
    status, _ = await anne.command("takeaway.save", text="x")
    assert status in (403, 404)
