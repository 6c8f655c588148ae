"""``companion bench speech-sharing``: a speech model per worker process, or one shared by all?

Under ``companion serve --workers N`` each worker is a whole server.  Its rooms' speech can go to
a model process of its own (N models, each with ``--asr-threads``), or to one pool shared by the
workers and sized to the machine.  This measures the question the choice rests on, with the
product's own path (``TranscriptionService``: the per-speaker cutter here, the warm model in its
own process): several rooms in an advice round at the same moment, each with one deelnemer
speaking after the other, real Dutch voices (the shared recordings) pushed in real time, 20 ms at
a time, as the media side does.

Configurations, taking turns in one run on the same audio (A B C, then C B A with --repeat 2):
  per-worker     N model processes with --threads each, the rooms spread over them as the front
                 spreads rooms over workers (room i on worker i mod N)
  per-worker-fit N model processes with threads = cores / N (the machine's cores shared out)
  shared         one model process with --threads for every room (what one pool sized to a
                 small machine is; a bigger pool is N models again)

Printed per configuration: the end-of-speech-to-text latency (p50, p95, max over every utterance
of every room), the peak memory of the model processes (resident and proportional, PSS, which
counts shared library pages once), the word error rate per room against what was read (a mix-up
of rooms or speakers shows there), and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..config import default_data_dir
from .options import AsrOptions
from .wer import word_errors

CHUNK = 320  # 20 ms
PAUSE_SECONDS = 1.5  # between two speakers of a room


def _children(root: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{root}/task").iterdir():
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB."""
    rss = pss = 0.0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    return rss, pss


class ModelMemory:
    """Peak summed RSS and PSS of this process's children (the model processes), sampled."""

    def __init__(self) -> None:
        self.rss = self.pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ModelMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            rss = pss = 0.0
            children = _children(os.getpid())
            for pid in children:
                try:
                    if b"spawn_main" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue  # not a model process (multiprocessing's resource tracker)
                    r, p = _memory(pid)
                except OSError:
                    continue
                rss, pss = rss + r, pss + p
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)


async def run_config(
    models: list[AsrOptions], rooms: int, turns: list[list[Any]], language: str
) -> dict[str, Any]:
    """``turns[r]``: the recordings room r's deelnemers read, one after the other (deelnemer i reads turn i)."""
    from .service import TranscriptionService

    results: list[Any] = []
    services = [TranscriptionService(options, results.append) for options in models]
    with ModelMemory() as memory:
        began = time.monotonic()
        await asyncio.gather(*(s.start() for s in services))
        ready = time.monotonic() - began
        load_start = os.getloadavg()[0]
        service_of = {f"room{r}": services[r % len(services)] for r in range(rooms)}
        t0 = time.monotonic()
        for room, service in service_of.items():
            service.begin_step(room, "advice", language, t0)
        # Each room's stream per deelnemer: their recording at their turn, silence otherwise.
        pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), dtype=np.float32)
        streams: dict[str, dict[str, np.ndarray]] = {}
        for r in range(rooms):
            pieces = [np.concatenate([rec.audio, pause]) for rec in turns[r]]
            total = sum(len(p) for p in pieces)
            per_pid, at = {}, 0
            for i, piece in enumerate(pieces):
                stream = np.zeros(total, dtype=np.float32)
                stream[at : at + len(piece)] = piece
                per_pid[f"p{i + 1}"] = stream
                at += len(piece)
            streams[f"room{r}"] = per_pid
        length = max(len(s) for per_pid in streams.values() for s in per_pid.values())
        clock = time.monotonic()
        for i in range(0, length - CHUNK + 1, CHUNK):
            for room, per_pid in streams.items():
                for pid, stream in per_pid.items():
                    chunk = stream[i : i + CHUNK]
                    if len(chunk) == CHUNK:
                        service_of[room].push(room, pid, chunk, clock)
            clock += CHUNK / SAMPLE_RATE
            await asyncio.sleep(max(0.0, clock - time.monotonic()))
        for room, service in service_of.items():
            service.end_step(room)
        await asyncio.gather(*(s.wait_idle(timeout=600) for s in services))
        latencies = [x for s in services for x in s.latencies]
        for s in services:
            await s.stop()
    replaced = {piece for u in results for piece in getattr(u, "replaces", ())}
    kept = [u for u in results if u.text and u.id not in replaced]
    wer_rooms = {}
    for r in range(rooms):
        errors = words = 0
        for i, rec in enumerate(turns[r]):
            heard = " ".join(u.text for u in sorted(kept, key=lambda u: u.start)
                             if u.room_id == f"room{r}" and u.participant_id == f"p{i + 1}")
            e, n = word_errors(rec.transcript, heard)
            errors, words = errors + e, words + n
        wer_rooms[f"room{r}"] = round(errors / max(1, words), 3)
    return {
        "model_processes": len(models),
        "threads_each": models[0].threads,
        "utterances": len(latencies),
        "latency_seconds": _spread(sorted(latencies)),
        "_latencies": latencies,
        "models_peak_rss_mb": round(memory.rss, 0),
        "models_peak_pss_mb": round(memory.pss, 0),
        "word_error_rate_per_room": wer_rooms,
        "ready_seconds": round(ready, 1),
        "loadavg": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    }


def _spread(ordered: list[float]) -> dict[str, float | None]:
    def pct(q: float) -> float | None:
        if not ordered:
            return None
        k = (len(ordered) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 2)

    return {"p50": pct(0.5), "p95": pct(0.95), "max": round(ordered[-1], 2) if ordered else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion bench speech-sharing", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rooms", type=int, default=3, help="rooms in their advice round at the same moment (default 3)")
    p.add_argument("--deelnemers", type=int, default=4, help="deelnemers per room, each reads one recording (default 4)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker processes (default: the cores)")
    p.add_argument("--threads", type=int, default=2, help="threads per model, as --asr-threads (default 2)")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where the bundled model is assembled")
    p.add_argument("--real-dir", type=Path, default=None, help="the real recordings (default ../shared/data/speech/nl-real)")
    p.add_argument("--only", action="append", choices=["per-worker", "per-worker-fit", "shared"],
                   help="measure only these configurations (repeatable)")
    p.add_argument("--repeat", type=int, default=2,
                   help="passes over the configurations, every other one in reverse order (default 2)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not (1 <= args.rooms <= 12 and 1 <= args.deelnemers <= 8 and 1 <= args.workers <= 64 and args.threads >= 1 and 1 <= args.repeat <= 10):
        p.error("--rooms 1..12, --deelnemers 1..8, --workers 1..64, --threads 1 or more, --repeat 1..10")
    from . import realvoices

    recordings = realvoices.load(args.real_dir or realvoices.DEFAULT_DIR)
    # Every room reads different sentences at the same moment; both voices in each room.
    turns = [[recordings[(r * args.deelnemers + i) % len(recordings)] for i in range(args.deelnemers)]
             for r in range(args.rooms)]
    base = AsrOptions(threads=args.threads, data_dir=args.data_dir)
    cores = os.cpu_count() or 1
    configs = {
        "per-worker": [base] * args.workers,
        "per-worker-fit": [base.with_(threads=max(1, cores // args.workers))] * args.workers,
        "shared": [base],
    }
    report: dict[str, Any] = {
        "rooms": args.rooms, "deelnemers": args.deelnemers, "workers": args.workers, "cpu_count": cores,
        "speech_seconds_per_room": round(sum(r.seconds for r in turns[0]), 1), "configurations": {},
    }
    names = [name for name in configs if not args.only or name in args.only]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for rep in range(args.repeat):
        # A, B, C, then C, B, A: a machine that gets busier or quieter meanwhile falls on all alike.
        for name in names if rep % 2 == 0 else names[::-1]:
            models = configs[name]
            print(f"measuring {name} ({rep + 1}/{args.repeat}): {len(models)} model process(es), {models[0].threads}"
                  " thread(s) each", file=sys.stderr, flush=True)
            runs[name].append(asyncio.run(run_config(models, args.rooms, turns, "nl")))
    for name, measured in runs.items():
        latencies = sorted(x for r in measured for x in r.pop("_latencies"))
        merged = dict(measured[-1])
        merged["latency_seconds"] = _spread(latencies)
        merged["latency_p50_per_pass"] = [r["latency_seconds"]["p50"] for r in measured]
        merged["models_peak_rss_mb"] = max(r["models_peak_rss_mb"] for r in measured)
        merged["models_peak_pss_mb"] = max(r["models_peak_pss_mb"] for r in measured)
        merged["loadavg"] = [r["loadavg"] for r in measured]
        merged["utterances"] = sum(r["utterances"] for r in measured)
        report["configurations"][name] = merged
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.rooms} rooms in their advice round at once, {args.deelnemers} deelnemers each "
              f"({report['speech_seconds_per_room']} s of real speech per room), {cores} CPUs")
        for name, r in report["configurations"].items():
            lat = r["latency_seconds"]
            print(f"{name:15s} {r['model_processes']} model(s) x {r['threads_each']} thread(s): latency p50 {lat['p50']} s,"
                  f" p95 {lat['p95']} s, max {lat['max']} s; model memory {r['models_peak_rss_mb']:.0f} MB resident,"
                  f" {r['models_peak_pss_mb']:.0f} MB PSS; WER per room {r['word_error_rate_per_room']}; load {r['loadavg']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
