"""The hand-over of live speech from the media side to transcription.

The media layer decodes a speaker's audio only while ``gates.transcribed``
says so, resamples it to 16 kHz mono float32 and pushes it here.  Audio
stays in memory: nothing on this path may touch the disk.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000


class AudioSink(Protocol):
    def push(self, room_id: str, participant_id: str, samples: np.ndarray, start: float) -> None:
        """``samples``: float32 mono at 16 kHz in [-1, 1]; ``start``: time.monotonic() of the first sample."""

    def flush(self, room_id: str, participant_id: str) -> None:
        """This speaker's stream pauses (gate closed, step over, left): end any open utterance now."""
