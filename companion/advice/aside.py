"""Speech the pipeline did not put in the advice list, kept with the reason why.

Nothing a person said is thrown away without a trace: the speech filters
(silence text, low confidence, a phrase list), the splitter (a statement that
is no advice) and the list builder (Whisper writing the same words twice) set
pieces of transcribed speech aside here instead of dropping them.  The
facilitator and the inbrenger see them in a collapsed "niet opgenomen" part
of the list; the facilitator turns one into a normal item with one click.

Rows are deleted with the room (``retention.delete_room`` finds the
``room_id`` column) and with the advice data (``store.delete_room_data``).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterable

from ..db import Connection, Row
from ..errors import bad_request, not_found


# Why a piece of speech is not in the list.  The codes are the wire format; the
# page words them (i18n ``aside.reason.*``).
REASONS = (
    "silence",  # the model's own scores: no speech, yet it wrote words (typically on noise)
    "low_confidence",  # the words are guesses
    "phrase_list",  # a known Whisper invention (subtitle credits, "bedankt voor het kijken")
    "repetition",  # the same words written twice in a row
    "no_advice",  # the splitter: talk around the advice ("Dank je, Bram.", "Ik heb geen advies.")
    "other",  # a reason this version does not know (kept rather than refused)
)
MAX_TEXT = 20000


def _now() -> float:
    return time.time()


def _row(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "participant_id": row["participant_id"],
        "speaker": row["speaker"] if "speaker" in row.keys() else None,
        "start": row["start_s"],
        "end": row["end_s"],
        "text": row["text"],
        "reason": row["reason"],
        "language": row["language"],
        "utterance_ids": json.loads(row["utterance_ids"] or "[]"),
        "restored_item": row["restored_item"],
    }


_SELECT = """SELECT a.*, p.name AS speaker FROM set_aside a
             LEFT JOIN participants p ON p.id = a.participant_id"""


def set_aside(
    conn: Connection,
    room_id: str,
    *,
    speaker_id: str | None,
    text: str,
    reason: str,
    start: float | None,
    end: float | None = None,
    utterance_ids: Iterable[str] = (),
    language: str | None = None,
) -> str | None:
    """Keep one piece of speech out of the list, with its reason; return its id (None for no words).

    Call inside the caller's transaction.  The same words of the same
    utterances with the same reason are kept once (a replayed utterance).
    """
    text = (text or "").strip()[:MAX_TEXT]
    if not text:
        return None
    if reason not in REASONS:
        reason = "other"
    ids = json.dumps(list(dict.fromkeys(utterance_ids)))
    same = conn.execute(
        "SELECT id FROM set_aside WHERE room_id = ? AND utterance_ids = ? AND text = ? AND reason = ?",
        (room_id, ids, text, reason),
    ).fetchone()
    if same is not None and ids != "[]":
        return same["id"]
    aside_id = uuid.uuid4().hex[:16]
    conn.execute(
        """INSERT INTO set_aside (id, room_id, participant_id, start_s, end_s, text, reason, language,
                                  utterance_ids, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (aside_id, room_id, speaker_id, start, end if end is not None else start, text, reason, language, ids, _now()),
    )
    return aside_id


def list_set_aside(conn: Connection, room_id: str, include_restored: bool = False) -> list[dict[str, Any]]:
    """What is set aside in a room, in spoken order."""
    where = "" if include_restored else " AND a.restored_item IS NULL"
    rows = conn.execute(
        f"{_SELECT} WHERE a.room_id = ?{where} ORDER BY COALESCE(a.start_s, 1e18), a.created_at", (room_id,)
    )
    return [_row(r) for r in rows]


def counts(conn: Connection, room_id: str | None = None) -> dict[str, int]:
    """How many pieces are set aside per reason (restored ones included: they were set aside)."""
    sql = "SELECT reason, COUNT(*) AS n FROM set_aside"
    args: tuple[Any, ...] = ()
    if room_id is not None:
        sql += " WHERE room_id = ?"
        args = (room_id,)
    return {r["reason"]: r["n"] for r in conn.execute(sql + " GROUP BY reason ORDER BY reason", args)}


def total(conn: Connection, room_id: str) -> int:
    """How many pieces a room ever set aside (a cheap "did anything change" for the live feed)."""
    return conn.execute("SELECT COUNT(*) FROM set_aside WHERE room_id = ?", (room_id,)).fetchone()[0]


def get(conn: Connection, room_id: str, aside_id: Any) -> dict[str, Any]:
    if not isinstance(aside_id, str) or not aside_id:
        raise bad_request("aside_id ontbreekt", "invalid")
    row = conn.execute(f"{_SELECT} WHERE a.room_id = ? AND a.id = ?", (room_id, aside_id)).fetchone()
    if row is None:
        raise not_found("Deze niet opgenomen tekst bestaat niet (meer).", "unknown_aside")
    return _row(row)


def mark_restored(conn: Connection, room_id: str, aside_id: str, item_id: str) -> bool:
    """Record that the piece became ``item_id``; False when someone restored it already."""
    cur = conn.execute(
        "UPDATE set_aside SET restored_item = ?, restored_at = ? WHERE room_id = ? AND id = ? AND restored_item IS NULL",
        (item_id, _now(), room_id, aside_id),
    )
    return cur.rowcount == 1


def delete(conn: Connection, room_id: str, aside_id: str) -> None:
    """Forget one entry (a turn decoded again brings the same speech back as a whole)."""
    conn.execute("DELETE FROM set_aside WHERE room_id = ? AND id = ?", (room_id, aside_id))


def delete_room_set_aside(conn: Connection, room_id: str) -> int:
    return conn.execute("DELETE FROM set_aside WHERE room_id = ?", (room_id,)).rowcount
