"""The shared real Dutch recordings, and the bare model's word error rate on them.

The recordings (36 sentences read by two native speakers, CC0; 12 of them
short, 1.7-3 s, named ``*_short_*``) live outside the package in
``<repo>/../shared/data/speech/nl-real/`` with a ``manifest.tsv`` giving each
file's exact transcript.  ``bench asr`` and the tests judge the pipeline on
them, against faster-whisper called directly on the same weights with its
standard 30 s window and no VAD: what the model can do, so anything above
that is an error the pipeline added.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .wer import word_errors

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT.parent / "shared" / "data" / "speech" / "nl-real"
MANIFEST = "manifest.tsv"


@dataclass(frozen=True)
class Recording:
    name: str
    transcript: str
    speaker: str
    audio: np.ndarray  # float32, 16 kHz mono

    @property
    def seconds(self) -> float:
        return len(self.audio) / 16_000

    @property
    def short(self) -> bool:
        return "_short_" in self.name


def load(folder: Path = DEFAULT_DIR, limit: int | None = None) -> list[Recording]:
    """The manifest's recordings (all, or ``limit`` spread evenly), decoded; FileNotFoundError when missing."""
    from .audiofile import decode_audio

    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"no real recordings: {manifest} does not exist")
    with open(manifest, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if limit and limit < len(rows):
        # Evenly spread over the manifest, so a subset keeps its share of short recordings and of each speaker.
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    out = []
    for row in rows:
        path = folder / row["file"]
        if not path.is_file():
            raise FileNotFoundError(f"{path} is listed in {manifest} but missing")
        out.append(Recording(row["file"], row["transcript"], row["speaker"], decode_audio(path)))
    return out


def bare_text(model: Any, audio: np.ndarray, language: str, beam_size: int = 5) -> str:
    """faster-whisper's own ``WhisperModel.transcribe`` with its defaults: 30 s window, no VAD, no filters."""
    segments, _info = model.transcribe(np.ascontiguousarray(audio, dtype=np.float32), language=language, beam_size=beam_size)
    return " ".join(s.text.strip() for s in segments)


def score(pairs: Iterable[tuple[Recording, str]]) -> dict[str, float | int]:
    """Word error rate over all recordings and over the short ones: {"wer", "wer_short", "words", "words_short"}."""
    errors = words = errors_short = words_short = 0
    for recording, text in pairs:
        e, n = word_errors(recording.transcript, text)
        errors += e
        words += n
        if recording.short:
            errors_short += e
            words_short += n
    return {
        "wer": round(errors / max(1, words), 4),
        "wer_short": round(errors_short / max(1, words_short), 4),
        "words": words,
        "words_short": words_short,
    }
