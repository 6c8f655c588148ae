"""An in-process call: a MediaService whose `send` routes to aiortc peers (tests, quick checks)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Callable

from ..errors import ClientError
from .peer import MediaPeer, PatternTrack, ToneTrack
from .service import DEFAULT_FORWARDER, media_service

ROOM = "room1"


class Call:
    def __init__(self, audio_sink=None, decode: bool = False, forwarder: str | None = None):
        """``forwarder``: as ``serve --media-forwarder``; by default $COMPANION_MEDIA_FORWARDER, else the server's default."""
        self.peers: dict[str, MediaPeer] = {}
        self.forwarder = forwarder or os.environ.get("COMPANION_MEDIA_FORWARDER") or DEFAULT_FORWARDER
        self.service = media_service(self._route, self.forwarder, audio_sink=audio_sink)
        self.decode = decode
        self.client_errors: list[ClientError] = []

    async def _route(self, room_id: str, pid: str, message: dict) -> None:
        peer = self.peers.get(pid)
        if peer is not None:
            peer.deliver(message)

    def _to_server(self, pid: str):
        async def send(message: dict) -> None:
            try:
                await self.service.handle(ROOM, pid, message)
            except ClientError as exc:
                self.client_errors.append(exc)

        return send

    async def join(self, pid: str, shade: int = 0, frequency: float = 440.0, **options) -> MediaPeer:
        """``options``: more MediaPeer arguments (``drop_incoming``, ``rtcp_log``, ``audio`` instead of a tone)."""
        peer = MediaPeer(
            pid,
            self._to_server(pid),
            audio=options.pop("audio", None) or ToneTrack(frequency),
            video=PatternTrack(shade=shade),
            decode=self.decode,
            **options,
        )
        self.peers[pid] = peer
        await peer.start()
        return peer

    async def leave(self, pid: str) -> None:
        peer = self.peers.pop(pid)
        await peer.leave()

    def packets(self, source: str, subscriber: str, kind: str) -> int:
        path = self.service.stats(ROOM).get((source, subscriber, kind))
        return path["packets"] if path else 0

    async def close(self) -> None:
        for peer in list(self.peers.values()):
            await peer.close()
        self.peers.clear()
        await self.service.close()


async def wait_for(
    condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.05, explain: Callable[[], str] | None = None
) -> float:
    """Seconds it took; AssertionError after ``timeout`` (with ``explain()`` in the message)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s" + (f"\n{explain()}" if explain else ""))
        await asyncio.sleep(step)
    return time.monotonic() - start
