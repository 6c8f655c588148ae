"""The speech model's own process: loaded once, kept warm, fed utterances through a pipe.

Messages (pickled over a multiprocessing Connection, all in memory):
  parent -> worker  ("job", id, language, audio float32 ndarray), or
                    ("jobs", language, [(id, audio), ...]): one speaker's utterances in the order said,
                    decoded together (packing.py); a result comes back for each
  worker -> parent  ("ready", engine name) once the model is loaded,
                    ("failed", message) if it cannot be loaded,
                    ("result", id, text, confidence, segments, error, extra) per job:
                    error None or a message; extra {"set_aside": [(start, end, text, reason)],
                    "language": the language the words were heard in,
                    "packed": how many utterances shared its decode}.
The worker exits when the parent's end of the pipe closes.
"""

from __future__ import annotations

import logging
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from .language import transcribe_heard_language
from .options import AsrOptions
from .packing import transcribe_queued

log = logging.getLogger(__name__)


def worker_main(options: AsrOptions, conn: Connection) -> None:
    # The parent handles Ctrl-C and stops us; a second KeyboardInterrupt here would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(options.threads))
    try:
        from .asr import load_transcriber

        transcriber = load_transcriber(options)
    except Exception as exc:  # the parent shows this to the operator
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    conn.send(("ready", options.engine))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "job":
            _, job_id, language, audio = message
            jobs = [(job_id, audio)]
        elif message[0] == "jobs":
            _, language, jobs = message
        else:
            continue
        results, shared = _decode(transcriber, language, jobs)
        for (job_id, _), result in zip(jobs, results):
            if isinstance(result, str):
                conn.send(("result", job_id, "", 0.0, [], result, {}))
                continue
            segments = [(s.start, s.end, s.text) for s in result.segments]
            extra = {
                "set_aside": [(a.start, a.end, a.text, a.reason) for a in result.set_aside],
                "language": result.language,
                "packed": len(jobs) if shared else 1,
            }
            conn.send(("result", job_id, result.text, result.confidence, segments, None, extra))


def _decode(transcriber: Any, language: str, jobs: list[tuple[str, Any]]) -> tuple[list[Any], bool]:
    """(a Transcript per job, or the error's text for a job that could not be decoded; whether they shared windows)."""
    if len(jobs) > 1:
        try:
            return transcribe_queued(transcriber, [audio for _, audio in jobs], language), True
        except Exception:  # a window that fails costs no one their words: each is tried alone below
            log.exception("a shared window failed; decoding its %d utterances one by one", len(jobs))
    out: list[Any] = []
    for _job_id, audio in jobs:
        try:
            out.append(transcribe_heard_language(transcriber, audio, language))
        except Exception as exc:  # one bad utterance must not take the warm model down
            out.append(f"{type(exc).__name__}: {exc}")
    return out, False
