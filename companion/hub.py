"""Open WebSockets per room and participant, and the state push to them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any, Callable

from aiohttp import web

from .room import Room

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0
# Pages one participant may have open at once (a reload overlapping, a phone beside the laptop).
# One more and the oldest is closed (code 4409): the newest page wins, as with the media connection.
MAX_SOCKETS_PER_PARTICIPANT = 3
REPLACED = 4409
REMOVED = 4403  # the facilitator removed this participant
RENEWED = 4401  # this participant's personal link was renewed: the old one no longer opens the room


class Hub:
    def __init__(self, snapshot: Callable[[Room, str, set[str]], dict[str, Any]]):
        self._snapshot = snapshot
        # Per room and participant, the open sockets oldest first (a dict keeps the order).
        self._sockets: dict[str, dict[str, dict[web.WebSocketResponse, None]]] = defaultdict(lambda: defaultdict(dict))

    def online(self, room_id: str) -> set[str]:
        return {pid for pid, sockets in self._sockets.get(room_id, {}).items() if sockets}

    def add(self, room_id: str, participant_id: str, ws: web.WebSocketResponse) -> bool:
        """Register a socket; True when the participant was offline before."""
        sockets = self._sockets[room_id][participant_id]
        was_offline = not sockets
        sockets[ws] = None
        while len(sockets) > MAX_SOCKETS_PER_PARTICIPANT:
            oldest = next(iter(sockets))
            del sockets[oldest]
            asyncio.ensure_future(oldest.close(code=REPLACED, message=b"opened in a newer page"))
        return was_offline

    def remove(self, room_id: str, participant_id: str, ws: web.WebSocketResponse) -> bool:
        """Unregister a socket; True when that was the participant's last one."""
        room = self._sockets.get(room_id)
        if room is None:
            return False
        sockets = room.get(participant_id, {})
        sockets.pop(ws, None)
        if not sockets:
            room.pop(participant_id, None)
            if not room:
                self._sockets.pop(room_id, None)
            return True
        return False

    async def send(self, room_id: str, participant_id: str, message: dict[str, Any]) -> None:
        for ws in list(self._sockets.get(room_id, {}).get(participant_id, ())):
            await self._send_one(ws, message)

    async def _send_one(self, ws: web.WebSocketResponse, message: dict[str, Any] | str) -> None:
        if ws.closed:
            return
        try:
            text = message if isinstance(message, str) else json.dumps(message)
            await asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT)
        except (ConnectionError, RuntimeError, asyncio.TimeoutError) as exc:
            # A stuck client must not hold up the room; it resyncs from the next snapshot.
            log.info("dropping a socket that could not take a message: %s", exc)
            await ws.close()

    async def push_state(self, room: Room, events: tuple[str, ...] = ()) -> None:
        online = self.online(room.id)
        sends = []
        for pid, sockets in list(self._sockets.get(room.id, {}).items()):
            participant = room.participants.get(pid)
            if participant is None:
                continue
            if participant.removed:  # the facilitator took them out: their pages close
                await self.close_participant(room.id, pid, REMOVED, b"removed from the room")
                continue
            state = self._snapshot(room, pid, online)
            if events:
                state["events"] = list(events)
            text = json.dumps(state)  # once per participant, not once per socket
            sends.extend(self._send_one(ws, text) for ws in list(sockets))
        if sends:
            await asyncio.gather(*sends)

    async def close_participant(self, room_id: str, participant_id: str, code: int, message: bytes) -> None:
        for ws in list(self._sockets.get(room_id, {}).get(participant_id, ())):
            await ws.close(code=code, message=message)

    async def close_room(self, room_id: str) -> None:
        """The room is gone (deleted): its pages are told by the socket closing (code 4404)."""
        for sockets in list(self._sockets.pop(room_id, {}).values()):
            for ws in list(sockets):
                await ws.close(code=4404, message=b"room deleted")

    async def close_all(self) -> None:
        for room in list(self._sockets.values()):
            for sockets in list(room.values()):
                for ws in list(sockets):
                    await ws.close(code=1001, message=b"server shutting down")
