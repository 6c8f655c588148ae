"""``companion bench asr [--json]``: speed and accuracy of the speech engines on the same clips.

- real-time factor (seconds of compute per second of audio) and word error
  rate of faster-whisper int8, faster-whisper fp32 and openai-whisper (when
  installed, on the same bundled weights converted), one warm model each;
  faster-whisper encodes a window fitted to each utterance (window.py), and
  int8 is measured once more with Whisper's fixed 30 s window as the
  baseline that change is judged against (openai-whisper always pays 30 s:
  its encoder refuses any other length);
- end of speech to text in the event loop (p50, p95) with six speakers
  taking turns in real time through TranscriptionService, as in a room.

The clips are espeak-ng Dutch: robotic, so the WER is a floor for
comparisons between engines, not a measure of quality on people.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..config import default_data_dir
from .options import AsrOptions
from .wer import word_errors

CLIPS = (
    "Mijn advies is om het gesprek met je teamleider goed voor te bereiden.",
    "Ik zou beginnen met een open vraag over de planning.",
    "Misschien kun je een collega vragen om mee te denken.",
    "Probeer elke week een uur vrij te houden voor je eigen werk.",
    "Je zou kunnen overwegen om minder taken tegelijk aan te nemen.",
    "Zorg dat je na het gesprek afspraken op papier zet.",
)
CHUNK = 320  # 20 ms, as the media side pushes


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def engines_run(engines: dict[str, AsrOptions], clips: list[tuple[str, np.ndarray]], language: str, repeat: int) -> dict[str, dict[str, Any]]:
    """Every engine on every clip, taking turns clip by clip.

    Interleaved rather than one engine after the other, so that whatever else
    the machine is doing meanwhile falls on all engines alike and the ratios
    between them hold even when the absolute figures do not.
    """
    from .asr import load_transcriber

    loaded: dict[str, Any] = {}
    load: dict[str, float] = {}
    for name, options in engines.items():
        t0 = time.perf_counter()
        loaded[name] = load_transcriber(options)
        loaded[name].transcribe(clips[0][1], language)  # warm: the first call pays lazy set-up
        load[name] = time.perf_counter() - t0
    compute = dict.fromkeys(engines, 0.0)
    set_aside: dict[str, dict[str, int]] = {name: {} for name in engines}
    errors = dict.fromkeys(engines, 0)
    words = dict.fromkeys(engines, 0)
    for _ in range(repeat):
        for reference, audio in clips:
            for name, transcriber in loaded.items():
                t = time.perf_counter()
                result = transcriber.transcribe(audio, language)
                text = result.text
                compute[name] += time.perf_counter() - t
                _count_set_aside(set_aside[name], result)
                e, n = word_errors(reference, text)
                errors[name] += e
                words[name] += n
    audio_seconds = repeat * sum(len(a) for _, a in clips) / SAMPLE_RATE
    return {
        name: {
            "rtf": round(compute[name] / audio_seconds, 3),
            "wer": round(errors[name] / max(1, words[name]), 3),
            "compute_seconds": round(compute[name], 2),
            "audio_seconds": round(audio_seconds, 2),
            "load_seconds": round(load[name], 2),
            # What the filters kept out of the text, per reason (advice/aside.py keeps it in the room).
            "set_aside": set_aside[name],
        }
        for name in engines
    }


def _count_set_aside(counts: dict[str, int], transcript: Any) -> None:
    for piece in getattr(transcript, "set_aside", ()):
        reason = piece["reason"] if isinstance(piece, dict) else piece.reason
        counts[reason] = counts.get(reason, 0) + 1
    if getattr(transcript, "collapsed", 0):
        counts["loop_collapsed"] = counts.get("loop_collapsed", 0) + transcript.collapsed


async def live_run(options: AsrOptions, clips: list[tuple[str, np.ndarray]], speakers: int, turns: int, language: str) -> dict[str, Any]:
    """Speakers take turns in real time; every speaker's stream is pushed (silence when not talking)."""
    from .service import TranscriptionService

    results: list[Any] = []
    service = TranscriptionService(options, results.append)
    t_start = time.perf_counter()
    await service.start()
    ready = time.perf_counter() - t_start
    room = "bench-room"
    step_t0 = time.monotonic()
    service.begin_step(room, "advice", language, step_t0)
    pids = [f"p{i + 1}" for i in range(speakers)]
    said: list[tuple[str, str]] = []
    silence = np.zeros(CHUNK, dtype=np.float32)
    max_backlog = 0.0
    pause = np.zeros(int(1.0 * SAMPLE_RATE), dtype=np.float32)
    clock = time.monotonic()
    for turn in range(turns):
        speaker = pids[turn % speakers]
        reference, audio = clips[turn % len(clips)]
        said.append((speaker, reference))
        stream = np.concatenate([audio, pause])
        for i in range(0, len(stream) - CHUNK + 1, CHUNK):
            for pid in pids:
                service.push(room, pid, stream[i : i + CHUNK] if pid == speaker else silence, clock)
            clock += CHUNK / SAMPLE_RATE
            max_backlog = max(max_backlog, float(service.backlog_seconds))
            # Real time: the next 20 ms are not there before their time.
            await asyncio.sleep(max(0.0, clock - time.monotonic()))
    service.end_step(room)
    await service.wait_idle(timeout=600)
    await service.stop()
    latencies = list(service.latencies)
    errors = words = 0
    by_speaker = {pid: " ".join(r for s, r in said if s == pid) for pid in pids}
    heard = {pid: " ".join(u.text for u in results if u.participant_id == pid) for pid in pids}
    for pid in pids:
        e, n = word_errors(by_speaker[pid], heard[pid])
        errors += e
        words += n
    live_aside: dict[str, int] = {}
    for u in results:
        _count_set_aside(live_aside, u)
    # An utterance whose words were all set aside has no text; a turn decoded again replaces its pieces.
    replaced = {piece for u in results for piece in getattr(u, "replaces", ())}
    results = sorted((u for u in results if u.text and u.id not in replaced), key=lambda u: u.start)
    order_ok = [u.participant_id for u in results] == [s for s, _ in said][: len(results)]
    return {
        "speakers": speakers,
        "turns": turns,
        "utterances": len(results),
        "latency_p50": round(_percentile(latencies, 0.5), 2),
        "latency_p95": round(_percentile(latencies, 0.95), 2),
        "latency_max": round(max(latencies), 2) if latencies else None,
        "max_backlog_seconds": round(max_backlog, 1),
        "wer": round(errors / max(1, words), 3),
        "set_aside": live_aside,
        "attribution_in_order": order_ok,
        "worker_restarts": service.restarts,
        "worker_ready_seconds": round(ready, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion bench asr", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where the bundled model is assembled")
    p.add_argument("--language", default="nl")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="passes over the clips per engine")
    p.add_argument("--speakers", type=int, default=6)
    p.add_argument("--turns", type=int, default=12)
    p.add_argument("--clips", type=int, default=len(CLIPS), help="how many of the clips to use")
    p.add_argument("--skip", action="append", default=[], choices=["window30", "fp32", "openai", "live"], help="leave a part out")
    args = p.parse_args(argv)
    from .audiofile import espeak

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    clips = [(text, espeak(text, args.language)) for text in CLIPS[: max(1, args.clips)]]
    base = AsrOptions(threads=args.threads, language=args.language, data_dir=args.data_dir)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 1) for x in os.getloadavg()]},
        "clips": len(clips),
        "audio": "espeak-ng " + args.language,
        "engines": {},
    }
    engines = {"faster-whisper-int8": base}
    if "window30" not in args.skip:
        engines["faster-whisper-int8-30s-window"] = base.with_(fit_window=False)
    if "fp32" not in args.skip:
        engines["faster-whisper-fp32"] = base.with_(compute_type="float32")
    if "openai" not in args.skip and importlib.util.find_spec("whisper") is not None:
        from .convert import bundled_openai_checkpoint

        engines["openai-whisper"] = base.with_(engine="openai-whisper", model=str(bundled_openai_checkpoint(args.data_dir)))
    say(f"{', '.join(engines)}: {len(clips)} clips x {args.repeat}, taking turns ...")
    report["engines"] = engines_run(engines, clips, args.language, args.repeat)
    rtf = {name: r["rtf"] for name, r in report["engines"].items()}
    if "faster-whisper-int8-30s-window" in rtf:
        report["speedup_fitted_window"] = round(rtf["faster-whisper-int8-30s-window"] / rtf["faster-whisper-int8"], 1)
    if "openai-whisper" in rtf:
        report["speedup_int8_over_openai"] = round(rtf["openai-whisper"] / rtf["faster-whisper-int8"], 1)
    if "live" not in args.skip:
        say(f"live: {args.speakers} speakers, {args.turns} turns in real time ...")
        report["live"] = asyncio.run(live_run(base, clips, args.speakers, args.turns, args.language))
    report["machine"]["loadavg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, r in report["engines"].items():
            print(f"{name:22s} RTF {r['rtf']:.3f}  WER {r['wer']:.2f}  ({r['compute_seconds']} s for {r['audio_seconds']} s)"
                  f"  set aside: {r['set_aside'] or 'nothing'}")
        if "speedup_fitted_window" in report:
            print(f"the fitted encoder window is {report['speedup_fitted_window']}x faster than Whisper's 30 s window")
        if "speedup_int8_over_openai" in report:
            print(f"int8 is {report['speedup_int8_over_openai']}x faster than openai-whisper")
        if "live" in report:
            live = report["live"]
            print(
                f"live, {live['speakers']} speakers: end of speech to text p50 {live['latency_p50']} s, "
                f"p95 {live['latency_p95']} s; WER {live['wer']}; in order: {live['attribution_in_order']}"
            )
    return 0
