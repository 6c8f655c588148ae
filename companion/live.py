"""The live parts wired to the phase engine: media gates, transcription, advice list.

The engine knows nothing of WebRTC or Whisper; it tells its listeners what
changed.  This module turns each change into gate settings and into the start
or end of a transcribed step, and turns each transcribed utterance into
stored text and advice items on the inbrenger's and facilitator's screens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from . import signals
from .engine import PhaseEngine
from .hub import Hub
from .room import FACILITATOR, INBRENGER, RUNNING, Room

log = logging.getLogger(__name__)


def step_start_monotonic(room: Room) -> float:
    """The step's start on this process's monotonic clock (the engine keeps wall time)."""
    started = room.timer.started_at or time.time()
    return time.monotonic() - (time.time() - started)


class Live:
    def __init__(self, engine: PhaseEngine, hub: Hub, media: Any = None, transcription: Any = None):
        self.engine = engine
        self.hub = hub
        self.media = media
        self.transcription = transcription
        # room id -> (step index, step id) being transcribed now
        self._transcribing: dict[str, tuple[int, str]] = {}
        self.utterance_listeners: list[Callable[[Any], None]] = []
        self.transcription_error: str | None = None
        self.watch: Any = None  # media_status.MediaWatch, with media

    def watch_media(self) -> None:
        """Judge every participant's call once a second (media_status.py) and push changes."""
        from .media_status import MediaWatch

        if self.media is None or self.watch is not None:
            return

        async def changed(room_id: str) -> None:
            room = self.engine.rooms.get(room_id)
            if room is not None:
                self.engine.touch(room)
                await self.hub.push_state(room, ("media.status",))

        self.watch = MediaWatch(
            self.media.link_counters, lambda: {rid: self.hub.online(rid) for rid in list(self.engine.rooms)}, changed,
            socketless=self.hub.socketless,
        )
        self.watch.start()

    def media_status(self, room: Room, participant_id: str, role: str) -> dict[str, Any]:
        """The facilitator sees each person's call status; everyone sees their own."""
        status = self.watch.status(room.id) if self.watch is not None else {}
        for pid, flags in signals.for_room(self.engine.conn, room.id).items():
            if signals.NO_WEBRTC in flags:
                status[pid] = {"media": "none", "audio": None, "label": "no_webrtc"}
        out: dict[str, Any] = {"media_self": status.get(participant_id)}
        if role == FACILITATOR:
            out["media_status"] = status
        return out

    async def start(self) -> None:
        """Load the speech model; a room without transcription beats no room at all."""
        self.watch_media()
        if self.transcription is None:
            return
        try:
            await self.transcription.start()
        except Exception as exc:
            self.transcription_error = str(exc)
            log.error("transcription is off: %s", exc)
            self.transcription = None
            return
        if hasattr(self.transcription, "on_status"):
            self.transcription.on_status = self._on_transcription_status

    def _on_transcription_status(self) -> None:
        """The speech worker crashed and came back (or was given up): the facilitator is told now,
        not at the next advice."""
        asyncio.ensure_future(self._push_transcription_status()).add_done_callback(_log_failure)

    async def _push_transcription_status(self) -> None:
        for room_id in list(self._transcribing):
            room = self.engine.rooms.get(room_id)
            if room is None:
                continue
            self.engine.touch(room)
            await self.hub.push_state(room, ("transcription",))

    # The media layer's AudioSink: speech goes on to transcription while there is one.
    def push(self, room_id: str, participant_id: str, samples: Any, start: float) -> None:
        if self.transcription is not None:
            self.transcription.push(room_id, participant_id, samples, start)

    def flush(self, room_id: str, participant_id: str) -> None:
        if self.transcription is not None:
            self.transcription.flush(room_id, participant_id)

    async def on_change(self, room: Room, events: tuple[str, ...]) -> None:
        # Gates first: the server stops forwarding before any page is told.
        if self.media is not None:
            await self.media.apply_view(room.media_view())
        if self.transcription is not None:
            self._follow_transcribed_step(room)

    def _follow_transcribed_step(self, room: Room) -> None:
        step = room.step
        wanted = (room.step_index, step.id) if step and room.status == RUNNING and step.media.transcribe else None
        current = self._transcribing.get(room.id)
        if wanted == current:
            return
        if current is not None:
            self.transcription.end_step(room.id)
            del self._transcribing[room.id]
        if wanted is not None:
            self.transcription.begin_step(room.id, step.id, room.language, step_start_monotonic(room))
            self._transcribing[room.id] = wanted

    def on_utterance(self, utterance: Any) -> None:
        """A transcribed utterance: stored first, then handed on (advice list)."""
        for listener in list(self.utterance_listeners):
            try:
                listener(utterance)
            except Exception:  # the advice list failing must not lose the transcript, nor the reverse
                log.exception("utterance listener failed")

    async def resume(self) -> None:
        """After a restart: gates as the step wants them before anyone reconnects,
        and a room that was in a transcribed step goes on transcribing."""
        for room in list(self.engine.rooms.values()):
            await self.on_change(room, ())

    async def room_deleted(self, room_id: str) -> None:
        self._transcribing.pop(room_id, None)
        if self.transcription is not None:
            self.transcription.end_step(room_id)
        if self.media is not None:
            await self.media.close_room(room_id)

    def transcription_available(self) -> bool:
        """Whether what is said in a transcribed step is written out now (the step texts say so only then)."""
        return self.transcription is not None and not getattr(self.transcription, "error", None)

    def transcription_status(self, room: Room, participant_id: str, role: str) -> dict[str, Any]:
        if role not in (FACILITATOR, INBRENGER):
            return {}
        if self.transcription is None:
            return {"transcription": {"available": False, "error": self.transcription_error}}
        gone = getattr(self.transcription, "error", None)
        if gone:  # the worker kept dying: advice goes in by hand from here on
            return {"transcription": {"available": False, "error": str(gone)}}
        return {
            "transcription": {
                "available": True,
                "active": room.id in self._transcribing,
                "backlog_seconds": round(float(self.transcription.backlog_seconds), 1),
                # The facilitator sees that the speech worker crashed and came back.
                "restarts": int(getattr(self.transcription, "restarts", 0)),
            }
        }


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("transcription status push failed", exc_info=task.exception())
