"""Outgoing tracks that carry already-encoded frames to one subscriber."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = Fraction(1, 90_000)
AUDIO_TIME_BASE = Fraction(1, 48_000)
# About a third of a second of either kind: a subscriber that falls further
# behind loses the backlog rather than growing memory without end.
QUEUE_FRAMES = {"audio": 16, "video": 10}


class ForwardTrack(MediaStreamTrack):
    """A sender's track: ``recv()`` returns ``av.Packet`` so aiortc only packetizes."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(maxsize=QUEUE_FRAMES[kind])
        self._time_base = VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE

    def push(self, data: bytes, timestamp: int) -> bool:
        """Queue one encoded frame; False when the queue overflowed and was emptied."""
        packet = av.Packet(data)
        packet.pts = timestamp
        packet.time_base = self._time_base
        try:
            self._queue.put_nowait(packet)
            return True
        except asyncio.QueueFull:
            # Dropping one frame in the middle of a VP8 stream breaks every
            # frame after it; start clean instead and let the caller wait for
            # a keyframe.
            while not self._queue.empty():
                self._queue.get_nowait()
            return False

    def clear(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            self.clear()
            self._queue.put_nowait(None)
        super().stop()
