"""A participant's page for tests: the room WebSocket plus an aiortc peer speaking ``media.*``."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc.mediastreams import MediaStreamTrack

from companion.media.peer import MediaPeer, PatternTrack, ToneTrack


class MediaPage:
    def __init__(self, harness, person, audio: MediaStreamTrack | None = None):
        self.h = harness
        self.person = person
        self.errors: list[dict] = []
        self.states: list[dict] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.peer = MediaPeer(person.id, self._send, audio=audio or ToneTrack(), video=PatternTrack())
        self._reader: asyncio.Task | None = None

    async def _send(self, message: dict) -> None:
        await self.ws.send_json(message)

    async def open(self) -> None:
        self.ws = await self.h.http.ws_connect(self.h.url(f"/r/{self.person.room_id}/ws"), headers=self.person.headers)
        self._reader = asyncio.ensure_future(self._read())
        await self.peer.start()

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.json()
            kind = str(data.get("type", ""))
            if kind.startswith("media."):
                self.peer.deliver(data)
            elif kind == "error":
                self.errors.append(data)
            elif kind == "state":
                self.states.append(data)

    async def close(self) -> None:
        await self.peer.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=2)
