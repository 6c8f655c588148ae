"""Open WebSockets per room and participant, and the state push to them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any, Awaitable, Callable

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
DELETED = 4404  # the room was deleted


class Hub:
    def __init__(self, snapshot: Callable[[Room, str, set[str]], dict[str, Any]]):
        self._snapshot = snapshot
        # Per room and participant, the open sockets oldest first (a dict keeps the order).
        self._sockets: dict[str, dict[str, dict[web.WebSocketResponse, None]]] = defaultdict(lambda: defaultdict(dict))
        # (room, participant) -> (socket, page id) that carries their media signalling: the newest
        # page that sent media.join. The lock keeps two pages' joins of one person from interleaving.
        self._media_owner: dict[tuple[str, str], tuple[web.WebSocketResponse, str | None]] = {}
        self._media_locks: dict[tuple[str, str], asyncio.Lock] = {}
        # Participants whose last socket was lost without a goodbye, still counted present
        # for a short while: (room, participant) -> the timer that ends it.
        self._lingering: dict[tuple[str, str], asyncio.TimerHandle] = {}
        # Called when a lingering participant did not come back: async fn(room_id, participant_id).
        self.on_gone: Callable[[str, str], Awaitable[None]] | None = None

    def online(self, room_id: str) -> set[str]:
        present = {pid for pid, sockets in self._sockets.get(room_id, {}).items() if sockets}
        return present | self.socketless(room_id)

    def socketless(self, room_id: str) -> set[str]:
        """Participants still counted present whose every socket closed (the presence grace)."""
        return {pid for rid, pid in self._lingering if rid == room_id}

    def add(self, room_id: str, participant_id: str, ws: web.WebSocketResponse) -> bool:
        """Register a socket; True when the participant was offline before."""
        handle = self._lingering.pop((room_id, participant_id), None)
        if handle is not None:
            handle.cancel()  # back in time: for the others nothing happened
        sockets = self._sockets[room_id][participant_id]
        was_offline = not sockets and handle is None
        sockets[ws] = None
        while len(sockets) > MAX_SOCKETS_PER_PARTICIPANT:
            oldest = next(iter(sockets))
            del sockets[oldest]
            asyncio.ensure_future(oldest.close(code=REPLACED, message=b"opened in a newer page"))
        return was_offline

    def remove(self, room_id: str, participant_id: str, ws: web.WebSocketResponse, linger: float = 0.0) -> bool:
        """Unregister a socket; True when that was the participant's last one.

        With ``linger`` (seconds) a last socket does not make the participant gone yet: they stay
        present that long, and ``on_gone`` is called only if no socket of theirs came back."""
        if self.media_owner(room_id, participant_id) is ws:
            del self._media_owner[(room_id, participant_id)]
        room = self._sockets.get(room_id)
        if room is None:
            return False
        sockets = room.get(participant_id, {})
        sockets.pop(ws, None)
        if not sockets:
            room.pop(participant_id, None)
            self._media_locks.pop((room_id, participant_id), None)
            if not room:
                self._sockets.pop(room_id, None)
            if linger > 0 and self.on_gone is not None:
                key = (room_id, participant_id)
                self._lingering[key] = asyncio.get_running_loop().call_later(
                    linger, lambda: asyncio.ensure_future(self._linger_over(key))
                )
                return False
            return True
        return False

    async def _linger_over(self, key: tuple[str, str]) -> None:
        if self._lingering.pop(key, None) is None or self.on_gone is None:
            return
        try:
            await self.on_gone(*key)
        except Exception:
            log.exception("presence: ending %s/%s failed", *key)

    async def send(self, room_id: str, participant_id: str, message: dict[str, Any]) -> None:
        for ws in list(self._sockets.get(room_id, {}).get(participant_id, ())):
            await self._send_one(ws, message)

    # ------------------------------------------------------------ media: one page per person
    def media_lock(self, room_id: str, participant_id: str) -> asyncio.Lock:
        return self._media_locks.setdefault((room_id, participant_id), asyncio.Lock())

    def claim_media(
        self, room_id: str, participant_id: str, ws: web.WebSocketResponse, page: str | None, resume: bool
    ) -> tuple[bool, web.WebSocketResponse | None]:
        """Let ``ws`` (of page ``page``) carry the participant's media.

        Returns (granted, the open socket of another page that loses the call). A ``resume`` (a page
        coming back by itself after a dropped socket or connection) is not granted while another
        open page has the call: the newest page wins, a returning one does not take it back.
        """
        key = (room_id, participant_id)
        current = self._media_owner.get(key)
        other = None
        if current is not None:
            owner_ws, owner_page = current
            if owner_ws is not ws and not owner_ws.closed and (page is None or owner_page != page):
                other = owner_ws
        if other is not None and resume:
            return False, None
        self._media_owner[key] = (ws, page)
        return True, other

    def media_owner(self, room_id: str, participant_id: str) -> web.WebSocketResponse | None:
        current = self._media_owner.get((room_id, participant_id))
        return current[0] if current else None

    async def send_media(self, room_id: str, participant_id: str, message: dict[str, Any]) -> None:
        """To the page that owns the participant's media connection only; other pages of theirs must not answer."""
        ws = self.media_owner(room_id, participant_id)
        if ws is not None:
            await self._send_one(ws, message)

    async def send_to(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
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

    async def close_room(self, room_id: str, code: int = DELETED, message: bytes = b"room deleted") -> None:
        """The room is gone (deleted): its pages are told by the socket closing (code 4404); or it is
        served by another process now (4503: the pages reconnect, through the proxy, to that one)."""
        for key in [key for key in self._media_owner if key[0] == room_id]:
            del self._media_owner[key]
        for key in [key for key in self._lingering if key[0] == room_id]:
            self._lingering.pop(key).cancel()
        for sockets in list(self._sockets.pop(room_id, {}).values()):
            for ws in list(sockets):
                await ws.close(code=code, message=message)

    async def close_all(self) -> None:
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()
        for room in list(self._sockets.values()):
            for sockets in list(room.values()):
                for ws in list(sockets):
                    await ws.close(code=1001, message=b"server shutting down")
