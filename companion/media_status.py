"""Is each participant's call working? Judged from the server's own forwarding counters.

Once a second the watch reads, per participant with a media connection, how many
frames the server received from them and how many audio frames it handed to their
downstream slots (``MediaService.link_counters``), and compares with a few seconds
ago.  From that it says, per participant:

- ``media``: ``"connected"``, ``"connecting"`` (a connection being set up), ``"lost"``
  (it was up and is gone, or nothing arrives from them any more) or ``"none"`` (the
  page never set one up);
- ``audio``: ``"ok"`` (group audio reached them in the window), ``"quiet"`` (nothing
  to hear: every microphone towards them is closed or silent upstream), ``"none"`` (audio
  was there to forward but none of it got through) or ``None`` (no connection).

``label`` is the one word the facilitator's screen shows next to a name
(``no_media``, ``lost``, ``no_sound`` or ``None`` when all is well).  A change of
any label calls ``on_change(room_id)`` so the room's state is pushed at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between readings
WINDOW = 3.0  # seconds of counters one judgement looks at
# Nothing received from someone whose media flowed before: their link is dead (ICE may not know yet).
STALL = 4.0
# The same when every WebSocket of theirs closed too (a closed tab or browser, a dropped network): two
# signals agree, so the facilitator hears it sooner (the room still lets their presence linger a while).
STALL_WITHOUT_SOCKET = 1.5
# A page that is online but has no media connection after this long is told about.
SETUP_GRACE = 10.0


@dataclass
class _Person:
    history: deque = field(default_factory=lambda: deque(maxlen=16))  # (t, received, delivered, overflowed)
    first_seen: float = 0.0
    had_link: bool = False
    flowed: bool = False
    last_received_at: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)


class MediaWatch:
    def __init__(
        self,
        counters: Callable[[str], dict[str, dict[str, Any]]],
        rooms: Callable[[], dict[str, set[str]]],
        on_change: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        socketless: Callable[[str], set[str]] | None = None,
    ) -> None:
        """``counters(room_id)`` is ``MediaService.link_counters``; ``rooms()`` gives the
        participants online per room (open WebSocket, or lingering after one closed);
        ``socketless(room_id)``: those of them with no open WebSocket left."""
        self._counters = counters
        self._rooms = rooms
        self._socketless = socketless
        self._on_change = on_change
        self._clock = clock
        self._people: dict[str, dict[str, _Person]] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def status(self, room_id: str) -> dict[str, dict[str, Any]]:
        """``{participant_id: {"media", "audio", "label"}}`` as last judged."""
        return {pid: dict(p.status) for pid, p in self._people.get(room_id, {}).items() if p.status}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            try:
                changed = self.tick()
            except Exception:
                log.exception("media status reading failed")
                continue
            for room_id in changed:
                try:
                    await self._on_change(room_id)
                except Exception:
                    log.exception("media status push failed")

    def tick(self) -> list[str]:
        """One reading of every room; the ids of rooms where a label changed."""
        now = self._clock()
        changed = []
        online_by_room = self._rooms()
        for room_id in set(online_by_room) | set(self._people):
            online = online_by_room.get(room_id, set())
            counters = self._counters(room_id)
            people = self._people.setdefault(room_id, {})
            socketless = self._socketless(room_id) if self._socketless is not None else set()
            room_changed = False
            for pid in set(people) | online | set(counters):
                person = people.get(pid)
                if person is None:
                    person = people[pid] = _Person(first_seen=now)
                if pid not in online and pid not in counters:
                    # Gone from the room: the page's own "offline" says enough; start afresh next time.
                    del people[pid]
                    room_changed = room_changed or bool(person.status.get("label"))
                    continue
                status = self._judge(person, counters.get(pid), now, STALL_WITHOUT_SOCKET if pid in socketless else STALL)
                if status.get("label") != person.status.get("label") or status.get("audio") != person.status.get("audio"):
                    room_changed = True
                person.status = status
            if not people:
                self._people.pop(room_id, None)
            if room_changed:
                changed.append(room_id)
        return changed

    def _judge(self, person: _Person, link: dict[str, Any] | None, now: float, stall: float = STALL) -> dict[str, Any]:
        if link is None:
            person.history.clear()
            if person.had_link:
                return {"media": "lost", "audio": None, "label": "lost"}
            late = now - person.first_seen >= SETUP_GRACE
            return {"media": "none", "audio": None, "label": "no_media" if late else None}
        if not person.history:  # a (new) connection being set up gets its own grace
            person.first_seen = now
        person.had_link = True
        person.history.append((now, link["received"], link["audio_delivered"], link["audio_overflowed"]))
        if link["received"] and (not person.history or len(person.history) < 2 or link["received"] != person.history[-2][1]):
            person.last_received_at = now
            person.flowed = True
        if link["state"] != "connected":
            late = now - person.first_seen >= SETUP_GRACE
            return {"media": "connecting", "audio": None, "label": "no_media" if late else None}
        if person.flowed and now - person.last_received_at >= stall:
            return {"media": "lost", "audio": None, "label": "lost"}
        old = next((h for h in person.history if now - h[0] <= WINDOW + 0.01), person.history[0])
        delivered = link["audio_delivered"] - old[2]
        overflowed = link["audio_overflowed"] - old[3]
        if now - old[0] < WINDOW - 0.01:
            audio = person.status.get("audio") or ("ok" if delivered else "quiet")
        elif delivered > 0:
            audio = "ok"
        elif overflowed > 0:
            audio = "none"
        else:
            audio = "quiet"
        return {"media": "connected", "audio": audio, "label": "no_sound" if audio == "none" else None}
