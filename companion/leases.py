"""Room leases: which server process serves a room now.

A room lives in one process at a time: its timer signal, media gates, WebSockets, media and
transcription are in that process's memory.  Before a process serves a room it takes the room's
lease in the shared database (owner = the process's node id, expiry = now + lease seconds) and it
renews the lease while it serves the room.  Another process that gets the room's traffic refuses it
until the lease has expired, then takes the room over from the database as after a restart.

Taking is one conditional ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (SQLite 3.24+, PostgreSQL
9.5+): of two processes racing for one expired lease exactly one changes the row.  Times are
wall-clock seconds (``time.time()``), so processes on several machines need clocks kept in step
(NTP) to well within the lease time.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from .db import Connection


DEFAULT_SECONDS = 15.0
DEFAULT_RENEW_SECONDS = 5.0


class Leases:
    """This process's side of the room leases.

    ``owner``: the node id (``--node-id``; default host name and port), stable over a restart, so a
    process that comes back after a crash takes its own rooms again at once.  ``seconds``: how long a
    lease lasts without renewal, i.e. the longest a room is unserved after its process died.
    ``renew_seconds``: how often the server renews (less than half of ``seconds``)."""

    def __init__(
        self,
        conn: Connection,
        owner: str,
        seconds: float = DEFAULT_SECONDS,
        renew_seconds: float = DEFAULT_RENEW_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if not (math.isfinite(seconds) and 0 < renew_seconds * 2 <= seconds):
            raise ValueError("a lease is renewed at least twice within its time (renew seconds <= lease seconds / 2)")
        self.conn = conn
        self.owner = owner
        self.seconds = seconds
        self.renew_seconds = renew_seconds
        self.clock = clock
        self.held: set[str] = set()
        # Per held room, until when (time.monotonic()) this process may serve it without asking the
        # database: the lease's end as of the start of the last take or renewal. A process that was
        # stopped (SIGSTOP, a swapping machine) past it asks again before it serves the room.
        self.valid_until: dict[str, float] = {}

    def serving(self, room_id: str) -> bool:
        """Whether this process holds the room's lease and it has not run out meanwhile."""
        return room_id in self.held and time.monotonic() < self.valid_until.get(room_id, 0.0)

    def _let_go(self, room_ids) -> None:
        for room_id in list(room_ids):
            self.held.discard(room_id)
            self.valid_until.pop(room_id, None)

    def take(self, room_id: str) -> float | None:
        """Take (or keep) the room's lease. None: this process holds it now. Else the seconds until the
        other owner's lease ends (> 0), for a Retry-After. The room must exist (foreign key)."""
        started, now = time.monotonic(), self.clock()
        changed = self.conn.execute(
            """INSERT INTO room_leases (room_id, owner, expires_at) VALUES (?, ?, ?)
               ON CONFLICT (room_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
               WHERE room_leases.owner = excluded.owner OR room_leases.expires_at <= ?""",
            (room_id, self.owner, now + self.seconds, now),
        ).rowcount
        if changed == 1:
            self.held.add(room_id)
            self.valid_until[room_id] = started + self.seconds
            return None
        self._let_go([room_id])
        row = self.conn.execute("SELECT expires_at FROM room_leases WHERE room_id = ?", (room_id,)).fetchone()
        return max(0.1, (row[0] if row is not None else now) - now)

    def renew(self) -> list[str]:
        """Extend every lease this process holds; returns the rooms whose lease another process took
        meanwhile (this one stalled past the expiry) or that were deleted: no longer served here."""
        started = time.monotonic()
        expires = self.clock() + self.seconds
        lost = []
        for room_id in sorted(self.held):
            changed = self.conn.execute(
                "UPDATE room_leases SET expires_at = ? WHERE room_id = ? AND owner = ?", (expires, room_id, self.owner)
            ).rowcount
            if changed != 1:
                lost.append(room_id)
            else:
                self.valid_until[room_id] = started + self.seconds
        self._let_go(lost)
        return lost

    def release(self, room_ids: list[str] | None = None) -> None:
        """Let the rooms go (clean shutdown): expired at once, so another process takes them on their
        next request. The owner stays written down: this node, started again, resumes them."""
        ids = sorted(self.held if room_ids is None else set(room_ids) & self.held)
        now = self.clock()
        for room_id in ids:
            self.conn.execute(
                "UPDATE room_leases SET expires_at = ? WHERE room_id = ? AND owner = ? AND expires_at > ?",
                (now, room_id, self.owner, now),
            )
        self._let_go(ids)

    def forget(self, room_id: str) -> None:
        """The room was deleted (its row and lease went with it)."""
        self._let_go([room_id])

    def resumable(self, room_ids: list[str]) -> list[str]:
        """Of these rooms, the ones to take at start: with no lease yet (a database from before
        leases, or a room never served) or last held by this node (it was restarted)."""
        leased = {row[0]: row[1] for row in self.conn.execute("SELECT room_id, owner FROM room_leases")}
        return [room_id for room_id in room_ids if leased.get(room_id, self.owner) == self.owner]

    def owner_of(self, room_id: str) -> tuple[str, float] | None:
        """(owner, seconds left) of the room's lease, or None without one: for logs and tests."""
        row = self.conn.execute("SELECT owner, expires_at FROM room_leases WHERE room_id = ?", (room_id,)).fetchone()
        return None if row is None else (row[0], row[1] - self.clock())
