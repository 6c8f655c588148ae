"""Whisper's encoder window sized to the utterance instead of a fixed 30 s.

Whisper pads every input to 30 s of features before the encoder runs, so a
4 s advice costs as much encoder time as a 30 s one, and the encoder is
most of the cost on a CPU (its self-attention grows with the square of the
window).  CTranslate2 accepts a shorter feature window and slices the
positional embeddings to match, so we pad each utterance only to its own
length plus a margin: about 2x less compute.

Opt-in only (``--asr-window fitted``): on espeak-ng clips it looked free,
but on real voices it costs words, most on short utterances (the model was
trained on 30 s windows).  ``companion bench asr`` measures both on the
shared real recordings; options.WINDOW_HELP states the cost to operators.

Below ``MIN_SECONDS`` the model is further from what it was trained on and
the saving is small, so no window is shorter than that.

faster-whisper calls the module-level ``pad_or_trim`` of its ``transcribe``
module for every 30 s window; that name is what we swap.  It is a private
corner, so faster-whisper is pinned exactly and tests/test_speech_window.py
fails loudly if the swap stops reaching the encoder.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import faster_whisper
import faster_whisper.transcribe as _fw_transcribe
from faster_whisper.audio import pad_or_trim as _pad_or_trim

from ..audio import SAMPLE_RATE

PINNED_FASTER_WHISPER = "1.2.1"
FULL_FRAMES = 3000  # 30 s at Whisper's 100 feature frames a second
FRAMES_PER_SECOND = 100
MIN_SECONDS = 10
# Room after the last word so the model can place its closing timestamp.
MARGIN_SECONDS = 1


class WindowHookError(RuntimeError):
    pass


def window_frames(samples: int) -> int:
    seconds = samples / SAMPLE_RATE
    return min(FULL_FRAMES, max(MIN_SECONDS, math.ceil(seconds + MARGIN_SECONDS)) * FRAMES_PER_SECOND)


_local = threading.local()


def _windowed_pad_or_trim(array: Any, length: int = FULL_FRAMES, *, axis: int = -1) -> Any:
    frames = getattr(_local, "frames", None)
    if frames is not None and length == FULL_FRAMES:
        length = frames
        _local.seen = getattr(_local, "seen", 0) + 1
    return _pad_or_trim(array, length, axis=axis)


def install() -> None:
    """Swap faster-whisper's padding for ours; idempotent, loud when the hook point moved."""
    current = getattr(_fw_transcribe, "pad_or_trim", None)
    if current is _windowed_pad_or_trim:
        return
    if current is not _pad_or_trim:
        raise WindowHookError(
            f"faster-whisper {faster_whisper.__version__}: transcribe.pad_or_trim is not the function this "
            f"hook was written against (pinned {PINNED_FASTER_WHISPER}); refusing to patch"
        )
    _fw_transcribe.pad_or_trim = _windowed_pad_or_trim


@contextmanager
def encoder_window(samples: int) -> Iterator[dict[str, int]]:
    """Within the block, this thread's transcriptions encode ``window_frames(samples)`` frames.

    Yields a dict whose ``padded`` count says how many windows were padded to that size:
    zero after a transcription means the hook no longer reaches faster-whisper.
    """
    install()
    report = {"frames": window_frames(samples), "padded": 0}
    _local.frames, _local.seen = report["frames"], 0
    try:
        yield report
    finally:
        report["padded"] = _local.seen
        _local.frames = None
