"""A participant's page without a browser: the room WebSocket plus an aiortc peer speaking ``media.*``.

Used by the tests and by ``companion bench session``.  It keeps every
``state`` it receives (with the monotonic time it came in), answers the
server's media offers through ``MediaPeer``, and sends commands over the
socket as the room page does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiortc.mediastreams import MediaStreamTrack

from .peer import MediaPeer, PatternTrack, ToneTrack


class CommandRefused(RuntimeError):
    """The server answered a command with an ``error``."""

    def __init__(self, command: str, error: dict):
        self.error = error
        super().__init__(f"{command}: {error.get('status')} {error.get('code')} {error.get('message')}")


class RoomPage:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        ws_url: str,
        headers: dict[str, str],
        participant_id: str,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        camera: bool = True,
        count_packets: bool = False,
    ):
        """``count_packets``: count what arrives from the RTP packets instead of aiortc's jitter buffers
        (MediaPeer), so that many pages in one process cost little."""
        self.http = http
        self.ws_url = ws_url
        self.headers = headers
        self.errors: list[dict] = []
        self.states: list[dict] = []
        self.state_times: list[float] = []  # monotonic arrival time of each state
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        # camera=False: a page with its camera off sends no video at all.
        video = (video or PatternTrack()) if camera else None
        self.peer = MediaPeer(participant_id, self._send, audio=audio or ToneTrack(), video=video,
                              count_packets=count_packets)
        self._reader: asyncio.Task | None = None
        self._next_id = 0
        self._waiters: dict[int, asyncio.Future] = {}

    async def _send(self, message: dict) -> None:
        assert self.ws is not None
        await self.ws.send_json(message)

    async def open(self, join: dict | None = None) -> None:
        self.ws = await self.http.ws_connect(self.ws_url, headers=self.headers, max_msg_size=1 << 20)
        self._reader = asyncio.ensure_future(self._read())
        await self.peer.start(join)

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.json()
            kind = str(data.get("type", ""))
            if kind.startswith("media."):
                self.peer.deliver(data)
                continue
            waiter = self._waiters.pop(data.get("id"), None) if kind in ("result", "error") else None
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
            if kind == "error":
                self.errors.append(data)
            elif kind == "state":
                self.states.append(data)
                self.state_times.append(time.monotonic())

    async def command(self, command: str, timeout: float = 15.0, **args: Any) -> dict:
        """Send a room command over the socket; the ``result`` message, or CommandRefused."""
        assert self.ws is not None
        self._next_id += 1
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters[self._next_id] = future
        await self.ws.send_json({"type": "command", "id": self._next_id, "command": command, "args": args})
        answer = await asyncio.wait_for(future, timeout)
        if answer.get("type") == "error":
            raise CommandRefused(command, answer)
        return answer

    @property
    def state(self) -> dict:
        return self.states[-1] if self.states else {}

    async def close(self) -> None:
        await self.peer.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=2)
