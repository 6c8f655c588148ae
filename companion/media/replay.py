"""Pre-encoded camera and microphone streams, replayed in real time (benchmarks).

Encoded once before a run and replayed, so a simulated participant's
encoding costs nothing and stays out of every figure: aiortc only
packetizes the payloads.  The video is near what a capped browser camera
sends (640x360, 24 fps, about 600 kbps VP8, see static/js/media.js).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

WIDTH, HEIGHT, FPS = 640, 360, 24
VIDEO_BITRATE = 600_000
GOP = FPS  # a keyframe every second: a replayed stream answers a PLI within one
LOOP_FRAMES = 4 * GOP


def encode_video() -> list[tuple[bytes, bool]]:
    """Four seconds of camera-like VP8, a keyframe every second: (payload, keyframe) per frame."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS, 1)
    encoder.bit_rate = VIDEO_BITRATE
    encoder.gop_size = GOP
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "kf-max-dist": str(GOP)}
    # A drifting coarse noise texture: it comes out near the bitrate a
    # capped camera sends (about 600 kbps), unlike a flat test pattern.
    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 255, (HEIGHT // 8, WIDTH * 2 // 8, 3), dtype=np.uint8)
    texture = np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))
    packets = []
    for n in range(LOOP_FRAMES):
        x = n * 4 % WIDTH
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, x : x + WIDTH]), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = n
        if n % GOP == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    return [(bytes(p), p.is_keyframe) for p in packets]


def encode_audio() -> list[bytes]:
    """One second of a 300 Hz tone as Opus, 20 ms per packet."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
    encoder.bit_rate = 32_000
    packets = []
    for n in range(50):
        t = (np.arange(960) + n * 960) / 48_000
        mono = (0.2 * 32767 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48_000, n * 960
        packets.extend(encoder.encode(frame))
    return [bytes(p) for p in packets]


class ReplayTrack(MediaStreamTrack):
    """Pre-encoded payloads in real time; aiortc only packetizes them."""

    def __init__(self, kind: str, payloads: list[bytes], rate: float, clock: int):
        super().__init__()
        self.kind = kind
        self.payloads, self.rate, self.clock = payloads, rate, clock
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / self.rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.payloads[self.sent % len(self.payloads)])
        packet.pts = int(self.sent * self.clock / self.rate)
        packet.time_base = fractions.Fraction(1, self.clock)
        self.sent += 1
        return packet


def camera_track(video: list[tuple[bytes, bool]]) -> ReplayTrack:
    return ReplayTrack("video", [p for p, _ in video], FPS, 90_000)


def replay_tracks(video: list[tuple[bytes, bool]], audio: list[bytes]) -> tuple[ReplayTrack, ReplayTrack]:
    return camera_track(video), ReplayTrack("audio", audio, 50, 48_000)


def encode_speech(samples_16k: np.ndarray) -> list[bytes]:
    """Speech (16 kHz float, -1..1) as Opus, 20 ms per packet, for ``SpeakingReplayTrack.say``."""
    encoder = _opus_encoder()
    n = len(samples_16k)
    up = np.interp(np.arange(n * 3) / 3.0, np.arange(n), samples_16k)
    mono = np.clip(up * 32767, -32768, 32767).astype(np.int16)
    mono = np.concatenate([mono, np.zeros(-len(mono) % 960, dtype=np.int16)])
    packets = []
    for at in range(0, len(mono), 960):
        frame = av.AudioFrame.from_ndarray(np.repeat(mono[at : at + 960], 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48_000, at
        packets.extend(bytes(p) for p in encoder.encode(frame))
    packets.extend(bytes(p) for p in encoder.encode(None))
    return packets


def _opus_encoder() -> av.CodecContext:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
    encoder.bit_rate = 32_000
    return encoder


class SpeakingReplayTrack(MediaStreamTrack):
    """A microphone that is silent until told to say something, as ``peer.SpeakingTrack``, but what it
    says is Opus encoded before the run (``encode_speech``) and replayed in real time, one 20 ms
    packet at a time: aiortc only packetizes it.  Encoding live costs one trip to aiortc's encoder
    thread per frame and microphone, and with a room of simulated pages in one busy process those
    trips fell behind: the microphones sent less than they were asked to (bench session).

    ``finished`` gets the monotonic time at which the last packet of each clip went out;
    ``frames_sent`` counts the 20 ms packets handed out so far, speech and silence alike.
    """

    kind = "audio"
    _silence: bytes | None = None

    def __init__(self) -> None:
        super().__init__()
        if SpeakingReplayTrack._silence is None:
            SpeakingReplayTrack._silence = encode_speech(np.zeros(320))[0]
        self._queue: deque[bytes] = deque()
        self._queued = 0  # speech packets queued so far
        self._ends: deque[int] = deque()  # after how many speech packets each clip has gone out
        self._speech_sent = 0
        self.frames_sent = 0
        self._start: float | None = None
        self.finished: list[float] = []

    def say(self, packets: list[bytes]) -> float:
        """Queue speech (from ``encode_speech``); returns its duration in seconds."""
        self._queue.extend(packets)
        self._queued += len(packets)
        self._ends.append(self._queued)
        return len(packets) * 0.02

    @property
    def speaking(self) -> bool:
        return bool(self._ends)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.frames_sent / 50 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._queue:
            payload = self._queue.popleft()
            self._speech_sent += 1
            while self._ends and self._speech_sent >= self._ends[0]:
                self._ends.popleft()
                self.finished.append(time.monotonic())
        else:
            payload = self._silence
        packet = av.Packet(payload)
        packet.pts = self.frames_sent * 960
        packet.time_base = fractions.Fraction(1, 48_000)
        self.frames_sent += 1
        return packet
