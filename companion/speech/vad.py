"""Per-speaker voice activity detection: a live stream of samples in, whole utterances out.

Silero VAD (the ONNX file faster-whisper ships, run with onnxruntime, no
torch) rather than an energy threshold: each speaker's track carries their
room's noise (fans, keyboards, a TV next door), and an energy gate would
send all of it to Whisper, which writes subtitle credits on noise.  Silero
costs about 0.1 ms per 32 ms window batched, so six speakers take ~2% of a
core in the event loop's process.

Every speaker has their own cutter with its own recurrent state: one
person's pause never ends another's utterance, and attribution stays exact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..audio import SAMPLE_RATE

WINDOW = 512  # samples per Silero decision at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the model sees with each window
WINDOW_S = WINDOW / SAMPLE_RATE
# Decide in small batches: one onnxruntime call per ~128 ms keeps the per-call overhead low.
BATCH_WINDOWS = 4
# A jump in the timeline bigger than this is a break in the stream (a long loss, a speaker back after a
# pause the media side did not flush).  Smaller jumps are the media clock re-anchoring under load
# (speech_tap re-anchors at 0.5 s drift): they must not cut an utterance in two, so the timeline
# just goes on by sample count.
MAX_GAP = 1.5
_session = None


@dataclass(frozen=True)
class VadOptions:
    """Cutting a speaker's stream into utterances."""

    threshold: float = 0.5  # Silero speech probability that counts as speech
    end_silence: float = 0.6  # an utterance ends after this much silence...
    join_silence: float = 1.5  # ...unless it holds less than min_utterance of speech: then wait this long for more
    min_utterance: float = 1.0
    min_speech: float = 0.25  # less speech than this (a cough, a click) is dropped
    max_utterance: float = 25.0  # cut here even mid-speech, below Whisper's 30 s window
    # Audio kept before the first speech window: Silero hears soft onsets late (a Flemish "De muur ..."
    # began 0.5 s before its first speech window and lost both words with 0.2 s).  Free with Whisper's 30 s window.
    pre_roll: float = 1.0
    post_roll: float = 0.3


def _silero_session():
    global _session
    if _session is None:
        import faster_whisper
        import onnxruntime

        path = os.path.join(os.path.dirname(faster_whisper.__file__), "assets", "silero_vad_v6.onnx")
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        _session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)
    return _session


class SpeechProbability:
    """Streaming Silero: windows in, speech probabilities out, state carried between calls."""

    def __init__(self) -> None:
        self._session = _silero_session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``windows``: (n, 512) float32; returns n probabilities."""
        n = windows.shape[0]
        batch = np.empty((n, CONTEXT + WINDOW), dtype=np.float32)
        batch[:, CONTEXT:] = windows
        batch[0, :CONTEXT] = self._context
        if n > 1:
            batch[1:, :CONTEXT] = windows[:-1, -CONTEXT:]
        self._context = windows[-1, -CONTEXT:].copy()
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return np.asarray(out, dtype=np.float32).reshape(-1)[:n]


@dataclass
class Cut:
    """One utterance of one speaker: its audio and the monotonic times of its first and last sample."""

    start: float
    end: float
    audio: np.ndarray
    speech_end: float = 0.0  # monotonic end of the last speech window

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class _Open:
    start_index: int  # window index (since the anchor) of the first window kept
    windows: list[np.ndarray] = field(default_factory=list)
    speech_windows: int = 0
    last_speech: int = 0  # window index of the last speech window


class UtteranceCutter:
    """One speaker's stream to utterances: ends after ``end_silence`` of silence, cut at ``max_utterance``.

    A short piece (less than ``min_utterance`` of speech) waits up to
    ``join_silence`` for the same speaker to go on, so "Ja... en ook een
    coach" becomes one utterance and Whisper pays its 30 s window once.
    """

    def __init__(self, options: VadOptions | None = None, detector: SpeechProbability | None = None):
        self.opt = options or VadOptions()
        self.detector = detector or SpeechProbability()
        self._anchor: float | None = None  # monotonic time of window 0
        self._next_index = 0  # index of the next whole window
        self._pending = np.zeros(0, dtype=np.float32)  # samples short of a whole batch
        self._recent: list[np.ndarray] = []  # pre-roll windows while silent
        self._open: _Open | None = None
        self._in_speech = False

    @property
    def speaking(self) -> bool:
        """An utterance is open (the speaker is talking, or in a pause shorter than the cut)."""
        return self._open is not None

    # -------------------------------------------------------------- feeding
    def push(self, samples: np.ndarray, start: float) -> list[Cut]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        cuts: list[Cut] = []
        if self._anchor is not None:
            expected = self._anchor + (self._next_index * WINDOW + len(self._pending)) / SAMPLE_RATE
            if abs(start - expected) > MAX_GAP:
                cuts += self.flush()
        if self._anchor is None:
            self._anchor = start
            self._next_index = 0
        self._pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = (len(self._pending) // (WINDOW * BATCH_WINDOWS)) * WINDOW * BATCH_WINDOWS
        if whole:
            windows = self._pending[:whole].reshape(-1, WINDOW)
            self._pending = self._pending[whole:].copy()
            probs = self.detector(windows)
            for window, p in zip(windows, probs):
                cut = self._step(window, float(p))
                if cut is not None:
                    cuts.append(cut)
        return cuts

    def flush(self) -> list[Cut]:
        """The stream pauses: whatever is open ends now; the next push starts a fresh timeline."""
        cuts = []
        if self._open is not None:
            if len(self._pending):
                self._open.windows.append(self._pending)
            cut = self._close(include_all=True)
            if cut is not None:
                cuts.append(cut)
        self._anchor = None
        self._next_index = 0
        self._pending = np.zeros(0, dtype=np.float32)
        self._recent = []
        self._open = None
        self._in_speech = False
        self.detector.reset()
        return cuts

    # -------------------------------------------------------------- per window
    def _step(self, window: np.ndarray, p: float) -> Cut | None:
        index = self._next_index
        self._next_index += 1
        opt = self.opt
        # Hysteresis as Silero recommends: a little less is needed to stay in speech than to enter it.
        speech = p >= opt.threshold or (self._in_speech and p >= opt.threshold - 0.15)
        self._in_speech = speech
        if self._open is None:
            if not speech:
                self._recent.append(window)
                keep = max(1, int(round(opt.pre_roll / WINDOW_S)))
                if len(self._recent) > keep:
                    del self._recent[0]
                return None
            self._open = _Open(start_index=index - len(self._recent), windows=list(self._recent))
            self._recent = []
        utt = self._open
        utt.windows.append(window)
        if speech:
            utt.speech_windows += 1
            utt.last_speech = index
        silence = (index - utt.last_speech) * WINDOW_S
        speech_s = utt.speech_windows * WINDOW_S
        if len(utt.windows) * WINDOW_S >= opt.max_utterance:
            cut = self._close(include_all=True)
            if speech:  # still talking: go straight on in a new utterance
                self._open = _Open(start_index=index + 1, last_speech=index)
            return cut
        if speech:
            return None
        if silence >= opt.end_silence and speech_s >= opt.min_utterance:
            return self._close()
        if silence >= opt.join_silence:
            return self._close()
        return None

    def _close(self, include_all: bool = False) -> Cut | None:
        utt, self._open = self._open, None
        self._recent = []
        if utt is None or utt.speech_windows * WINDOW_S < self.opt.min_speech:
            return None
        windows = utt.windows
        if not include_all:
            # Keep a little after the last speech, drop the rest of the silence.
            last = utt.last_speech - utt.start_index + int(round(self.opt.post_roll / WINDOW_S))
            windows = windows[: last + 1]
        audio = np.concatenate(windows) if windows else np.zeros(0, dtype=np.float32)
        assert self._anchor is not None
        start = self._anchor + utt.start_index * WINDOW_S
        end = start + len(audio) / SAMPLE_RATE
        speech_end = min(end, self._anchor + (utt.last_speech + 1) * WINDOW_S)
        return Cut(start=start, end=end, audio=audio, speech_end=speech_end)
