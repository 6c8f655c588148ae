"""``companion bench asr [--json]``: accuracy and speed of the speech pipeline, real voices first.

1. Real voices: the shared Dutch recordings (realvoices.py: 36 sentences, two
   native speakers, 12 of them under 3 s) through the product's path (VAD
   cutting and the transcriber, as ``companion transcribe`` and the live
   step) per configuration (engine, encoder window, beam, batching): word
   error rate over all (``real_nl_wer``) and over the short ones, and the
   real-time factor on the same audio.  The baseline, measured in the same
   run, is faster-whisper called bare on the same weights (standard 30 s
   window, no VAD, no filters).  openai-whisper on the same weights is the
   anchor for speed.
2. espeak-ng clips: the same engines on robotic Dutch, a floor for
   comparisons between engines, not a measure of quality on people, with
   what the filters set aside per reason.
3. End of speech to text in the event loop (p50, p95) with six speakers
   taking turns in real time through TranscriptionService, as in a room.

Configurations take turns clip by clip, so whatever else the machine does
meanwhile falls on all of them alike: the ratios hold when the absolute
figures do not (the load average is printed with them).
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


BARE = "bare-faster-whisper"


def describe(options: AsrOptions, queued: bool = False) -> dict[str, Any]:
    """The configuration's columns in the real-voice table.

    ``batch``: "1" when each utterance is decoded alone (nothing waiting), "packed" when one
    speaker's waiting utterances share windows (packing.py).
    """
    return {
        "engine": options.engine,
        "compute_type": options.compute_type if options.engine == "faster-whisper" else "float32",
        "window": "fitted" if options.fit_window and options.engine == "faster-whisper" else "30s",
        "beam": options.beam_size,
        "batch": "packed" if queued and options.pack_queued else "1",
    }


# Configurations whose name ends so run one speaker's recordings as utterances waiting together.
QUEUED = "-queued"


def speaker_rounds(recordings: list[Any]) -> list[list[Any]]:
    """The recordings in rounds: consecutive ones of one speaker that fit one packed window together.

    A round is what waits in the queue at once when that speaker says these
    sentences while the model is busy; every configuration runs round by round.
    """
    from . import packing

    rounds: list[list[Any]] = []
    for recording in recordings:
        last = rounds[-1] if rounds else None
        if last and last[0].speaker == recording.speaker and packing.packed_seconds([r.seconds for r in last] + [recording.seconds]) <= packing.MAX_SECONDS:
            last.append(recording)
        else:
            rounds.append([recording])
    return rounds


def real_run(configs: dict[str, AsrOptions], recordings: list[Any], language: str, bare_options: AsrOptions) -> dict[str, dict[str, Any]]:
    """Every configuration on every real recording through the product's path, plus the bare model.

    Interleaved round by round (``speaker_rounds``; see ``engines_run``).  A
    configuration named ``...-queued`` gets each round as one speaker's
    waiting utterances (the service's queue, packing.py); the others decode
    each recording on its own, as when nothing waits.  Each configuration
    keeps its own warm model; the first call of each is a warm-up outside the timing.
    """
    from faster_whisper import WhisperModel

    from . import realvoices
    from .asr import load_transcriber
    from .cli import cut_utterances, transcribe_with
    from .packing import transcribe_queued
    from .weights import resolve_model

    bare = WhisperModel(
        resolve_model(bare_options.model, bare_options.data_dir),
        device=bare_options.device,
        compute_type=bare_options.compute_type,
        cpu_threads=bare_options.threads,
    )

    def one_by_one(run: Any) -> Any:
        return lambda round_: [run(r.audio) for r in round_]

    def queued(transcriber: Any) -> Any:
        def run(round_: list[Any]) -> list[str]:
            # Each recording cut by the VAD as a live stream is; all the pieces wait together.
            cuts = [[audio for _s, _e, audio in cut_utterances(r.audio)] for r in round_]
            heard = transcribe_queued(transcriber, [piece for pieces in cuts for piece in pieces], language)
            out, i = [], 0
            for pieces in cuts:
                out.append(" ".join(t.text for t in heard[i : i + len(pieces)] if t.text))
                i += len(pieces)
            return out

        return run

    runners: dict[str, Any] = {BARE: one_by_one(lambda audio: realvoices.bare_text(bare, audio, language, bare_options.beam_size))}
    windows: dict[str, Any] = {}
    for name, options in configs.items():
        transcriber = load_transcriber(options)
        if name.endswith(QUEUED):
            runners[name] = queued(transcriber)
            windows[name] = transcriber
        else:
            runners[name] = one_by_one(lambda audio, t=transcriber: " ".join(u.text for u in transcribe_with(t, audio, "spreker", language)))
    rounds = speaker_rounds(recordings)
    for run in runners.values():
        run(rounds[0][:2])  # warm: the first call pays lazy set-up
    packed_before = {name: getattr(t, "packed_windows", 0) for name, t in windows.items()}
    texts: dict[str, list[tuple[Any, str]]] = {name: [] for name in runners}
    compute = dict.fromkeys(runners, 0.0)
    cpu = dict.fromkeys(runners, 0.0)
    for round_ in rounds:
        for name, run in runners.items():
            t, c = time.perf_counter(), time.process_time()
            texts[name] += list(zip(round_, run(round_)))
            compute[name] += time.perf_counter() - t
            cpu[name] += time.process_time() - c
    audio_seconds = sum(r.seconds for r in recordings)
    out = {}
    for name in runners:
        scores = realvoices.score(texts[name])
        if name == BARE:
            row = describe(bare_options) | {"path": "bare"}
        else:
            row = describe(configs[name], name.endswith(QUEUED)) | {"path": "product"}
        if name in windows:
            row["packed_windows"] = getattr(windows[name], "packed_windows", 0) - packed_before[name]
        out[name] = row | {
            "real_nl_wer": scores["wer"],
            "real_nl_wer_short": scores["wer_short"],
            "rtf": round(compute[name] / audio_seconds, 3),
            # CPU seconds (all threads) per second of audio: what load from others does not inflate.
            "cpu_per_audio_second": round(cpu[name] / audio_seconds, 3),
            "compute_seconds": round(compute[name], 1),
            "audio_seconds": round(audio_seconds, 1),
        }
    return out


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


def real_configs(base: AsrOptions, skip: list[str], data_dir: Path) -> dict[str, AsrOptions]:
    """The configurations compared on real voices; the first is the product's default (nothing waiting)."""
    configs = {"faster-whisper-int8": base}
    if "queued" not in skip:
        # The same default options, when one speaker's utterances wait in the queue together.
        configs["faster-whisper-int8" + QUEUED] = base
    if "beams" not in skip:
        for beam in (3, 2):
            if beam < base.beam_size:
                configs[f"faster-whisper-int8-beam{beam}"] = base.with_(beam_size=beam)
    if "greedy" not in skip:
        configs["faster-whisper-int8-greedy"] = base.with_(beam_size=1)
        if "queued" not in skip:
            configs["faster-whisper-int8-greedy" + QUEUED] = base.with_(beam_size=1)
    if "fitted" not in skip:
        configs["faster-whisper-int8-fitted-window"] = base.with_(fit_window=True)
        if "greedy" not in skip:
            configs["faster-whisper-int8-fitted-window-greedy"] = base.with_(fit_window=True, beam_size=1)
    if "fp32" not in skip:
        configs["faster-whisper-fp32"] = base.with_(compute_type="float32")
    # The speed anchor runs the bundled weights converted; another model has no converted twin here.
    if "openai" not in skip and not base.model and importlib.util.find_spec("whisper") is not None:
        from .convert import bundled_openai_checkpoint

        configs["openai-whisper"] = base.with_(engine="openai-whisper", model=str(bundled_openai_checkpoint(data_dir)))
    return configs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion bench asr", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where the bundled model is assembled")
    p.add_argument("--language", default="nl")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--whisper-model", default=None, help="a CTranslate2 model folder to measure instead of the bundled base")
    p.add_argument("--beam", type=int, default=AsrOptions().beam_size, help="beam size of the default configuration")
    p.add_argument("--repeat", type=int, default=1, help="passes over the espeak clips per engine")
    p.add_argument("--speakers", type=int, default=6)
    p.add_argument("--turns", type=int, default=12)
    p.add_argument("--clips", type=int, default=len(CLIPS), help="how many of the espeak clips to use")
    p.add_argument("--real-dir", type=Path, default=None, help="the real recordings (default ../shared/data/speech/nl-real)")
    p.add_argument("--real-clips", type=int, default=0, help="use N of the real recordings, spread evenly (default all)")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["real", "espeak", "greedy", "beams", "queued", "fitted", "fp32", "openai", "live"],
        help="leave a part out",
    )
    args = p.parse_args(argv)
    from . import realvoices
    from .audiofile import espeak

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    base = AsrOptions(threads=args.threads, language=args.language, data_dir=args.data_dir, beam_size=args.beam, model=args.whisper_model)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "loadavg_at_start": [round(x, 1) for x in os.getloadavg()]},
        "model": args.whisper_model or "bundled Whisper base",
        # The default decodes an utterance alone when the model is free, and packs one speaker's
        # utterances when they wait (the "-queued" row).
        "default": describe(AsrOptions()) | {"waiting": "packed" if AsrOptions().pack_queued else "1"},
    }
    if "real" not in args.skip:
        try:
            recordings = realvoices.load(args.real_dir or realvoices.DEFAULT_DIR, args.real_clips or None)
        except FileNotFoundError as exc:
            print(f"companion bench asr: {exc} (or --skip real)", file=sys.stderr)
            return 2
        configs = real_configs(base, args.skip, args.data_dir)
        say(f"real voices: {len(recordings)} recordings, {BARE} and {', '.join(configs)}, taking turns ...")
        table = real_run(configs, recordings, args.language, base.with_(fit_window=False))
        default = table["faster-whisper-int8"]
        report["real"] = {
            "recordings": len(recordings),
            "short": sum(r.short for r in recordings),
            "audio": "real Dutch voices (nl-real)",
            "baseline": BARE,
            "configs": table,
        }
        # The headline figures: the default configuration against the bare model, same run.
        report["real_nl_wer"] = default["real_nl_wer"]
        report["real_nl_wer_short"] = default["real_nl_wer_short"]
        report["real_nl_rtf"] = default["rtf"]
        report["real_nl_wer_bare"] = table[BARE]["real_nl_wer"]
        report["real_nl_wer_short_bare"] = table[BARE]["real_nl_wer_short"]
        report["real_nl_rtf_bare"] = table[BARE]["rtf"]
        queued = table.get("faster-whisper-int8" + QUEUED)
        if queued is not None:
            report["real_nl_wer_queued"] = queued["real_nl_wer"]
            report["real_nl_wer_short_queued"] = queued["real_nl_wer_short"]
            report["real_nl_rtf_queued"] = queued["rtf"]
    if "espeak" not in args.skip:
        clips = [(text, espeak(text, args.language)) for text in CLIPS[: max(1, args.clips)]]
        report["clips"] = len(clips)
        report["audio"] = "espeak-ng " + args.language
        engines = {"faster-whisper-int8": base}
        if "fitted" not in args.skip:
            engines["faster-whisper-int8-fitted-window"] = base.with_(fit_window=True)
        if "fp32" not in args.skip:
            engines["faster-whisper-fp32"] = base.with_(compute_type="float32")
        if "openai" not in args.skip and not base.model and importlib.util.find_spec("whisper") is not None:
            from .convert import bundled_openai_checkpoint

            engines["openai-whisper"] = base.with_(engine="openai-whisper", model=str(bundled_openai_checkpoint(args.data_dir)))
        say(f"espeak: {', '.join(engines)}: {len(clips)} clips x {args.repeat}, taking turns ...")
        report["engines"] = engines_run(engines, clips, args.language, args.repeat)
        rtf = {name: r["rtf"] for name, r in report["engines"].items()}
        if "faster-whisper-int8-fitted-window" in rtf:
            report["speedup_fitted_window"] = round(rtf["faster-whisper-int8"] / rtf["faster-whisper-int8-fitted-window"], 1)
        if "openai-whisper" in rtf:
            report["speedup_int8_over_openai"] = round(rtf["openai-whisper"] / rtf["faster-whisper-int8"], 1)
        if "live" not in args.skip:
            say(f"live: {args.speakers} speakers, {args.turns} turns in real time ...")
            report["live"] = asyncio.run(live_run(base, clips, args.speakers, args.turns, args.language))
    report["machine"]["loadavg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    load = report["machine"]
    print(f"model: {report['model']}")
    print(f"{load['cpus']} CPUs, {load['threads']} threads; load average {load['loadavg_at_start'][0]} at start, {load['loadavg_at_end'][0]} at end")
    if "real" in report:
        real = report["real"]
        print(f"\nreal voices: {real['recordings']} recordings ({real['short']} under 3 s); baseline {real['baseline']}, same run")
        print(f"{'configuration':42s} {'engine':15s} {'window':6s} {'beam':>4s} {'batch':>6s} {'WER':>6s} {'short':>6s} {'RTF':>6s} {'CPU/s':>6s}")
        for name, r in real["configs"].items():
            print(
                f"{name:42s} {r['engine']:15s} {r['window']:6s} {r['beam']:4d} {r['batch']:>6s} "
                f"{r['real_nl_wer']:6.3f} {r['real_nl_wer_short']:6.3f} {r['rtf']:6.3f} {r['cpu_per_audio_second']:6.3f}"
            )
        print("RTF: wall-clock seconds per second of audio; CPU/s: CPU seconds (all threads) per second of audio")
        print("batch 1: each utterance decoded alone (nothing waiting); packed: one speaker's waiting utterances share windows")
    if "engines" in report:
        print(f"\nespeak-ng clips ({report['clips']}; robotic: a floor for comparing engines, not quality on people)")
        for name, r in report["engines"].items():
            print(f"{name:34s} RTF {r['rtf']:.3f}  WER {r['wer']:.2f}  ({r['compute_seconds']} s for {r['audio_seconds']} s)"
                  f"  set aside: {r['set_aside'] or 'nothing'}")
        if "speedup_fitted_window" in report:
            print(f"the fitted encoder window is {report['speedup_fitted_window']}x faster than Whisper's 30 s window")
        if "speedup_int8_over_openai" in report:
            print(f"int8 is {report['speedup_int8_over_openai']}x faster than openai-whisper")
    if "live" in report:
        live = report["live"]
        print(
            f"\nlive, {live['speakers']} speakers: end of speech to text p50 {live['latency_p50']} s, "
            f"p95 {live['latency_p95']} s; WER {live['wer']}; in order: {live['attribution_in_order']}"
        )
