"""Several waiting utterances of one speaker decoded in one 30 s window, each getting its own words back.

Whisper's encoder costs the same for a 2 s remark as for 30 s of speech (it
always sees a 30 s window), and on two CPU cores that encoder pass alone
takes about as long as a short utterance lasts.  When utterances of one
speaker are waiting in the queue (the model is busy with another speaker or
room), they are laid one after another in one window, with a second of
silence between them, and decoded once with word timestamps; each word goes
back to the utterance its timing falls in.  Only one speaker's utterances
ever share a window, so who said what cannot change; the timestamps only
decide which of that speaker's utterances a word belongs to.

Measured on the 36 shared real recordings (bundled base, int8, beam 5,
``companion bench asr``): waiting together per speaker (36 utterances in 8
windows) the word error rate was 0.130 (0.160 on the short ones) against
0.142 (0.235) one utterance per window, the bare model's figure, at 0.40
instead of 0.88 CPU seconds per second of speech.
A word whose timing Whisper puts in the silence goes to the nearer
utterance (seen: a leading "en" joined the utterance before it).
An utterance that comes back without a word from the shared window is
decoded again on its own, so a remark Whisper skipped between others is
not lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from ..audio import SAMPLE_RATE

# Silence laid between utterances (and before the first and after the last): long enough that
# Whisper's word timings fall clearly on one side, short enough to fit several remarks in a window.
GAP_SECONDS = 1.0
# Whisper's window is 30 s; the rest is room for its closing timestamp.
MAX_SECONDS = 28.0


def packed_seconds(seconds: Sequence[float]) -> float:
    """Length of the window ``seconds`` of utterances make with their gaps."""
    return sum(seconds) + GAP_SECONDS * (len(seconds) + 1)


def groups(seconds: Sequence[float]) -> list[list[int]]:
    """Indices of consecutive utterances grouped so each group fits one window (a longer one stands alone)."""
    out: list[list[int]] = []
    for i, s in enumerate(seconds):
        if out and packed_seconds([seconds[j] for j in out[-1]] + [s]) <= MAX_SECONDS:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def layout(pieces: Sequence[np.ndarray]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The pieces joined with GAP_SECONDS of silence around each; (audio, [(start, end) s of each piece])."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    bounds: list[tuple[float, float]] = []
    offset = 0
    for piece in pieces:
        parts.append(gap)
        offset += len(gap)
        parts.append(np.asarray(piece, dtype=np.float32))
        bounds.append((offset / SAMPLE_RATE, (offset + len(piece)) / SAMPLE_RATE))
        offset += len(piece)
    parts.append(gap)
    return np.concatenate(parts), bounds


def owner(bounds: Sequence[tuple[float, float]], t: float) -> int:
    """Index of the piece that time ``t`` (s) falls in, or of the nearest one when it falls in a gap."""

    def distance(i: int) -> float:
        a, b = bounds[i]
        return 0.0 if a <= t <= b else min(abs(t - a), abs(t - b))

    return min(range(len(bounds)), key=distance)


@dataclass(frozen=True)
class Part:
    """The words of one Whisper segment that belong to one piece; times in seconds from the piece's start."""

    piece: int
    start: float
    end: float
    text: str
    segment: Any  # the faster-whisper segment the words came from (its scores judge them)


def split(segments: Iterable[Any], bounds: Sequence[tuple[float, float]]) -> list[list[Part]]:
    """Per piece, in order, the parts of the segments whose words fall in it.

    ``segments``: faster-whisper segments decoded with ``word_timestamps=True``
    (each with ``.words``, each word with ``.start``, ``.end``, ``.word``).
    A segment with no words (nothing said) gives no part.
    """
    out: list[list[Part]] = [[] for _ in bounds]
    for segment in segments:
        run: list[Any] = []
        run_piece = -1
        for word in getattr(segment, "words", None) or ():
            piece = owner(bounds, (word.start + word.end) / 2)
            if run and piece != run_piece:
                out[run_piece].append(_part(run_piece, run, bounds, segment))
                run = []
            run.append(word)
            run_piece = piece
        if run:
            out[run_piece].append(_part(run_piece, run, bounds, segment))
    return out


def _part(piece: int, words: list[Any], bounds: Sequence[tuple[float, float]], segment: Any) -> Part:
    a, b = bounds[piece]
    length = b - a
    start = min(max(0.0, words[0].start - a), length)
    end = min(max(start, words[-1].end - a), length)
    return Part(piece, round(start, 3), round(end, 3), "".join(w.word for w in words).strip(), segment)


def transcribe_queued(transcriber: Any, pieces: Sequence[np.ndarray], language: str) -> list[Any]:
    """Each piece's ``Transcript`` (same order); all pieces are one speaker's, in the order they were said.

    With a transcriber that packs (``transcribe_packed``, faster-whisper), the
    pieces share windows as ``groups`` lays them out; any other decodes them one
    by one.  Each piece then goes through the language check on its own
    (``language.transcribe_heard_language``), as a single utterance does.
    """
    from .language import transcribe_heard_language

    packed = getattr(transcriber, "transcribe_packed", None)
    out: list[Any] = []
    for group in groups([len(p) / SAMPLE_RATE for p in pieces]):
        firsts: list[Any] = [None] * len(group)
        if packed is not None and len(group) > 1:
            firsts = packed([pieces[i] for i in group], language)
        out += [transcribe_heard_language(transcriber, pieces[i], language, first=f) for i, f in zip(group, firsts)]
    return out
