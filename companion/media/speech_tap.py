"""One speaker's Opus, decoded to 16 kHz mono float32 for transcription.

Only speakers ``gates.transcribed`` names are decoded; everyone else's audio
stays encoded on its way through.  Nothing here touches the disk.
"""

from __future__ import annotations

import logging
import time

import av
import numpy as np

from ..audio import SAMPLE_RATE

log = logging.getLogger(__name__)

OPUS_RATE = 48_000
# Re-anchor the RTP clock to the monotonic clock when they drift this far apart.
MAX_DRIFT = 0.5
FRAME_SECONDS = 0.02


class SpeakerDecoder:
    def __init__(self) -> None:
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "stereo"
        # Stay stereo through the resampler and average the channels here:
        # FFmpeg's own downmix adds them at -3 dB each, which lifts a mono
        # microphone (sent as two equal channels) by 3 dB and can clip.
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        self._anchor: tuple[int, float] | None = None  # (rtp timestamp, monotonic)

    def decode(self, data: bytes, timestamp: int) -> tuple[np.ndarray, float] | None:
        """Samples and the monotonic time of their first sample, or None."""
        now = time.monotonic()
        start = self._start_of(timestamp, now)
        try:
            frames = self._codec.decode(av.Packet(data))
        except av.FFmpegError as exc:
            log.debug("opus frame not decodable: %s", exc)
            return None
        chunks = []
        for frame in frames:
            for out in self._resampler.resample(frame):
                chunks.append(out.to_ndarray().mean(axis=0))
        if not chunks:
            return None
        samples = np.concatenate(chunks).astype(np.float32, copy=False)
        return samples, start

    def _start_of(self, timestamp: int, now: float) -> float:
        # RTP time keeps gaps (lost packets) honest; the monotonic anchor ties
        # it to the clock transcription uses.  A frame cannot have started
        # later than one frame before it arrived: an early packet moves the
        # anchor back, a late stream (drift past MAX_DRIFT) re-anchors.
        latest = now - FRAME_SECONDS
        if self._anchor is not None:
            rtp0, mono0 = self._anchor
            start = mono0 + ((timestamp - rtp0) % (1 << 32)) / OPUS_RATE
            if start > latest:
                self._anchor = (rtp0, mono0 - (start - latest))
                return latest
            if latest - start <= MAX_DRIFT:
                return start
        self._anchor = (timestamp, latest)
        return latest
