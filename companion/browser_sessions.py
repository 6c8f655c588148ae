"""One cookie per browser, naming who that browser is in each room.

A cookie per room (``Path=/``) grew a browser's cookie header past 8 KB after
about 150 rooms, and every request then failed.  Now the browser carries one
random session id (``__Host-companion`` on https); the server keeps, per room,
which participant that session is.  The rows carry ``room_id`` and
``participant_id``, so they go with the room's retention, with "delete now"
and when a participant is removed or their personal link renewed.
"""

from __future__ import annotations

import time

from .db import Connection
from . import tokens


# Rooms one browser session may name: beyond this the oldest entries go (a page
# opening links to thousands of rooms must not grow one session without end).
MAX_ROOMS_PER_SESSION = 500


def valid(session: object) -> bool:
    return isinstance(session, str) and 16 <= len(session) <= 128


def remember(conn: Connection, session: str, room_id: str, participant_id: str) -> None:
    """This browser is ``participant_id`` in ``room_id`` from now on (replacing whoever it was there)."""
    key = tokens.token_hash(session)
    conn.execute(
        """INSERT INTO browser_rooms (session_hash, room_id, participant_id, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (session_hash, room_id) DO UPDATE SET participant_id = excluded.participant_id,
                                                            created_at = excluded.created_at""",
        (key, room_id, participant_id, time.time()),
    )
    conn.execute(
        """DELETE FROM browser_rooms WHERE session_hash = ? AND room_id NOT IN
               (SELECT room_id FROM browser_rooms WHERE session_hash = ? ORDER BY created_at DESC LIMIT ?)""",
        (key, key, MAX_ROOMS_PER_SESSION),
    )


def participant(conn: Connection, session: object, room_id: str) -> str | None:
    if not valid(session):
        return None
    row = conn.execute(
        "SELECT participant_id FROM browser_rooms WHERE session_hash = ? AND room_id = ?",
        (tokens.token_hash(session), room_id),
    ).fetchone()
    return row["participant_id"] if row else None


def rooms_left(conn: Connection, session: object) -> int:
    if not valid(session):
        return 0
    return conn.execute(
        "SELECT COUNT(*) FROM browser_rooms WHERE session_hash = ?", (tokens.token_hash(session),)
    ).fetchone()[0]


def forget_participant(conn: Connection, participant_id: str) -> None:
    """Every browser that was this participant no longer is (link renewed, person removed)."""
    conn.execute("DELETE FROM browser_rooms WHERE participant_id = ?", (participant_id,))
