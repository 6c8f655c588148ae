"""Room leases: which server process serves a room now.

A room lives in one process at a time: its timer signal, media gates, WebSockets, media and
transcription are in that process's memory.  Before a process serves a room it takes the room's
lease in the shared database (owner = the process's node id, expiry = now + lease seconds) and it
renews the lease while it serves the room.  Another process that gets the room's traffic refuses it
until the lease has expired, then takes the room over from the database as after a restart.

Handing over: traffic can reach a process while another holds the room's lease (the node the proxy
hashes the room to was down, another took the room, and the first came back; or the proxy's view of
which nodes are up changed).  The refused process writes down that it wants the room (``want``:
``wanted_by``, ``wanted_at`` on the lease row).  The holder sees a fresh want at its next renewal
(``wanted_elsewhere``), stops serving the room and passes the lease to the wanting process
(``hand_over``), which restores the room from the database at its next request.  The holder hands
over to whichever process wanted the room last: a process only gets a room's traffic because the
router sends it there, so the last want is where the traffic goes now.  Against flapping: a process
keeps a room at least ``min_hold`` seconds after it took it, a want counts only ``want_fresh``
seconds after it was last written, and a process that just handed a room over does not want it back
within ``min_hold`` (its last in-flight requests would otherwise pull the room back).

Taking is one conditional ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (SQLite 3.24+, PostgreSQL
9.5+): of two processes racing for one expired lease exactly one changes the row.  Times are
wall-clock seconds (``time.time()``), so processes on several machines need clocks kept in step
(NTP) to well within the lease time.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Callable

from .db import Connection


DEFAULT_SECONDS = 15.0
DEFAULT_RENEW_SECONDS = 5.0
# In lease times (``seconds``): how long a process keeps a room before it hands it over, and how long a
# want counts after it was last written (a refused process writes it again at most every renewal time).
MIN_HOLD_LEASES = 1.0
WANT_FRESH_LEASES = 2.0


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
        # time.monotonic() when this process took each held room (min_hold counts from there), when it last
        # wrote a want per room, and when it handed each room over.
        self.taken_at: dict[str, float] = {}
        self.wanted: dict[str, float] = {}
        self.handed_over: dict[str, float] = {}
        self.min_hold = MIN_HOLD_LEASES * seconds
        self.want_fresh = WANT_FRESH_LEASES * seconds
        # This start of the process: tells it apart from another process given the same node id.
        self.instance = secrets.token_hex(8)

    # ------------------------------------------------------------ the node id: one live process each
    def node_seen(self) -> tuple[str, float] | None:
        """(instance, seen_at) of the process that last used this node id, or None."""
        row = self.conn.execute("SELECT instance, seen_at FROM lease_nodes WHERE node_id = ?", (self.owner,)).fetchone()
        return None if row is None else (row[0], row[1])

    def node_check_seconds(self) -> float:
        """How long to watch the node id before claiming it: 0 if no other process used it lately; else
        long enough for a live one to renew once (1.5 renewal times and a margin)."""
        seen = self.node_seen()
        if seen is None or seen[0] == self.instance or seen[1] <= self.clock() - self.seconds:
            return 0.0
        return self.renew_seconds * 1.5 + 0.5

    def claim_node(self, seen_before: tuple[str, float] | None) -> None:
        """Use the node id from now on. ``seen_before``: ``node_seen()`` before the wait of
        ``node_check_seconds()``. NodeIdInUse if the process seen then renewed meanwhile: it is alive,
        and two processes with one node id would both serve the same rooms."""
        seen = self.node_seen()
        if seen is not None and seen_before is not None and seen[0] == seen_before[0] != self.instance and seen[1] > seen_before[1]:
            raise NodeIdInUse(self.owner)
        self.conn.execute(
            """INSERT INTO lease_nodes (node_id, instance, seen_at) VALUES (?, ?, ?)
               ON CONFLICT (node_id) DO UPDATE SET instance = excluded.instance, seen_at = excluded.seen_at""",
            (self.owner, self.instance, self.clock()),
        )

    def node_alive(self) -> bool:
        """Renew this process's use of the node id; False if another process claimed it meanwhile (it
        started with the same node id while this one stalled): this one must stop serving."""
        return self.conn.execute(
            "UPDATE lease_nodes SET seen_at = ? WHERE node_id = ? AND instance = ?", (self.clock(), self.owner, self.instance)
        ).rowcount == 1

    def node_release(self) -> None:
        """Clean stop: the node id is free at once (a restart need not watch it)."""
        self.conn.execute("DELETE FROM lease_nodes WHERE node_id = ? AND instance = ?", (self.owner, self.instance))

    def lost_node(self) -> None:
        """Another process uses the node id now: hold nothing, write nothing more under it (its leases
        carry the same owner name, so releasing them would end the other process's)."""
        self._let_go(list(self.held))

    def serving(self, room_id: str) -> bool:
        """Whether this process holds the room's lease and it has not run out meanwhile."""
        return room_id in self.held and time.monotonic() < self.valid_until.get(room_id, 0.0)

    def _let_go(self, room_ids) -> None:
        for room_id in list(room_ids):
            self.held.discard(room_id)
            self.valid_until.pop(room_id, None)
            self.taken_at.pop(room_id, None)

    def take(self, room_id: str) -> float | None:
        """Take (or keep) the room's lease. None: this process holds it now. Else the seconds until the
        other owner's lease ends (> 0), for a Retry-After. The room must exist (foreign key)."""
        started, now = time.monotonic(), self.clock()
        # A want stays only while the owner stays (a want is for the room's holder at the time).
        changed = self.conn.execute(
            """INSERT INTO room_leases (room_id, owner, expires_at) VALUES (?, ?, ?)
               ON CONFLICT (room_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
                 wanted_by = CASE WHEN room_leases.owner = excluded.owner THEN room_leases.wanted_by END,
                 wanted_at = CASE WHEN room_leases.owner = excluded.owner THEN room_leases.wanted_at END
               WHERE room_leases.owner = excluded.owner OR room_leases.expires_at <= ?""",
            (room_id, self.owner, now + self.seconds, now),
        ).rowcount
        if changed == 1:
            if room_id not in self.held:
                self.taken_at[room_id] = started
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

    def want(self, room_id: str) -> None:
        """This process got the room's traffic but another holds the lease: ask the holder for the room.
        Written at most once per renewal time per room; not within ``min_hold`` after this process
        handed the room over itself."""
        mono = time.monotonic()
        if mono - self.handed_over.get(room_id, -math.inf) < self.min_hold:
            return
        if mono - self.wanted.get(room_id, -math.inf) < self.renew_seconds:
            return
        self.wanted[room_id] = mono
        if len(self.wanted) > 10_000:  # rooms asked for long ago
            self.wanted = {r: t for r, t in self.wanted.items() if mono - t < self.want_fresh}
        self.conn.execute(
            "UPDATE room_leases SET wanted_by = ?, wanted_at = ? WHERE room_id = ? AND owner <> ?",
            (self.owner, self.clock(), room_id, self.owner),
        )

    def wanted_elsewhere(self) -> list[tuple[str, str]]:
        """(room id, wanting process) for each room held here at least ``min_hold`` seconds that another
        process asked for within the last ``want_fresh`` seconds: to hand over (``hand_over``)."""
        mono = time.monotonic()
        ripe = {r for r in self.held if mono - self.taken_at.get(r, mono) >= self.min_hold}
        if not ripe:
            return []
        rows = self.conn.execute(
            "SELECT room_id, wanted_by FROM room_leases WHERE owner = ? AND wanted_by IS NOT NULL AND wanted_by <> ?"
            " AND wanted_at > ?", (self.owner, self.owner, self.clock() - self.want_fresh),
        ).fetchall()
        return sorted((row[0], row[1]) for row in rows if row[0] in ripe)

    def hand_over(self, room_id: str, to: str) -> bool:
        """Pass the room's lease to the process ``to`` (it wanted the room): it holds it from now for one
        lease time, takes it at its next request and renews it from then on; if it never comes, the lease
        runs out as after a crash and whoever gets the traffic takes the room. The caller stopped serving
        the room here first. False: the lease was not this process's any more."""
        changed = self.conn.execute(
            "UPDATE room_leases SET owner = ?, expires_at = ?, wanted_by = NULL, wanted_at = NULL"
            " WHERE room_id = ? AND owner = ?", (to, self.clock() + self.seconds, room_id, self.owner),
        ).rowcount
        self._let_go([room_id])
        mono = time.monotonic()
        self.handed_over[room_id] = mono
        if len(self.handed_over) > 10_000:
            self.handed_over = {r: t for r, t in self.handed_over.items() if mono - t < self.min_hold}
        return changed == 1

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
        """Of these rooms, the ones to take at start: last held by this node (it was restarted), or with
        no lease yet while under way (a database from before leases). A room that nobody served yet and
        that has not started waits for its first request instead: at a start beside running nodes it may
        be one just made through another node, and the router sends its traffic to whichever node its
        hash names (taking it here made that node refuse it until a handover)."""
        leased = {row[0]: row[1] for row in self.conn.execute("SELECT room_id, owner FROM room_leases")}
        waiting = {row[0] for row in self.conn.execute("SELECT id FROM rooms WHERE status = 'waiting'")}
        return [room_id for room_id in room_ids
                if leased.get(room_id) == self.owner or (room_id not in leased and room_id not in waiting)]

    def owner_of(self, room_id: str) -> tuple[str, float] | None:
        """(owner, seconds left) of the room's lease, or None without one: for logs and tests."""
        row = self.conn.execute("SELECT owner, expires_at FROM room_leases WHERE room_id = ?", (room_id,)).fetchone()
        return None if row is None else (row[0], row[1] - self.clock())


class NodeIdInUse(RuntimeError):
    """Another live server process uses this node id (``--node-id``)."""

    def __init__(self, node_id: str):
        super().__init__(
            f"another server process is running with the node id {node_id!r} on this database; give each process "
            "its own --node-id (the default is the host name and port)")
        self.node_id = node_id
