"""``companion transcribe FILE`` and ``companion model export-openai OUT.pt``.

Transcribing a recording (an in-person session, say) goes through the same
steps as a live room: decode to 16 kHz in memory, cut per utterance with the
same VAD, one Whisper pass per utterance with the same filters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

import numpy as np

from ..audio import SAMPLE_RATE
from ..config import default_data_dir
from .options import ENGINES, WINDOW_HELP, WINDOWS, AsrOptions
from .weights import WeightsError

if TYPE_CHECKING:
    from .asr import Transcriber

FEED_SECONDS = 1.0


@dataclass(frozen=True)
class FileUtterance:
    speaker: str
    start: float
    end: float
    text: str
    confidence: float
    language: str
    # What the filters kept out of ``text``: {"text", "reason", "start", "end"} (seconds in the file).
    set_aside: tuple[dict, ...] = ()


class Progress:
    """A one-line bar on stderr, only when it is a terminal or asked for; quiet otherwise."""

    def __init__(self, stream: TextIO, label: str, enabled: bool | None = None):
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty() if enabled is None else enabled
        self._last = 0.0

    def __call__(self, done: float, total: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < total:
            return
        self._last = now
        if total > 0:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {frac * 100:5.1f}% ({done:.0f}/{total:.0f} s)")
        else:
            self.stream.write(f"\r{self.label} {done:.0f} s")
        self.stream.flush()

    def done(self, total: float | None = None) -> None:
        if self.enabled:
            if total is not None:
                self._last = 0.0
                self(total, total)
            self.stream.write("\n")
            self.stream.flush()


def cut_utterances(samples: np.ndarray) -> list[tuple[float, float, np.ndarray]]:
    """(start, end, audio) per utterance, cut exactly as a live speaker's stream is."""
    from .vad import UtteranceCutter

    cutter = UtteranceCutter()
    cuts = []
    step = int(FEED_SECONDS * SAMPLE_RATE)
    for offset in range(0, len(samples), step):
        cuts += cutter.push(samples[offset : offset + step], offset / SAMPLE_RATE)
    cuts += cutter.flush()
    return [(c.start, c.end, c.audio) for c in cuts]


def transcribe_samples(
    samples: np.ndarray,
    options: AsrOptions,
    speaker: str,
    language: str,
    progress: Callable[[float, float], None] | None = None,
) -> list[FileUtterance]:
    from .asr import load_transcriber

    return transcribe_with(load_transcriber(options), samples, speaker, language, progress)


def transcribe_with(
    transcriber: "Transcriber",
    samples: np.ndarray,
    speaker: str,
    language: str,
    progress: Callable[[float, float], None] | None = None,
) -> list[FileUtterance]:
    """``transcribe_samples`` with a model already loaded (the benchmark and tests keep one warm).

    The recording's utterances are all there at once, so they share windows as
    a live speaker's waiting utterances do (packing.py), unless the options
    say not to pack.
    """
    from .language import transcribe_heard_language
    from .packing import groups, transcribe_queued

    total = len(samples) / SAMPLE_RATE
    cuts = cut_utterances(samples)
    pack = getattr(getattr(transcriber, "options", None), "pack_queued", False)
    batches = groups([len(audio) / SAMPLE_RATE for _, _, audio in cuts]) if pack else [[i] for i in range(len(cuts))]
    out = []
    for batch in batches:
        if len(batch) == 1:
            heard = [transcribe_heard_language(transcriber, cuts[batch[0]][2], language)]
        else:
            heard = transcribe_queued(transcriber, [cuts[i][2] for i in batch], language)
        for i, t in zip(batch, heard):
            start, end, _audio = cuts[i]
            if t.text or t.set_aside:
                aside = tuple(
                    {"text": a.text, "reason": a.reason, "start": round(start + a.start, 2), "end": round(start + a.end, 2)}
                    for a in t.set_aside
                )
                out.append(FileUtterance(speaker, round(start, 2), round(end, 2), t.text, t.confidence, t.language, aside))
        if progress is not None:
            progress(cuts[batch[-1]][1], total)
    return out


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60)
    return f"{int(minutes):02d}:{sec:04.1f}"


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where the assembled model is kept")
    p.add_argument("--asr-engine", choices=ENGINES, default="faster-whisper")
    p.add_argument("--whisper-model", default=None, help="model name, folder or (openai-whisper) checkpoint; default the bundled base")
    p.add_argument("--asr-threads", type=int, default=2)
    p.add_argument("--asr-window", choices=WINDOWS, default="full", help=WINDOW_HELP)


def transcribe_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion transcribe", description="Transcribe a recording with the local Whisper model.")
    p.add_argument("file", type=Path)
    p.add_argument("--language", default="nl", help="spoken language (default nl)")
    p.add_argument("--speaker", default="spreker", help="name put on every utterance")
    p.add_argument("--json", action="store_true", help="print a JSON list of utterances")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr (default: when stderr is a terminal)")
    _common_args(p)
    args = p.parse_args(argv)
    from .audiofile import decode_audio

    if not args.file.is_file():
        print(f"companion transcribe: {args.file}: bestand niet gevonden / file not found", file=sys.stderr)
        return 2
    try:
        options = AsrOptions(
            engine=args.asr_engine,
            model=args.whisper_model,
            threads=args.asr_threads,
            fit_window=args.asr_window == "fitted",
            language=args.language,
            data_dir=args.data_dir,
        )
        bar = Progress(sys.stderr, "decoding    ", args.progress)
        samples = decode_audio(args.file, bar)
        total = len(samples) / SAMPLE_RATE
        bar.done(total)
        bar = Progress(sys.stderr, "transcribing", args.progress)
        utterances = transcribe_samples(samples, options, args.speaker, args.language, bar)
        bar.done(total)
    except (ValueError, WeightsError) as exc:
        print(f"companion transcribe: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    if args.json:
        json.dump([asdict(u) for u in utterances], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for u in utterances:
            if u.text:
                print(f"[{_clock(u.start)} - {_clock(u.end)}] {u.speaker}: {u.text}")
            for a in u.set_aside:  # kept, marked: the reader decides
                print(f"[{_clock(a['start'])} - {_clock(a['end'])}] ({a['reason']}) {a['text']}")
    return 0


def model_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion model", description="Manage the local speech model.")
    sub = p.add_subparsers(dest="action", required=True)
    exp = sub.add_parser("export-openai", help="write the bundled Whisper base as an openai-whisper checkpoint")
    exp.add_argument("out", type=Path, help="checkpoint to write, e.g. base.pt")
    exp.add_argument("--data-dir", type=Path, default=default_data_dir())
    exp.add_argument("--model-dir", type=Path, default=None, help="a CTranslate2 Whisper folder instead of the bundled base")
    args = p.parse_args(argv)
    from .convert import export_openai
    from .weights import assemble_bundled

    try:
        model_dir = args.model_dir or assemble_bundled(args.data_dir)
        dims = export_openai(model_dir, args.out)
    except (WeightsError, ImportError) as exc:
        print(f"companion model: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({dims['n_audio_layer']} encoder / {dims['n_text_layer']} decoder layers, {dims['n_vocab']} tokens)")
    print(f"use it with: companion serve --asr-engine openai-whisper --whisper-model {args.out}")
    return 0
