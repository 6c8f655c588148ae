"""Transcribed utterances in the database: the raw transcript the advice list is built from.

The tables are in ``companion/schema.py``.  Inserting is idempotent on the
utterance id, so a result that arrives twice (a worker restart) is stored once.
"""

from __future__ import annotations

import time
from typing import Any

from ..db import Connection, IntegrityError


FIELDS = ("id", "room_id", "step_id", "participant_id", "start", "end", "text", "confidence", "language")


def _get(utterance: Any, name: str) -> Any:
    return utterance[name] if isinstance(utterance, dict) else getattr(utterance, name)


def insert_utterance(conn: Connection, utterance: Any) -> bool:
    """Store one utterance (a service.Utterance or a dict with its fields); False if its id was already stored.

    An utterance whose every word was set aside (empty text) is not stored here:
    its pieces are kept, with their reasons, by the advice list (advice/aside.py).
    A whole turn decoded again (``replaces``: its pieces' ids) takes the pieces' place.
    """
    values = [_get(utterance, f) for f in FIELDS]
    if not str(values[FIELDS.index("text")] or "").strip():
        return False
    replaces = (utterance.get("replaces") if isinstance(utterance, dict) else getattr(utterance, "replaces", ())) or ()
    if replaces:
        # A turn decoded again as one window: its text takes the place of its pieces'.
        room_id, turn_id = values[1], values[0]
        conn.executemany(
            "DELETE FROM utterances WHERE room_id = ? AND id = ?", [(room_id, piece) for piece in replaces]
        )
        try:
            conn.executemany(
                "INSERT INTO utterance_pieces (room_id, piece_id, turn_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(room_id, piece, turn_id) for piece in replaces],
            )
        except IntegrityError:
            return False  # the room was deleted meanwhile
    try:
        cur = conn.execute(
        """INSERT INTO utterances
           (id, room_id, step_id, participant_id, start_s, end_s, text, confidence, language, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            (*values, time.time()),
        )
    except IntegrityError:
        return False  # the room was deleted while this utterance was being transcribed
    return cur.rowcount == 1


def list_utterances(conn: Connection, room_id: str, step_id: str | None = None) -> list[dict[str, Any]]:
    """A room's utterances in spoken order (by start within the step), optionally of one step."""
    sql = "SELECT * FROM utterances WHERE room_id = ?"
    args: list[Any] = [room_id]
    if step_id is not None:
        sql += " AND step_id = ?"
        args.append(step_id)
    cur = conn.execute(sql + " ORDER BY step_id, start_s, created_at", args)
    columns = [c[0] for c in cur.description]
    out = []
    for row in cur.fetchall():
        d = dict(zip(columns, row))  # works with and without row_factory
        out.append(
            {
                "id": d["id"],
                "room_id": d["room_id"],
                "step_id": d["step_id"],
                "participant_id": d["participant_id"],
                "start": d["start_s"],
                "end": d["end_s"],
                "text": d["text"],
                "confidence": d["confidence"],
                "language": d["language"],
            }
        )
    return out


def replaced_pieces(conn: Connection, room_id: str) -> dict[str, str]:
    """Piece id -> the id of the turn that took its place."""
    return {r[0]: r[1] for r in conn.execute("SELECT piece_id, turn_id FROM utterance_pieces WHERE room_id = ?", (room_id,))}


def delete_room_utterances(conn: Connection, room_id: str) -> int:
    conn.execute("DELETE FROM utterance_pieces WHERE room_id = ?", (room_id,))
    return conn.execute("DELETE FROM utterances WHERE room_id = ?", (room_id,)).rowcount
