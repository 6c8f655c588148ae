"""Small per-person signals in a room: a raised hand, "ik hoor niets / ik moet even weg",
a camera switched off by its owner, a browser that cannot make calls.

One row per (room, person, kind) in ``participant_signals``; ``at`` orders the hands.
The phase engine's commands write them (``hand.raise``, ``help.signal``, ``camera.self``,
``media.report`` ...); ``views.snapshot`` reads them with ``for_room``.
"""

from __future__ import annotations

from .db import Connection



HAND = "hand"
HELP = "help"  # "ik hoor niets / ik moet even weg": for the facilitator only
CAMERA_SELF_OFF = "camera_self_off"
NO_WEBRTC = "no_webrtc"
KINDS = frozenset({HAND, HELP, CAMERA_SELF_OFF, NO_WEBRTC})


def set_signal(conn: Connection, room_id: str, participant_id: str, kind: str, on: bool, at: float) -> bool:
    """Raise or lower one signal; True when that changed something."""
    assert kind in KINDS
    if on:
        cur = conn.execute(
            "INSERT INTO participant_signals (room_id, participant_id, kind, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (room_id, participant_id, kind, at),
        )
    else:
        cur = conn.execute(
            "DELETE FROM participant_signals WHERE room_id = ? AND participant_id = ? AND kind = ?",
            (room_id, participant_id, kind),
        )
    return cur.rowcount > 0


def clear_kind(conn: Connection, room_id: str, kind: str) -> None:
    conn.execute("DELETE FROM participant_signals WHERE room_id = ? AND kind = ?", (room_id, kind))


def for_room(conn: Connection, room_id: str) -> dict[str, dict[str, float]]:
    """``{participant_id: {kind: at}}``."""
    out: dict[str, dict[str, float]] = {}
    for row in conn.execute(
        "SELECT participant_id, kind, at FROM participant_signals WHERE room_id = ? ORDER BY at", (room_id,)
    ):
        out.setdefault(row["participant_id"], {})[row["kind"]] = row["at"]
    return out
