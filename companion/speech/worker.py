"""The speech model's own process: loaded once, kept warm, fed utterances through a pipe.

Messages (pickled over a multiprocessing Connection, all in memory):
  parent -> worker  ("job", id, language, audio float32 ndarray)
  worker -> parent  ("ready", engine name) once the model is loaded,
                    ("failed", message) if it cannot be loaded,
                    ("result", id, text, confidence, segments, error, extra) per job:
                    error None or a message; extra {"set_aside": [(start, end, text, reason)],
                    "language": the language the words were heard in}.
The worker exits when the parent's end of the pipe closes.
"""

from __future__ import annotations

import os
import signal
from multiprocessing.connection import Connection

from .options import AsrOptions


def worker_main(options: AsrOptions, conn: Connection) -> None:
    # The parent handles Ctrl-C and stops us; a second KeyboardInterrupt here would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(options.threads))
    try:
        from .asr import load_transcriber
        from .language import transcribe_heard_language

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
        if message[0] != "job":
            continue
        _, job_id, language, audio = message
        try:
            result = transcribe_heard_language(transcriber, audio, language)
            segments = [(s.start, s.end, s.text) for s in result.segments]
            extra = {
                "set_aside": [(a.start, a.end, a.text, a.reason) for a in result.set_aside],
                "language": result.language,
            }
            conn.send(("result", job_id, result.text, result.confidence, segments, None, extra))
        except Exception as exc:  # one bad utterance must not take the warm model down
            conn.send(("result", job_id, "", 0.0, [], f"{type(exc).__name__}: {exc}", {}))
