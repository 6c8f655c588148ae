"""A participant's side of the media protocol in Python (aiortc), for tests and the bench.

It does what static/js/media.js does in a browser: answers the server's
offers, sends its microphone and camera on the two upstream mids, and keeps
the mid -> participant map from ``media.offer`` / ``media.slots``.  It counts
what arrives per (participant, kind) from the encoded frames, so counting
costs no decoding.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from collections import Counter, deque
from typing import Any, Awaitable, Callable

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from . import hooks

log = logging.getLogger(__name__)

SendToServer = Callable[[dict], Awaitable[None]]


class ToneTrack(MediaStreamTrack):
    """A sine tone in 20 ms frames, 48 kHz stereo s16, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.3):
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = 960
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / 48_000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(samples) + self._pts) / 48_000
        mono = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48_000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48_000)
        self._pts += samples
        return frame


class SpeakingTrack(MediaStreamTrack):
    """A microphone that is silent until told to say something (48 kHz mono s16, 20 ms frames, real time).

    ``finished`` gets the monotonic time at which the last sample of each clip
    went out, so a caller can time what happens after someone stops talking.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._clips: deque[np.ndarray] = deque()
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0
        self._start: float | None = None
        self._queued = 0  # speech samples queued so far (48 kHz)
        self._sent = 0  # speech samples sent so far
        self._ends: deque[int] = deque()  # where each queued clip ends, counted like _queued
        self.finished: list[float] = []

    def say(self, samples_16k: np.ndarray) -> float:
        """Queue speech (16 kHz float); returns its duration in seconds."""
        n = len(samples_16k)
        up = np.interp(np.arange(n * 3) / 3.0, np.arange(n), samples_16k)
        pcm = np.clip(up * 32767, -32768, 32767).astype(np.int16)
        self._clips.append(pcm)
        self._queued += len(pcm)
        self._ends.append(self._queued)
        return n / 16_000

    @property
    def speaking(self) -> bool:
        return bool(self._ends)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / 48_000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        while len(self._pending) < 960 and self._clips:
            self._pending = np.concatenate([self._pending, self._clips.popleft()])
        chunk = self._pending[:960]
        self._pending = self._pending[960:]
        self._sent += len(chunk)
        while self._ends and self._sent >= self._ends[0]:
            self._ends.popleft()
            self.finished.append(time.monotonic())
        if len(chunk) < 960:
            chunk = np.concatenate([chunk, np.zeros(960 - len(chunk), dtype=np.int16)])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48_000)
        self._pts += 960
        return frame


class PatternTrack(MediaStreamTrack):
    """A small moving test picture, paced at ``fps``."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120, fps: float = 15.0, shade: int = 0):
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.shade = shade
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._n / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        image = np.full((self.height, self.width, 3), self.shade, dtype=np.uint8)
        x = (self._n * 4) % self.width
        image[:, x : x + 8, :] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(self._n * 90_000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._n += 1
        return frame


class MediaPeer:
    """One simulated participant. Feed it the server's messages with ``deliver``."""

    def __init__(
        self,
        pid: str,
        send: SendToServer,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        decode: bool = False,
        drop_incoming: Callable[[bytes], bool] | None = None,
        rtcp_log: list | None = None,
        count_packets: bool = False,
    ):
        """``drop_incoming``: lose incoming RTP packets it is true for (a lossy link); ``rtcp_log``:
        a list that gets every RTCP packet this participant receives; ``count_packets``: count frames
        from the RTP packets as they arrive (a video frame at its last packet, the marker bit) instead of
        from aiortc's jitter buffer, so that many simulated participants in one process cost little
        (the bench)."""
        self.count_packets = count_packets
        self.pid = pid
        self.drop_incoming = drop_incoming
        self.rtcp_log = rtcp_log
        self._send = send
        self.audio = audio
        self.video = video
        self.decode = decode
        self.pc: RTCPeerConnection | None = None
        self.slots: dict[str, dict] = {}  # mid -> slot from the server
        self.received: Counter[tuple[str, str]] = Counter()  # (participant, kind) -> encoded frames
        self.keyframes: Counter[str] = Counter()  # participant -> VP8 keyframes
        self.first_video_keyframe: dict[str, bool] = {}  # participant -> was the first frame a keyframe
        self.decoded: Counter[str] = Counter()  # kind -> decoded frames (decode=True)
        # count_packets: participant -> video frames counted in ``received`` that lacked a packet
        self.incomplete: Counter[str] = Counter()
        # (monotonic time, participant, keyframe, RTP timestamp) of the latest video frames
        self.video_log: deque[tuple[float, str, bool, int]] = deque(maxlen=4000)
        self.offers = 0
        self.errors: list[dict] = []
        self.closed_by_server: list[str] = []
        self.moved: list[str] = []  # reasons of media.moved: the call went to another page of this person
        # (monotonic time, levels) of the latest media.levels: who speaks, as the server heard it
        self.levels: deque[tuple[float, dict]] = deque(maxlen=2000)
        self._inbox: asyncio.Queue[dict | None] = asyncio.Queue()
        self._runner: asyncio.Task | None = None
        self._drains: list[asyncio.Task] = []

    async def start(self, join: dict | None = None) -> None:
        """``join``: the media.join to send (a page id, ``resume``), plain by default."""
        self._runner = asyncio.ensure_future(self._run())
        await self._send(join or {"type": "media.join"})

    async def rejoin(self, audio: MediaStreamTrack | None = None, video: MediaStreamTrack | None = None) -> None:
        """Take the call (back) to this page: a fresh connection, with fresh tracks (aiortc stops a
        track when its connection closes)."""
        self.audio = audio or self.audio
        self.video = video or self.video
        if self.pc is not None:
            await self.pc.close()
            self.pc = None
        await self._send({"type": "media.join"})

    def deliver(self, message: dict) -> None:
        self._inbox.put_nowait(message)

    async def _run(self) -> None:
        while True:
            message = await self._inbox.get()
            if message is None:
                return
            try:
                await self._on_message(message)
            except Exception:
                log.exception("%s: handling %s failed", self.pid, message.get("type"))

    async def _on_message(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "media.offer":
            await self._on_offer(message)
        elif kind == "media.slots":
            self._set_slots(message["slots"])
        elif kind == "media.closed":
            self.closed_by_server.append(message.get("reason", ""))
        elif kind == "media.levels":
            self.levels.append((time.monotonic(), message["levels"]))
        elif kind == "media.moved":
            # Another page of the same person took the call: stop, as the room page does.
            self.moved.append(message.get("reason", ""))
            if self.pc is not None:
                await self.pc.close()
                self.pc = None
        elif kind == "error":
            self.errors.append(message)

    def _set_slots(self, slots: list[dict]) -> None:
        for slot in slots:
            self.slots[slot["mid"]] = slot

    def source_of(self, mid: str) -> str | None:
        slot = self.slots.get(mid)
        return slot["participant"] if slot else None

    async def _on_offer(self, message: dict) -> None:
        if self.pc is None:
            # aiortc's own bundle bug (issues 1414, 1437) hits the answering side too.
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
            self.pc.on("track", self._on_track)
        pc = self.pc
        self._set_slots(message.get("slots", []))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        upstream = message.get("upstream", {})
        for transceiver in pc.getTransceivers():
            for kind, track in (("audio", self.audio), ("video", self.video)):
                if track is not None and transceiver.mid == upstream.get(kind) and transceiver.sender.track is None:
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        # Simulated pages share one process: a busy event loop must not lose their packets either.
        hooks.widen_receive_buffers(pc)
        if self.drop_incoming is not None:
            hooks.drop_incoming_rtp(pc, self.drop_incoming)
        if self.rtcp_log is not None:
            hooks.record_incoming_rtcp(pc, self.rtcp_log)
        self.offers += 1
        await self._send({"type": "media.answer", "seq": message.get("seq"), "sdp": pc.localDescription.sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        if self.count_packets:
            hooks.install_packet_tap(transceiver.receiver, self._packet_counter(transceiver, track.kind), feedback=False)
        else:
            hooks.install_frame_tap(transceiver.receiver, self._counter(transceiver, track.kind), also_decode=self.decode)
        self._drains.append(asyncio.ensure_future(self._drain(track)))

    def _counter(self, transceiver: Any, kind: str) -> Callable[[Any, Any], None]:
        def on_frame(codec: Any, frame: Any) -> None:
            source = self.source_of(transceiver.mid) or "?"
            self.received[(source, kind)] += 1
            if kind == "video":
                keyframe = hooks.is_vp8_keyframe(frame.data)
                self.first_video_keyframe.setdefault(source, keyframe)
                self.keyframes[source] += keyframe
                self.video_log.append((time.monotonic(), source, keyframe, frame.timestamp))

        return on_frame

    def _packet_counter(self, transceiver: Any, kind: str) -> Callable[[Any, Any], None]:
        from .rtp import vp8

        # Whether every packet of the video frame being received has arrived so far (sequence numbers
        # one apart since the packet that began it), and the sequence number expected next.
        frame = {"whole": False, "next": None}

        def on_packet(codec: Any, packet: Any) -> None:
            source = self.source_of(transceiver.mid) or "?"
            if kind == "audio":
                self.received[(source, kind)] += 1
                return
            descriptor = vp8.parse(packet.payload)
            if descriptor is not None and descriptor.starts_frame:
                frame["whole"] = True
            elif packet.sequence_number != frame["next"]:
                frame["whole"] = False
            frame["next"] = (packet.sequence_number + 1) & 0xFFFF
            if vp8.starts_keyframe(packet.payload, descriptor):
                self.first_video_keyframe.setdefault(source, True)
                self.keyframes[source] += 1
            if packet.marker:
                self.received[(source, kind)] += 1
                # No NACKs here: a frame with a packet missing stays broken, and counts apart.
                self.incomplete[source] += not frame["whole"]

        return on_packet

    async def _drain(self, track: MediaStreamTrack) -> None:
        # The remote track's queue is unbounded: always read it.
        try:
            while True:
                await track.recv()
                self.decoded[track.kind] += 1
        except MediaStreamError:
            pass

    async def leave(self, tell_server: bool = True) -> None:
        if tell_server:
            try:
                await self._send({"type": "media.leave"})
            except Exception:
                pass
        await self.close()

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for track in (self.audio, self.video):
            if track is not None:
                track.stop()
        self._inbox.put_nowait(None)
        if self._runner is not None:
            await self._runner
        for task in self._drains:
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)
