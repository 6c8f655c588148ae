"""Whisper's known inventions on silence and noise, and how to spot them.

Whisper was trained on subtitled video: on silence or noise it writes the
credits and captions it saw there.  A segment is dropped when the model's
own scores say it heard no speech, when it is a repetition loop, or when its
text is one of the known phrases.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

# Whisper's own defaults: no_speech over 0.6 *and* a low log-probability means silence.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# Below this the words are guesses even if the model thinks there was speech.
VERY_LOW_LOGPROB = -1.5
MAX_COMPRESSION_RATIO = 2.4

# Normalised (lower case, no punctuation) fragments; a segment containing one is dropped.
CREDIT_FRAGMENTS = (
    "ondertiteld door",
    "ondertiteling door",
    "ondertitels ingediend door",
    "ondertiteling ingediend door",
    "amara org",
    "ondertitels door",
    "tv gelderland",
    "subtitles by",
    "subtitled by",
    "captions by",
    "transcribed by",
    "thanks for watching",
    "thank you for watching",
    "bedankt voor het kijken",
    "bedankt voor het luisteren",
    "abonneer je op",
    "vergeet niet te abonneren",
    "like and subscribe",
    "please subscribe",
)
# Whole-segment texts that are only ever noise labels.
NOISE_LABELS = {"muziek", "music", "applaus", "applause", "gelach", "laughter", "stilte", "silence", "geluid", "noise"}
_BRACKETED = re.compile(r"^[\[\(\*♪].*[\]\)\*♪]$")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def is_repetition_loop(text: str, min_repeats: int = 4) -> bool:
    """One word or short phrase over and over, anywhere in the text ("Zeg dat je dat je dat je dat je ...")."""
    words = normalise(text).split()
    for n in range(1, 5):
        for offset in range(min(n, len(words))):
            run = best = 1
            for i in range(offset + n, len(words) - n + 1, n):
                if words[i : i + n] == words[i - n : i]:
                    run += 1
                    best = max(best, run)
                else:
                    run = 1
            if best >= min_repeats and best * n >= 0.5 * len(words):
                return True
    return False


def is_known_hallucination(text: str) -> bool:
    stripped = text.strip()
    if not stripped:
        return True
    if _BRACKETED.match(stripped):
        return True
    norm = normalise(stripped)
    if not norm:
        return True
    if norm in NOISE_LABELS:
        return True
    return any(fragment in norm for fragment in CREDIT_FRAGMENTS)


@dataclass(frozen=True)
class SegmentScores:
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def keep_segment(seg: SegmentScores) -> bool:
    if seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < LOW_LOGPROB:
        return False
    if seg.avg_logprob < VERY_LOW_LOGPROB:
        return False
    if seg.compression_ratio > MAX_COMPRESSION_RATIO:
        return False
    if is_known_hallucination(seg.text) or is_repetition_loop(seg.text):
        return False
    return True
