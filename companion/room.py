"""A room's state as the phase engine holds it in memory, mirrored in the database (companion/db.py)."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .db import Connection, Row
from .media.gates import MediaView
from .methods import Method, Step, parse_method

FACILITATOR = "facilitator"
DEELNEMER = "deelnemer"
INBRENGER = "inbrenger"

WAITING, RUNNING, ENDED = "waiting", "running", "ended"


@dataclass
class Participant:
    id: str
    name: str
    role: str  # stored role: facilitator or deelnemer; inbrenger is the room's pick
    joined_at: float
    mic_muted_by: str | None = None  # "facilitator" or "self"
    camera_off: bool = False
    # Removed by the facilitator: no access, no media, not listed; their words keep their name.
    removed: bool = False

    @classmethod
    def from_row(cls, row: Row) -> "Participant":
        return cls(
            id=row["id"],
            name=row["name"],
            role=row["role"],
            joined_at=row["joined_at"],
            mic_muted_by=row["mic_muted_by"],
            camera_off=bool(row["camera_off"]),
        )


@dataclass
class Timer:
    """Step time on the wall clock, so it survives a restart of the server."""

    started_at: float | None = None
    paused_at: float | None = None
    paused_total: float = 0.0
    extra_seconds: float = 0.0

    def elapsed(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        return max(0.0, end - self.started_at - self.paused_total)

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.paused_at is None

    def pause(self, now: float) -> None:
        if self.running:
            self.paused_at = now

    def resume(self, now: float) -> None:
        if self.paused_at is not None:
            self.paused_total += now - self.paused_at
            self.paused_at = None

    def restart(self, now: float) -> None:
        self.started_at = now
        self.paused_at = None
        self.paused_total = 0.0
        self.extra_seconds = 0.0


@functools.lru_cache(maxsize=64)
def _method(source: str, name: str) -> Method:
    """A room's method from the copy stored with it; parsed once per source (a Method is immutable).

    The engine reloads a room after every refused command: parsing and checking the
    templates each time cost about 65 ms, so a page sending refused commands at the
    rate limit kept a core busy."""
    return parse_method(source, name)


@dataclass
class Room:
    id: str
    name: str
    method: Method
    language: str
    capacity: int
    created_at: float
    status: str = WAITING
    step_index: int | None = None
    timer: Timer = field(default_factory=Timer)
    overtime_notified: bool = False
    inbrenger_id: str | None = None
    case_id: str | None = None
    question_original: str | None = None
    question_reformulated: str | None = None
    vote_closed: bool = False
    vote_tie: list[str] = field(default_factory=list)
    ended_at: float | None = None
    retention_days: int = 30
    rev: int = 0
    locked: bool = False
    participants: dict[str, Participant] = field(default_factory=dict)

    @property
    def present(self) -> list[Participant]:
        """Everyone not removed: who is listed, counted and connected."""
        return [p for p in self.participants.values() if not p.removed]

    @property
    def step(self) -> Step | None:
        if self.status != RUNNING or self.step_index is None:
            return None
        return self.method.steps[self.step_index]

    @property
    def joined_count(self) -> int:
        """People who came in by the invite; capacity counts these, the facilitator comes on top."""
        return sum(1 for p in self.present if p.role != FACILITATOR)

    @property
    def inbrenger(self) -> Participant | None:
        return self.participants.get(self.inbrenger_id) if self.inbrenger_id else None

    def role_of(self, participant_id: str) -> str:
        participant = self.participants[participant_id]
        if participant.role == FACILITATOR:
            return FACILITATOR
        return INBRENGER if participant_id == self.inbrenger_id else DEELNEMER

    def planned_seconds(self) -> float:
        step = self.step
        return step.minutes * 60 + self.timer.extra_seconds if step else 0.0

    def seconds_left(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        return self.planned_seconds() - self.timer.elapsed(now)

    def current_question(self) -> str:
        return self.question_reformulated or self.question_original or ""

    def media_view(self) -> MediaView:
        step = self.step
        return MediaView(
            room_id=self.id,
            participants=tuple(p.id for p in self.present),
            inbrenger_id=self.inbrenger_id,
            policy=step.media if step else MediaView.__dataclass_fields__["policy"].default,
            mic_muted=frozenset(p.id for p in self.participants.values() if p.mic_muted_by),
            camera_off=frozenset(p.id for p in self.participants.values() if p.camera_off),
            running=self.status == RUNNING,
            step_id=step.id if step else None,
        )

    @classmethod
    def load(cls, conn: Connection, room_id: str) -> "Room | None":
        row = conn.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
        if row is None:
            return None
        source = row["method_source"]
        if not source:  # stored once for all rooms using it
            source = conn.execute(
                "SELECT m.source FROM room_methods r JOIN method_sources m ON m.hash = r.method_hash WHERE r.room_id = ?",
                (room_id,),
            ).fetchone()[0]
        method = _method(source, f"{row['method_id']}.toml")
        if method.has_followup:
            from .followup import shows_step

            # Without a previous meeting to look back on the room runs the method without that step: it is
            # neither listed nor counted, and step numbers stay those of the case (companion/followup.py).
            if not shows_step(conn, room_id):
                method = method.without_followup()
        room = cls(
            id=row["id"],
            name=row["name"],
            method=method,
            language=row["language"],
            capacity=row["capacity"],
            created_at=row["created_at"],
            status=row["status"],
            step_index=row["step_index"],
            timer=Timer(
                started_at=row["step_started_at"],
                paused_at=row["paused_at"],
                paused_total=row["paused_total"],
                extra_seconds=row["extra_seconds"],
            ),
            overtime_notified=bool(row["overtime_notified"]),
            inbrenger_id=row["inbrenger_id"],
            case_id=row["case_id"],
            question_original=row["question_original"],
            question_reformulated=row["question_reformulated"],
            vote_closed=bool(row["vote_closed"]),
            vote_tie=json.loads(row["vote_tie"]) if row["vote_tie"] else [],
            ended_at=row["ended_at"],
            retention_days=row["retention_days"],
            rev=row["rev"],
        )
        removed = {r[0] for r in conn.execute("SELECT participant_id FROM removed_participants WHERE room_id = ?", (room_id,))}
        for prow in conn.execute("SELECT * FROM participants WHERE room_id = ? ORDER BY joined_at", (room_id,)):
            participant = Participant.from_row(prow)
            participant.removed = participant.id in removed
            room.participants[participant.id] = participant
        room.locked = conn.execute("SELECT 1 FROM room_locks WHERE room_id = ?", (room_id,)).fetchone() is not None
        return room

    def save(self, conn: Connection) -> None:
        """Write the room's own row (participants are written where they change)."""
        conn.execute(
            """UPDATE rooms SET status=?, step_index=?, step_started_at=?, paused_at=?,
                   paused_total=?, extra_seconds=?, overtime_notified=?, inbrenger_id=?, case_id=?,
                   question_original=?, question_reformulated=?, vote_closed=?, vote_tie=?,
                   ended_at=?, rev=? WHERE id=?""",
            (
                self.status,
                self.step_index,
                self.timer.started_at,
                self.timer.paused_at,
                self.timer.paused_total,
                self.timer.extra_seconds,
                int(self.overtime_notified),
                self.inbrenger_id,
                self.case_id,
                self.question_original,
                self.question_reformulated,
                int(self.vote_closed),
                json.dumps(self.vote_tie) if self.vote_tie else None,
                self.ended_at,
                self.rev,
                self.id,
            ),
        )

    def save_participant(self, conn: Connection, participant: Participant) -> None:
        conn.execute(
            "UPDATE participants SET mic_muted_by=?, camera_off=? WHERE id=?",
            (participant.mic_muted_by, int(participant.camera_off), participant.id),
        )


def text_context(room: Room, now: float | None = None, transcribing: bool = True) -> dict[str, Any]:
    """What a method's step texts may refer to. ``transcribing``: whether this server writes out
    what is said in a transcribed step right now (speech recognition on and not given up)."""
    step = room.step
    inbrenger = room.inbrenger
    return {
        "inbrenger": inbrenger.name if inbrenger else "",
        "question": room.current_question(),
        "original_question": room.question_original or "",
        "group": room.name,
        "minutes": round(step.minutes) if step else 0,
        "minutes_left": max(0, round(room.seconds_left(now) / 60)) if step else 0,
        "step_number": (room.step_index or 0) + 1,
        "step_count": len(room.method.steps),
        "transcribing": transcribing,
    }
