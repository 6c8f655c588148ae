"""Live transcription for the room server: speakers' audio in, attributed utterances out.

The media side pushes each speaker's 16 kHz audio (``companion.audio.AudioSink``);
a per-speaker cutter turns it into utterances in this process (cheap), and a
single warm model in a worker *process* turns those into text, so a busy
model never stalls media forwarding or the WebSocket.

Every utterance gets an id and stays in ``_pending`` here until its text has
come back.  If the worker dies, a new one is started and every pending
utterance is sent again: none lost, and a result whose id is no longer
pending is ignored, so none doubled.  Audio goes over a pipe in memory only.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

import numpy as np

from . import packing
from .options import AsrOptions, options_from_settings
from .vad import Cut, SpeechProbability, UtteranceCutter, VadOptions
from .worker import worker_main

__all__ = ["TranscriptionService", "Utterance", "AsrOptions", "VadOptions", "options_from_settings"]

log = logging.getLogger(__name__)

# A job that has taken the worker down this many times is given up (logged), so one
# poisonous utterance cannot keep the model restarting for ever.
MAX_ATTEMPTS = 3
# A worker that dies this many times in a row (no result in between) is not started again.
MAX_RESTARTS = 5
READY_TIMEOUT = 300.0
# Pieces of one speaker less than this many seconds apart are one turn.  The cutter ends an
# utterance after 0.6 s of silence, so a speaker who pauses mid-advice arrives in pieces: each piece
# is decoded at once (the list fills live), and when the turn ends its pieces are decoded again as
# one window, which the advice list takes in their place.  Measured on real voices cut at a pause
# (bench pauses): WER 0.32 in pieces, 0.11 as one window; the previous piece's text as Whisper's
# prompt gave 0.30 on all 24 recordings but was worse on a third of them, so pieces go unprompted.
TURN_PAUSE = 4.0
# A turn is decoded again only while it fits Whisper's 30 s window; the pauses in it are shortened.
TURN_MAX_SECONDS = 28.0
TURN_GAP_SECONDS = 0.5


@dataclass(frozen=True)
class Utterance:
    room_id: str
    step_id: str
    participant_id: str
    id: str
    start: float  # seconds since the step started
    end: float
    text: str
    confidence: float  # 0..1, from the model's token log-probabilities
    language: str  # the language the words were heard (and transcribed) in
    # What the filters kept out of ``text``, never dropped: dicts with text, reason, start, end
    # (seconds since the step started), for the advice list's "niet opgenomen" part.
    set_aside: tuple[dict[str, Any], ...] = ()
    # A whole turn decoded again as one window: the ids of the pieces it takes the place of.
    replaces: tuple[str, ...] = ()

    @property
    def speaker_id(self) -> str:
        return self.participant_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Job:
    id: str
    room_id: str
    step_id: str
    participant_id: str
    language: str
    start: float
    end: float
    audio: np.ndarray
    cut_at: float  # monotonic time the utterance was cut
    speech_end: float  # monotonic time its last speech window ended (the speaker stopped)
    attempts: int = 0
    # A whole turn decoded again: the ids of its pieces.
    replaces: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.audio) / 16_000


@dataclass
class _Step:
    step_id: str
    language: str
    started: float  # monotonic


def _turn_seconds(pieces: list[_Job]) -> float:
    return sum(piece.seconds for piece in pieces) + TURN_GAP_SECONDS * max(0, len(pieces) - 1)


class TranscriptionError(RuntimeError):
    pass


class TranscriptionService:
    """``companion.audio.AudioSink`` plus step control; ``on_result`` runs in the event loop thread."""

    def __init__(
        self, options: AsrOptions, on_result: Callable[[Utterance], None], vad: VadOptions | None = None
    ) -> None:
        self.options = options
        self.vad = vad or VadOptions()
        self.on_result = on_result
        self._steps: dict[str, _Step] = {}
        self._cutters: dict[tuple[str, str], UtteranceCutter] = {}
        self._pending: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._wake_r, self._wake_w = mp.Pipe(duplex=False)
        self._process: Any = None
        self._conn: Connection | None = None
        # Ids of the utterances the worker is decoding (one, or one speaker's several sharing a window).
        self._in_flight: set[str] = set()
        # Utterances that came back from a window they shared with others of their speaker (packing.py).
        self.packed = 0
        self._ready = threading.Event()
        self._failed: str | None = None
        self.engine_name: str | None = None
        # Crashes recovered from, for the facilitator's status: it only grows.  The limit
        # (MAX_RESTARTS) counts crashes in a row apart, so a result does not hide the count.
        self.restarts = 0
        self._crashes_in_a_row = 0
        # Called in the event loop when the worker was restarted or given up (rooms push their status).
        self.on_status: Callable[[], None] | None = None
        # Seconds from the end of an utterance's speech to its result in the loop (bench; last 1000).
        self.latencies: list[float] = []
        # Per (room, speaker): the pieces of the turn under way (audio kept in memory until it ends).
        self._turns: dict[tuple[str, str], list[_Job]] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the worker and wait until its model is loaded; a model that cannot load raises here."""
        if self._running:
            return
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._thread = threading.Thread(target=self._dispatch, name="transcription", daemon=True)
        self._thread.start()
        ok = await self._loop.run_in_executor(None, self._ready.wait, READY_TIMEOUT)
        if self._failed:
            await self.stop()
            raise TranscriptionError(self._failed)
        if not ok:
            await self.stop()
            raise TranscriptionError("het spraakmodel laadde niet binnen de tijd (the speech model did not load in time)")

    async def stop(self, drain_timeout: float = 0.0) -> None:
        """Stop; with ``drain_timeout`` first wait that long for queued utterances to be transcribed."""
        deadline = time.monotonic() + drain_timeout
        while drain_timeout and self._pending and time.monotonic() < deadline and self._failed is None:
            await asyncio.sleep(0.05)
        self._running = False
        self._wake()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 10)
            self._thread = None
        if self._pending:
            log.warning("transcription stopped with %d utterance(s) untranscribed", len(self._pending))

    # ------------------------------------------------------------------ steps
    def begin_step(self, room_id: str, step_id: str, language: str, step_started_monotonic: float) -> None:
        self.end_step(room_id)
        self._steps[room_id] = _Step(step_id, language or "nl", step_started_monotonic)

    def end_step(self, room_id: str) -> None:
        """Open utterances of the room end now and are still transcribed under the ending step."""
        step = self._steps.get(room_id)
        for key in [k for k in self._cutters if k[0] == room_id]:
            cutter = self._cutters.pop(key)
            if step is not None:
                for cut in cutter.flush():
                    self._enqueue(room_id, key[1], step, cut)
        for key in [k for k in self._turns if k[0] == room_id]:
            self._end_turn(key)
        self._steps.pop(room_id, None)

    # ------------------------------------------------------------------ AudioSink
    def push(self, room_id: str, participant_id: str, samples: np.ndarray, start: float) -> None:
        step = self._steps.get(room_id)
        if step is None:
            return  # not a transcribed step: the audio is dropped here, never kept
        if self._failed:
            return  # given up: queued audio would only pile up in memory for the rest of the session
        cutter = self._cutters.get((room_id, participant_id))
        if cutter is None:
            cutter = self._cutters[(room_id, participant_id)] = UtteranceCutter(self.vad, SpeechProbability())
        for cut in cutter.push(samples, start):
            self._enqueue(room_id, participant_id, step, cut)
        turn = self._turns.get((room_id, participant_id))
        if turn is not None and not cutter.speaking and start - step.started - turn[-1].end > TURN_PAUSE:
            self._end_turn((room_id, participant_id))

    def flush(self, room_id: str, participant_id: str) -> None:
        step = self._steps.get(room_id)
        cutter = self._cutters.get((room_id, participant_id))
        if step is None or cutter is None:
            return
        for cut in cutter.flush():
            self._enqueue(room_id, participant_id, step, cut)
        self._end_turn((room_id, participant_id))

    # ------------------------------------------------------------------ queue
    @property
    def backlog_seconds(self) -> float:
        """Seconds of speech cut into utterances and not yet transcribed."""
        with self._lock:
            return sum(job.seconds for job in self._pending.values())

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def _enqueue(self, room_id: str, participant_id: str, step: _Step, cut: Cut) -> None:
        key = (room_id, participant_id)
        start = round(max(0.0, cut.start - step.started), 3)
        turn = self._turns.get(key)
        if turn and (start - turn[-1].end > TURN_PAUSE or _turn_seconds(turn) + len(cut.audio) / 16_000 > TURN_MAX_SECONDS):
            self._end_turn(key)
        job = _Job(
            id=uuid.uuid4().hex,
            room_id=room_id,
            step_id=step.step_id,
            participant_id=participant_id,
            language=step.language,
            start=round(max(0.0, cut.start - step.started), 3),
            end=round(max(0.0, cut.end - step.started), 3),
            audio=cut.audio,
            cut_at=time.monotonic(),
            speech_end=cut.speech_end,
        )
        self._turns.setdefault(key, []).append(job)
        self.submit(job)

    def _end_turn(self, key: tuple[str, str]) -> None:
        """The speaker's turn is over: two or more pieces are decoded again as one window."""
        pieces = self._turns.pop(key, None)
        if not pieces or len(pieces) < 2:
            return
        gap = np.zeros(int(TURN_GAP_SECONDS * 16_000), dtype=np.float32)
        audio = np.concatenate([part for piece in pieces for part in (gap, piece.audio)][1:])
        first, last = pieces[0], pieces[-1]
        self.submit(
            _Job(
                id=uuid.uuid4().hex,
                room_id=first.room_id,
                step_id=first.step_id,
                participant_id=first.participant_id,
                language=first.language,
                start=first.start,
                end=last.end,
                audio=audio,
                cut_at=time.monotonic(),
                speech_end=last.speech_end,
                replaces=tuple(piece.id for piece in pieces),
            )
        )

    def submit(self, job: _Job) -> None:
        with self._lock:
            self._pending[job.id] = job
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"!")
        except OSError:
            pass

    # ------------------------------------------------------------------ dispatcher thread
    def _spawn(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=worker_main, args=(self.options, child), name="companion-asr", daemon=True)
        proc.start()
        child.close()  # so the parent sees EOF when the worker dies
        self._process, self._conn = proc, parent
        self._in_flight = set()

    def _kill_worker(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(2)
        self._process = self._conn = None
        self._in_flight = set()

    def _dispatch(self) -> None:
        try:
            self._spawn()
            while self._running:
                assert self._conn is not None and self._process is not None
                if self._ready.is_set() and not self._in_flight:
                    self._send_next()
                ready = wait([self._conn, self._process.sentinel, self._wake_r], timeout=1.0)
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                if self._conn in ready or self._process.sentinel in ready:
                    if not self._read_worker():
                        if not self._running:
                            break
                        if self.engine_name is None:
                            # It never got as far as loading the model: a restart would fail the same way.
                            code = self._process.exitcode
                            self._failed = self._failed or (
                                f"de spraakworker stopte bij het starten (speech worker exited on start, code {code})"
                            )
                            self._ready.set()
                            break
                        self._restart()
        except Exception:
            log.exception("transcription dispatcher failed")
            self._failed = self._failed or "transcription dispatcher failed"
            self._ready.set()
        finally:
            self._kill_worker()

    def _send_next(self) -> None:
        with self._lock:
            jobs = self._next_jobs()
        if not jobs:
            return
        for job in jobs:
            job.attempts += 1
        self._in_flight = {job.id for job in jobs}
        assert self._conn is not None
        head = jobs[0]
        try:
            if len(jobs) == 1:
                self._conn.send(("job", head.id, head.language, head.audio))
            else:
                self._conn.send(("jobs", head.language, [(job.id, job.audio) for job in jobs]))
        except (OSError, EOFError, BrokenPipeError):
            pass  # the dead worker is noticed by its sentinel

    def _next_jobs(self) -> list[_Job]:
        """The oldest waiting utterance, with the later ones of the same speaker that share its window.

        Only utterances of one speaker in one step ever share a window, so a
        speaker's words cannot reach another.  A whole turn decoded again, and
        anything that was in a window when the worker died, goes alone.
        """
        jobs = iter(self._pending.values())
        head = next(jobs, None)
        if head is None or not self.options.pack_queued or head.replaces or head.attempts:
            return [] if head is None else [head]
        batch = [head]
        for job in jobs:
            if (job.room_id, job.participant_id, job.step_id, job.language) != (
                head.room_id, head.participant_id, head.step_id, head.language
            ) or job.replaces or job.attempts:
                continue
            if packing.packed_seconds([j.seconds for j in batch] + [job.seconds]) > packing.MAX_SECONDS:
                break
            batch.append(job)
        return batch

    def _read_worker(self) -> bool:
        """Handle what the worker sent; False when it is gone."""
        assert self._conn is not None
        try:
            while self._conn.poll():
                self._handle(self._conn.recv())
        except (EOFError, OSError):
            return False
        return self._process is not None and self._process.is_alive()

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            self.engine_name = message[1]
            self._ready.set()
        elif kind == "failed":
            self._failed = message[1]
            self._running = False
            self._ready.set()
            log.error("speech model failed to load: %s", message[1])
        elif kind == "result":
            job_id, text, confidence = message[1], message[2], message[3]
            if len(message) > 5 and message[5]:
                log.warning("an utterance could not be transcribed: %s", message[5])
            extra = message[6] if len(message) > 6 and isinstance(message[6], dict) else {}
            with self._lock:
                job = self._pending.get(job_id)
                if job is not None:
                    # Handed to the loop before it leaves _pending, so "nothing pending" means "all delivered".
                    if text or extra.get("set_aside"):
                        self._deliver(job, text, confidence, extra)
                    del self._pending[job_id]
            self._in_flight.discard(job_id)
            if extra.get("packed", 1) > 1 and job is not None:
                self.packed += 1
            if job is not None:
                self._crashes_in_a_row = 0

    def _restart(self) -> None:
        self._kill_worker()
        with self._lock:
            head = next(iter(self._pending.values()), None)
            if head is not None and head.attempts >= MAX_ATTEMPTS:
                del self._pending[head.id]
                log.error("utterance %s dropped: the speech model crashed on it %d times", head.id, head.attempts)
        self._crashes_in_a_row += 1
        if self._crashes_in_a_row > MAX_RESTARTS:
            self._failed = "het spraakmodel stopt steeds (the speech worker keeps dying)"
            self._running = False
            log.error(self._failed)
            self._status_changed()
            return
        log.warning("speech worker died; restarting (%d utterance(s) pending)", self.pending_count)
        self._ready.clear()
        time.sleep(min(2.0, 0.2 * self._crashes_in_a_row))
        self._spawn()
        self.restarts += 1
        self._status_changed()

    def _status_changed(self) -> None:
        if self.on_status is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.on_status)

    def _deliver(self, job: _Job, text: str, confidence: float, extra: dict[str, Any] | None = None) -> None:
        extra = extra or {}
        # Whisper's times count from the utterance's audio; the list counts from the step.
        set_aside = tuple(
            {"text": str(t), "reason": str(reason), "start": round(job.start + float(a), 3), "end": round(job.start + float(b), 3)}
            for a, b, t, reason in extra.get("set_aside", ())
        )
        utterance = Utterance(
            room_id=job.room_id,
            step_id=job.step_id,
            participant_id=job.participant_id,
            id=job.id,
            start=job.start,
            end=job.end,
            text=text,
            confidence=float(confidence),
            language=str(extra.get("language") or job.language),
            set_aside=set_aside,
            replaces=job.replaces,
        )
        speech_end = job.speech_end

        def call() -> None:
            if not job.replaces:  # a turn decoded again comes after its pieces, which were the news
                self.latencies.append(time.monotonic() - speech_end)
                del self.latencies[:-1000]
            try:
                self.on_result(utterance)
            except Exception:
                log.exception("utterance handler failed")

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(call)

    # ------------------------------------------------------------------ test/diagnostic hooks
    @property
    def worker_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def error(self) -> str | None:
        """Why transcription stopped for good (the model would not load, or the worker kept dying)."""
        return self._failed

    @property
    def pending_ids(self) -> list[str]:
        """Ids of the utterances queued or in flight, oldest first (each comes back once as an Utterance id)."""
        with self._lock:
            return list(self._pending)

    def pending_for(self, room_id: str) -> int:
        """How many of the room's utterances are queued or in flight (a room handed to another process
        waits for them: companion/web.py hand_over)."""
        with self._lock:
            return sum(1 for job in self._pending.values() if job.room_id == room_id)

    async def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until every queued utterance has come back (tests, the file CLI, the bench).

        A turn of two or more pieces still open counts as queued: it is decoded
        again once its speaker has been silent for TURN_PAUSE (or the step ends).
        """
        deadline = time.monotonic() + timeout
        while self._pending or any(len(pieces) > 1 for pieces in list(self._turns.values())):
            if self._failed:
                raise TranscriptionError(self._failed)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self._pending)} utterance(s) still pending")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0)  # let the last call_soon_threadsafe run
