"""The splitter on real Whisper output: the round table spoken by espeak-ng, transcribed by faster-whisper.

Our table holds text as we expect Whisper to write it; this check lets
Whisper write it.  Each turn is synthesised with its own espeak-ng voice
(the table's pauses become silence), transcribed on its own as the room
transcribes each speaker's track, and the segments go through the splitter.

Only useful for English: espeak-ng's Dutch voice is too poor for Whisper
base to follow (tried: the words come out as nonsense).  Needs the
``espeak-ng`` program and a faster-whisper model folder (``--model``).

    python -m companion.advice.whisper_check --model DIR [--lang en] [round ids...]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

from . import bench
from .splitter import Utterance, advice_only, split_round

VOICES = {"nl": ["nl+m3", "nl+f2", "nl+m1", "nl+f4", "nl+m5", "nl+f1"], "en": ["en+m3", "en+f2", "en+m1", "en+f4", "en+m5", "en+f1"]}
RATE = 16000


def speak(text: str, voice: str) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    n = int(len(data) * RATE / rate)
    return np.interp(np.linspace(0, len(data) - 1, n), np.arange(len(data)), data).astype(np.float32)


def transcribe_round(model, round_: dict) -> list[Utterance]:
    lang = round_.get("lang", "nl")
    speakers = sorted({u[0] for u in round_["utterances"]})
    voice = {s: VOICES[lang][i % len(VOICES[lang])] for i, s in enumerate(speakers)}
    turns: list[tuple[str, list]] = []
    for spk, a, b, text in round_["utterances"]:
        if turns and turns[-1][0] == spk:
            turns[-1][1].append((a, b, text))
        else:
            turns.append((spk, [(a, b, text)]))
    utts: list[Utterance] = []
    clock = 0.0
    for ti, (spk, parts) in enumerate(turns):
        pieces = []
        for i, (a, _b, text) in enumerate(parts):
            if i:
                pieces.append(np.zeros(int(RATE * max(0.2, a - parts[i - 1][1])), np.float32))
            pieces.append(speak(text, voice[spk]))
        audio = np.concatenate(pieces)
        segments, _ = model.transcribe(audio, language=lang, beam_size=1, condition_on_previous_text=False)
        for j, seg in enumerate(segments):
            utts.append(Utterance(f"{ti}-{j}", spk, clock + seg.start, clock + seg.end, seg.text.strip()))
        clock += len(audio) / RATE + 1.0
    return utts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.advice.whisper_check", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="faster-whisper model folder")
    parser.add_argument("--lang", default="en", help="rounds of this language (default en)")
    parser.add_argument("--table", type=Path, default=bench.DEFAULT_TABLE)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("ids", nargs="*", help="only these rounds")
    args = parser.parse_args(argv)
    from faster_whisper import WhisperModel

    model = WhisperModel(str(args.model), device="cpu", compute_type="int8", cpu_threads=2)
    rounds = [r for r in bench.load_rounds(args.table) if (r["id"] in args.ids if args.ids else r.get("lang") == args.lang)]
    started, right, matched, expected, produced = time.perf_counter(), 0, 0, 0, 0
    for round_ in rounds:
        utts = transcribe_round(model, round_)
        items = advice_only(split_round(utts, round_.get("lang"), names=[u[0] for u in round_["utterances"]]))
        hits, missed = bench.match_items(round_["expect"], items)
        ok = [s for s, _ in round_["expect"]] == [i.speaker_id for i in items]
        right += ok
        matched += hits
        expected += len(round_["expect"])
        produced += len(items)
        if not args.json:
            print(f"{round_['id']}: {'right' if ok else 'WRONG'}, {hits}/{len(round_['expect'])} matched, {len(items)} produced")
            if args.verbose and not ok:
                for u in utts:
                    print(f"    heard [{u.speaker_id}] {u.text}")
                for item in items:
                    print(f"    item  [{item.speaker_id}] {item.text}")
    summary = {
        "rounds": len(rounds), "rounds_right": right, "items_expected": expected, "items_right": matched,
        "items_produced": produced, "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"rounds right {right}/{len(rounds)}; items right {matched}/{expected} (key words must survive Whisper too);"
            f" {produced} produced; {summary['seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
