"""What one participant may see of a room: the ``state`` message.

Every client gets a full snapshot after each change (rooms are small, so
this costs little and a client that missed a message is never out of step).
Anything a role may not see is left out here, not hidden in the browser.
"""

from __future__ import annotations

import time
import tomllib
from functools import lru_cache
from typing import Any, Callable

from .db import Connection
from . import signals
from .methods import LANGUAGES, render_text
from .room import ENDED, FACILITATOR, INBRENGER, Room, text_context
from .shipped import PROMPTS

PROTOCOL_VERSION = 3


@lru_cache(maxsize=1)
def golden_questions() -> dict[str, Any]:
    path = PROMPTS / "golden_questions.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def snapshot(
    conn: Connection,
    room: Room,
    participant_id: str,
    online: set[str],
    extras: list[Callable[[Room, str, str], dict[str, Any]]] = (),
    now: float | None = None,
    transcribing: bool = True,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    role = room.role_of(participant_id)
    me = room.participants[participant_id]
    step = room.step
    out_of_sight = bool(step and role == INBRENGER and not step.media.inbrenger_sees_group and room.inbrenger_id)
    hidden_from_group = bool(step and room.inbrenger_id and not step.media.group_sees_inbrenger)
    flags = signals.for_room(conn, room.id)
    hands = sorted((f[signals.HAND], pid) for pid, f in flags.items() if signals.HAND in f)
    hand_order = {pid: i + 1 for i, (_, pid) in enumerate(hands)}

    state: dict[str, Any] = {
        "type": "state",
        "protocol": PROTOCOL_VERSION,
        "rev": room.rev,
        "server_time": now,
        "room": {
            "id": room.id,
            "name": room.name,
            "language": room.language,
            "status": room.status,
            "capacity": room.capacity,
            "locked": room.locked,
            "ended_at": room.ended_at,
            "method": {
                "id": room.method.id,
                "title": room.method.title,
                "steps": [s.to_dict() for s in room.method.steps],
            },
        },
        "you": {"id": me.id, "name": me.name, "role": role, "help": signals.HELP in flags.get(me.id, {})},
        "participants": [
            {
                "id": p.id,
                "name": p.name,
                "role": room.role_of(p.id),
                "online": p.id in online,
                "mic_muted_by": p.mic_muted_by,
                "camera_off": p.camera_off,
                "camera_self_off": signals.CAMERA_SELF_OFF in flags.get(p.id, {}),
                # Place in the queue of raised hands (1 = first), or None.
                "hand": hand_order.get(p.id),
                # Whose tile the client must not show (the server forwards nothing anyway).
                "hidden": (p.id == room.inbrenger_id and hidden_from_group and role != INBRENGER)
                or (out_of_sight and p.id != me.id),
            }
            for p in room.present
        ],
        "step": None,
        "timer": None,
        "inbrenger": (
            {"id": room.inbrenger.id, "name": room.inbrenger.name} if room.inbrenger else None
        ),
        "question": {"original": room.question_original, "reformulated": room.question_reformulated},
    }
    if step is not None:
        context = text_context(room, now, transcribing)
        text_role = role
        state["step"] = {
            "index": room.step_index,
            **step.to_dict(),
            "text": {lang: render_text(step.texts[lang][text_role], context) for lang in LANGUAGES},
            "out_of_sight": out_of_sight,
        }
        if step.kind == "questions":
            state["golden_questions"] = golden_questions()
    if room.status != "waiting":
        elapsed = room.timer.elapsed(now)
        planned = room.planned_seconds()
        state["timer"] = {
            "planned": planned,
            "elapsed": elapsed,
            "running": room.timer.running and room.status != ENDED,
            "overtime": bool(step) and elapsed > planned,
        }
    if role == FACILITATOR:
        # "Ik hoor niets / ik moet even weg" reaches the facilitator and no one else.
        state["help"] = [
            {"id": pid, "name": room.participants[pid].name, "at": f[signals.HELP]}
            for pid, f in sorted(flags.items(), key=lambda kv: kv[1].get(signals.HELP, 0))
            if signals.HELP in f and pid in room.participants
        ]
    state["cases"], state["vote"] = _cases_and_vote(conn, room, participant_id, role)
    state["takeaways"] = _takeaways(conn, room, participant_id)
    for extra in extras:
        state.update(extra(room, participant_id, role))
    return state


def _cases_and_vote(conn: Connection, room: Room, pid: str, role: str) -> tuple[list, dict]:
    counts = {
        row["case_id"]: row["n"]
        for row in conn.execute("SELECT case_id, COUNT(*) AS n FROM votes WHERE room_id = ? GROUP BY case_id", (room.id,))
    }
    mine = conn.execute("SELECT case_id FROM votes WHERE room_id = ? AND voter_id = ?", (room.id, pid)).fetchone()
    # Running counts could sway the vote: only the facilitator sees them before it closes.
    show_counts = room.vote_closed or role == FACILITATOR
    cases = []
    for row in conn.execute(
        "SELECT id, participant_id, title, question FROM cases WHERE room_id = ? ORDER BY created_at", (room.id,)
    ):
        author = room.participants.get(row["participant_id"])
        cases.append(
            {
                "id": row["id"],
                "title": row["title"],
                "question": row["question"],
                "author_id": row["participant_id"],
                "author": author.name if author else "",
                "votes": counts.get(row["id"], 0) if show_counts else None,
                "chosen": row["id"] == room.case_id,
            }
        )
    vote = {
        "open": bool(room.step and room.step.has_vote and not room.vote_closed),
        "closed": room.vote_closed,
        "my_vote": mine["case_id"] if mine else None,
        "voters": sum(counts.values()),
        "tie": list(room.vote_tie),
    }
    return cases, vote


def _takeaways(conn: Connection, room: Room, pid: str) -> dict[str, Any]:
    mine = None
    shared = []
    for row in conn.execute(
        "SELECT participant_id, text, shared FROM takeaways WHERE room_id = ? ORDER BY updated_at", (room.id,)
    ):
        if row["participant_id"] == pid:
            mine = {"text": row["text"], "shared": bool(row["shared"])}
        if row["shared"]:
            author = room.participants.get(row["participant_id"])
            shared.append({"name": author.name if author else "", "text": row["text"]})
    return {"mine": mine, "shared": shared}
