"""``companion bench pauses [--json]``: a pause inside a speaker's turn, decoded three ways.

The live cutter ends an utterance after 0.6 s of silence (vad.py), so a
speaker who pauses one or two seconds mid-advice reaches Whisper as two
pieces.  Decoded alone, the second piece lacks the words before it.  This
bench takes real recordings (shared/data/speech/nl-real: a Flemish and a
Dutch voice, exact transcripts), cuts each at its quietest point near the
middle (a gap between words), puts a pause there, and scores the word error
rate of:

- ``pieces``: the two pieces decoded apart and joined (before this change);
- ``prompted``: the same pieces, the second decoded with the first's text as
  Whisper's prompt (measured as the alternative; the service does not use it);
- ``whole``: the turn decoded at once, the pieces joined with the pause
  shortened to ``service.TURN_GAP_SECONDS``: what the service decodes when the
  turn ends, and what the advice list then takes in place of the pieces;
- ``packed``: the two pieces waiting together, decoded in one window and
  split back by word timings (packing.py): what the service does when the
  model is busy while the speaker talks (faster-whisper only).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from .options import AsrOptions
from .wer import word_errors

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech" / "nl-real"
FRAME = 320  # 20 ms
# Cut between 35 % and 65 % of the recording: both pieces hold words.
CUT_FROM, CUT_TO = 0.35, 0.65


def load_recordings(folder: Path = DATA, shortest: float = 3.0) -> list[tuple[str, str, np.ndarray]]:
    """(file name, transcript, 16 kHz samples) of the recordings at least ``shortest`` seconds long."""
    from .audiofile import decode_audio

    out = []
    with open(folder / "manifest.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if float(row["duration_s"]) >= shortest:
                out.append((row["file"], row["transcript"], decode_audio(folder / row["file"])))
    return out


def quietest_cut(audio: np.ndarray) -> int:
    """The sample index of the quietest 60 ms between CUT_FROM and CUT_TO of the audio (a gap between words)."""
    frames = len(audio) // FRAME
    energy = np.array([float(np.mean(audio[i * FRAME : (i + 1) * FRAME] ** 2)) for i in range(frames)])
    smooth = np.convolve(energy, np.ones(3) / 3, mode="same")
    lo, hi = int(frames * CUT_FROM), max(int(frames * CUT_FROM) + 1, int(frames * CUT_TO))
    return (lo + int(np.argmin(smooth[lo:hi]))) * FRAME


def measure(transcriber: Any, recordings: list[tuple[str, str, np.ndarray]], language: str = "nl") -> dict[str, Any]:
    """Word errors of the three ways over all recordings, and each recording's texts."""
    errors = {"whole": 0, "pieces": 0, "prompted": 0}
    packs = getattr(transcriber, "transcribe_packed", None)
    if packs is not None:
        errors["packed"] = 0
    words = 0
    rows = []
    for name, reference, audio in recordings:
        cut = quietest_cut(audio)
        first, second = audio[:cut], audio[cut:]
        from .service import TURN_GAP_SECONDS

        gap = np.zeros(int(TURN_GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
        whole = transcriber.transcribe(np.concatenate([first, gap, second]), language).text
        head = transcriber.transcribe(first, language).text
        alone = transcriber.transcribe(second, language).text
        prompted = transcriber.transcribe(second, language, prompt=head).text if head else alone
        texts = {"whole": whole, "pieces": f"{head} {alone}".strip(), "prompted": f"{head} {prompted}".strip()}
        if packs is not None:
            texts["packed"] = " ".join(t.text for t in packs([first, second], language) if t.text)
        row: dict[str, Any] = {"file": name, "reference": reference, "cut_seconds": round(cut / SAMPLE_RATE, 2)}
        for way, text in texts.items():
            e, n = word_errors(reference, text)
            errors[way] += e
            row[way] = text
            row[f"{way}_errors"] = e
        words += n
        rows.append(row)
    return {
        "recordings": len(recordings),
        "words": words,
        "wer": {way: round(e / max(1, words), 3) for way, e in errors.items()},
        "errors": errors,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion bench pauses", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", type=Path, default=DATA, help="a folder with manifest.tsv and the recordings")
    p.add_argument("--limit", type=int, default=0, help="only the first N recordings (0: all of 3 s and longer)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if not (args.data / "manifest.tsv").is_file():
        print(f"no recordings: {args.data}/manifest.tsv is missing", file=sys.stderr)
        return 2
    from .asr import load_transcriber

    recordings = load_recordings(args.data)
    if args.limit:
        recordings = recordings[: args.limit]
    transcriber = load_transcriber(AsrOptions(threads=args.threads))
    t0 = time.perf_counter()
    report = measure(transcriber, recordings)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        w = report["wer"]
        print(f"{report['recordings']} recordings, {report['words']} words, cut at a pause near the middle (WER):")
        print(f"  in pieces {w['pieces']:.3f}   in pieces, prompted {w['prompted']:.3f}   the turn decoded again whole {w['whole']:.3f}")
        if "packed" in w:
            print(f"  the pieces waiting together, in one window {w['packed']:.3f}")
    return 0
