"""The advice list in the database: items, the facilitator's corrections, the inbrenger's marks.

Items are built from the advice step's utterances as they arrive.  The
facilitator corrects them; every correction is written to ``advice_edits``
with the item as it was before and after, and each item keeps the words the
machine heard (``original_text``) beside the text people see.  Deleting an
item hides it (it can come back); deleting a room's data removes the rows.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Iterable

from ..db import Connection, Row, Transaction
from ..engine import clean_text
from ..errors import ClientError, bad_request, not_found
from . import aside
from .splitter import JOIN_PAUSE, NEW_ADVICE_PAUSE, AdviceItem, as_utterance, detect_language, has_cue, is_lead_in, opens_as_proposal, split_round


MARKS = ("useful", "not_for_me", "ask")
MAX_ITEM_TEXT = 4000
# Items made by hand (typed in, split off) in one room: far above a real round (a few dozen), low
# enough that a page cannot grow every state message of the room to megabytes.
MAX_HAND_ITEMS = 200
MAX_NOTE = 4000
MAX_UTTERANCE_TEXT = 20000
# Fewer words than this say too little about their language to mark an utterance by its words.
MIN_WORDS_TO_GUESS = 5


def _now() -> float:
    return time.time()


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "participant_id": row["participant_id"],
        "speaker": row["speaker"] if "speaker" in row.keys() else None,
        "start": row["start_s"],
        "end": row["end_s"],
        "text": row["text"],
        "original": row["original_text"],
        "edited": bool(row["edited"]),
        "source": row["source"],
        "deleted": bool(row["deleted"]),
        "merged_into": row["merged_into"],
        "mark": row["mark"],
        "note": row["note"],
        "position": row["position"],
        "language": row["language"] if "language" in row.keys() else None,
    }


_SELECT = """SELECT i.*, p.name AS speaker, l.language AS language FROM advice_items i
             LEFT JOIN participants p ON p.id = i.participant_id
             LEFT JOIN advice_item_languages l ON l.room_id = i.room_id AND l.item_id = i.id"""


def _item_row(conn: Connection, room_id: str, item_id: Any) -> Row:
    if not isinstance(item_id, str) or not item_id:
        raise bad_request("item_id ontbreekt", "invalid")
    row = conn.execute(f"{_SELECT} WHERE i.room_id = ? AND i.id = ?", (room_id, item_id)).fetchone()
    if row is None:
        raise not_found("Dit advies bestaat niet (meer).", "unknown_item")
    return row


def _live_row(conn: Connection, room_id: str, item_id: Any) -> Row:
    row = _item_row(conn, room_id, item_id)
    if row["deleted"]:
        raise not_found("Dit advies is verwijderd.", "unknown_item")
    return row


def get_item(conn: Connection, room_id: str, item_id: str) -> dict[str, Any]:
    return _row_dict(_item_row(conn, room_id, item_id))


_NO_INBRENGER = object()


def list_items(
    conn: Connection, room_id: str, include_deleted: bool = False, inbrenger_id: Any = _NO_INBRENGER
) -> list[dict[str, Any]]:
    """The list in its order; ``number`` counts the visible items from 1.

    With ``inbrenger_id`` (None when there is none yet) ``mark`` and ``note`` are that inbrenger's own."""
    where = "" if include_deleted else " AND i.deleted = 0"
    rows = conn.execute(f"{_SELECT} WHERE i.room_id = ?{where} ORDER BY i.position, i.created_at", (room_id,))
    items = []
    number = 0
    for row in rows:
        item = _row_dict(row)
        if not item["deleted"]:
            number += 1
            item["number"] = number
        items.append(item)
    if inbrenger_id is not _NO_INBRENGER:
        for item in items:
            _own_marks(conn, room_id, item, inbrenger_id)
    return items


def _own_marks(conn: Connection, room_id: str, item: dict[str, Any], inbrenger_id: str | None) -> dict[str, Any]:
    """Put this inbrenger's mark and note on ``item`` (None: there is no inbrenger, so none)."""
    row = conn.execute(
        "SELECT mark, note FROM advice_marks WHERE item_id = ? AND inbrenger_id = ?", (item["id"], inbrenger_id or "")
    ).fetchone()
    item["mark"], item["note"] = (row["mark"], row["note"]) if row else (None, "")
    return item


def _write_mark(conn: Connection, room_id: str, item_id: str, inbrenger_id: str, **values: Any) -> None:
    conn.execute(
        """INSERT INTO advice_marks (room_id, item_id, inbrenger_id, mark, note, updated_at) VALUES (?, ?, ?, NULL, '', ?)
           ON CONFLICT (item_id, inbrenger_id) DO NOTHING""",
        (room_id, item_id, inbrenger_id, _now()),
    )
    for column, value in values.items():
        conn.execute(
            f"UPDATE advice_marks SET {column} = ?, updated_at = ? WHERE item_id = ? AND inbrenger_id = ?",
            (value, _now(), item_id, inbrenger_id),
        )


def history(conn: Connection, room_id: str, item_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM advice_edits WHERE room_id = ?"
    args: list[Any] = [room_id]
    if item_id is not None:
        sql += " AND item_id = ?"
        args.append(item_id)
    return [
        {
            "id": row["id"],
            "item_id": row["item_id"],
            "participant_id": row["participant_id"],
            "action": row["action"],
            "before": json.loads(row["before"]) if row["before"] else None,
            "after": json.loads(row["after"]) if row["after"] else None,
            "at": row["at"],
        }
        for row in conn.execute(sql + " ORDER BY id", args)
    ]


def _snapshot(row: Row | dict[str, Any]) -> dict[str, Any]:
    keys = ("text", "participant_id", "deleted", "merged_into", "position", "mark", "note")
    data = dict(row) if isinstance(row, dict) else {k: row[k] for k in row.keys()}
    return {k: data.get(k) for k in keys}


def _log(
    conn: Connection,
    room_id: str,
    item_id: str,
    actor_id: str | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(
        "INSERT INTO advice_edits (room_id, item_id, participant_id, action, before, after, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            room_id,
            item_id,
            actor_id,
            action,
            json.dumps(before, ensure_ascii=False) if before is not None else None,
            json.dumps(after, ensure_ascii=False) if after is not None else None,
            _now(),
        ),
    )


def _reload(conn: Connection, room_id: str, item_id: str) -> Row:
    return conn.execute(f"{_SELECT} WHERE i.room_id = ? AND i.id = ?", (room_id, item_id)).fetchone()


def _next_position(conn: Connection, room_id: str) -> float:
    row = conn.execute("SELECT MAX(position) AS p FROM advice_items WHERE room_id = ?", (room_id,)).fetchone()
    return (row["p"] or 0.0) + 1.0


def _position_after(conn: Connection, room_id: str, position: float) -> float:
    row = conn.execute(
        "SELECT MIN(position) AS p FROM advice_items WHERE room_id = ? AND position > ?", (room_id, position)
    ).fetchone()
    return (position + row["p"]) / 2 if row["p"] is not None else position + 1.0


def _check_speaker(conn: Connection, room_id: str, participant_id: Any) -> str | None:
    if participant_id is None:
        return None
    if not isinstance(participant_id, str):
        raise bad_request("participant_id moet tekst of null zijn", "invalid")
    row = conn.execute("SELECT 1 FROM participants WHERE id = ? AND room_id = ?", (participant_id, room_id)).fetchone()
    if row is None:
        raise not_found("Deze deelnemer is niet in deze kamer.", "unknown_participant")
    return participant_id


def _insert_item(
    conn: Connection,
    room_id: str,
    *,
    participant_id: str | None,
    position: float,
    start: float | None,
    end: float | None,
    text: str,
    original: str,
    source: str,
) -> str:
    item_id = _new_id()
    now = _now()
    conn.execute(
        """INSERT INTO advice_items (id, room_id, participant_id, position, start_s, end_s, original_text, text,
                                     source, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (item_id, room_id, participant_id, position, start, end, original, text, source, now, now),
    )
    return item_id


# ------------------------------------------------------------------ from speech
def _raw_text_ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?][\"')\]]*\s*$", text.strip()))


def _speech_set_aside(raw: Any) -> list[Any]:
    """What the speech filters kept out of this utterance's text (service.Utterance.set_aside)."""
    pieces = raw.get("set_aside") if isinstance(raw, dict) else getattr(raw, "set_aside", None)
    return list(pieces or [])


def _piece(piece: Any, name: str, default: Any = None) -> Any:
    return piece.get(name, default) if isinstance(piece, dict) else getattr(piece, name, default)


def _utterance_language(raw: Any) -> str | None:
    value = raw.get("language") if isinstance(raw, dict) else getattr(raw, "language", None)
    return value if isinstance(value, str) and value else None


def ingest_utterances(
    conn: Connection,
    room_id: str,
    utterances: Iterable[Any],
    language: str | None = None,
    names: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Turn new utterances into items; return the items that were made or grown.

    An utterance id already seen is skipped, so a replayed utterance never
    makes a second item.  An utterance that carries on the speaker's last
    item (no cue of a new advice, short pause, not yet corrected by the
    facilitator) is added to that item instead of making a new one.

    Nothing is dropped: what the speech filters kept out (``set_aside`` on the
    utterance), what the splitter marks as no advice (``AdviceItem.aside``) and
    words Whisper wrote twice go to ``aside.set_aside`` with their reason.  An
    utterance heard in another language than ``language`` is split by that
    language's rules and its items carry the language.
    """
    # Names of the room's people, so "Dank je, Bram." is not taken for advice.
    names = list(names) + [r["name"] for r in conn.execute("SELECT name FROM participants WHERE room_id = ?", (room_id,))]
    changed: dict[str, dict[str, Any]] = {}
    with Transaction(conn):
        for raw in utterances:
            utt = as_utterance(raw)
            if not utt.id:
                raise bad_request("Een uitspraak zonder id.", "invalid")
            if len(utt.text) > MAX_UTTERANCE_TEXT:
                raise bad_request("Een uitspraak is te lang.", "invalid")
            seen = conn.execute(
                "SELECT 1 FROM advice_utterances WHERE room_id = ? AND utterance_id = ?", (room_id, utt.id)
            ).fetchone()
            if seen:
                continue
            heard = _utterance_language(raw)
            foreign = heard if heard and language and heard != language else None
            if foreign is None and language and len(re.findall(r"\w+", utt.text)) >= MIN_WORDS_TO_GUESS:
                # Whisper forced to the room's language often writes clear English as English, confidently
                # enough that speech/language.py never asks: the words themselves say which language it is.
                guess = detect_language([utt.text])
                if guess != language:
                    foreign = heard = guess
            replaces = _replaced_pieces(raw)
            if replaces and (not utt.text.strip() or not _take_turn(conn, room_id, utt, replaces)):
                # The pieces stay as they were (the turn came back empty, or someone already worked on
                # their items); its id is remembered so a replay changes nothing.
                _remember(conn, room_id, utt, "")
                continue
            for piece in _speech_set_aside(raw):
                aside.set_aside(
                    conn, room_id, speaker_id=utt.speaker_id, text=str(_piece(piece, "text", "") or ""),
                    reason=str(_piece(piece, "reason", "other")), start=_piece(piece, "start", utt.start),
                    end=_piece(piece, "end", utt.end), utterance_ids=[utt.id], language=heard,
                )
            if not utt.text.strip():
                # Everything in it was set aside above: nothing for the list, and no
                # "previous utterance" for the next one to carry on from.
                conn.execute(
                    """INSERT INTO advice_utterances (room_id, utterance_id, participant_id, start_s, end_s, text, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (room_id, utt.id, utt.speaker_id, utt.start, utt.end, "", _now()),
                )
                continue
            # Speakers are transcribed apart, so utterances may arrive out of time
            # order: what went just before is looked up by time, not by arrival.
            previous = conn.execute(
                """SELECT * FROM advice_utterances WHERE room_id = ? AND start_s <= ? AND text != ''
                   ORDER BY start_s DESC, created_at DESC LIMIT 1""",
                (room_id, utt.start),
            ).fetchone()
            conn.execute(
                """INSERT INTO advice_utterances (room_id, utterance_id, participant_id, start_s, end_s, text, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (room_id, utt.id, utt.speaker_id, utt.start, utt.end, utt.text, _now()),
            )
            if previous is not None and previous["participant_id"] == utt.speaker_id and _same_text(previous["text"], utt.text):
                # Whisper wrote the same words twice: kept aside, the list shows them once.
                aside.set_aside(
                    conn, room_id, speaker_id=utt.speaker_id, text=utt.text, reason="repetition",
                    start=utt.start, end=utt.end, utterance_ids=[utt.id], language=heard,
                )
                continue
            split_language = foreign or language
            found = split_round([utt], split_language, names)
            items = [i for i in found if not getattr(i, "aside", None)]
            for item in found:
                if getattr(item, "aside", None):
                    aside.set_aside(
                        conn, room_id, speaker_id=item.speaker_id, text=item.text, reason=str(item.aside),
                        start=item.start, end=item.end, utterance_ids=item.utterance_ids or [utt.id], language=heard,
                    )
            if not found:
                # The splitter found no advice in it and said nothing more: kept aside whole.
                aside.set_aside(
                    conn, room_id, speaker_id=utt.speaker_id, text=utt.text, reason="no_advice",
                    start=utt.start, end=utt.end, utterance_ids=[utt.id], language=heard,
                )
            if not items:
                continue
            target = None
            if previous is not None and previous["item_id"] and previous["participant_id"] == utt.speaker_id:
                target = conn.execute(
                    "SELECT * FROM advice_items WHERE room_id = ? AND id = ?", (room_id, previous["item_id"])
                ).fetchone()
            first, rest = items[0], items[1:]
            last_id = None
            if foreign is None and _carries_on(target, previous, utt, first, language):
                _grow(conn, room_id, target, first, previous)
                changed[target["id"]] = {}
                last_id = target["id"]
            else:
                rest = items
            for item in rest:
                item_id = _insert_item(
                    conn,
                    room_id,
                    participant_id=item.speaker_id,
                    position=_position_for_time(conn, room_id, item.start),
                    start=item.start,
                    end=item.end,
                    text=item.text,
                    original=item.text,
                    source="speech",
                )
                if foreign:
                    _set_language(conn, room_id, item_id, foreign)
                _log(conn, room_id, item_id, None, "create", None, {"text": item.text, "participant_id": item.speaker_id})
                changed[item_id] = {}
                last_id = item_id
            conn.execute(
                "UPDATE advice_utterances SET item_id = ? WHERE room_id = ? AND utterance_id = ?", (last_id, room_id, utt.id)
            )
    return [_row_dict(_reload(conn, room_id, item_id)) for item_id in changed]


def _remember(conn: Connection, room_id: str, utt: Any, text: str) -> None:
    conn.execute(
        """INSERT INTO advice_utterances (room_id, utterance_id, participant_id, start_s, end_s, text, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (room_id, utt.id, utt.speaker_id, utt.start, utt.end, text, _now()),
    )


def _replaced_pieces(raw: Any) -> list[str]:
    value = raw.get("replaces") if isinstance(raw, dict) else getattr(raw, "replaces", None)
    return [str(v) for v in value or () if v]


def _take_turn(conn: Connection, room_id: str, turn: Any, pieces: list[str]) -> bool:
    """Make room for a turn decoded again as one window: its pieces' items and set-aside words go.

    Only while nobody worked on them: an item the facilitator edited, moved,
    merged or deleted, or the inbrenger marked or wrote a note on, keeps the
    pieces as they are (False).  Pieces never seen here change nothing.
    """
    marks = ",".join("?" * len(pieces))
    seen = conn.execute(
        f"SELECT utterance_id FROM advice_utterances WHERE room_id = ? AND utterance_id IN ({marks})", (room_id, *pieces)
    ).fetchall()
    if not seen:
        return True
    # The pieces' items: this speaker's spoken items inside the turn (a piece can make several).
    items = conn.execute(
        """SELECT * FROM advice_items WHERE room_id = ? AND participant_id IS NOT DISTINCT FROM ? AND start_s IS NOT NULL
           AND start_s >= ? AND start_s <= ?""",
        (room_id, turn.speaker_id, turn.start - 0.01, turn.end + 0.01),
    ).fetchall()
    if any(i["source"] != "speech" or i["edited"] or i["deleted"] or i["mark"] or i["note"] for i in items):
        return False
    for item in items:  # an inbrenger's mark or note on it
        if conn.execute(
            "SELECT 1 FROM advice_marks WHERE room_id = ? AND item_id = ? AND (mark IS NOT NULL OR note != '')",
            (room_id, item["id"]),
        ).fetchone() is not None:
            return False
    grown_into = conn.execute(
        """SELECT 1 FROM advice_items WHERE room_id = ? AND participant_id IS NOT DISTINCT FROM ? AND start_s < ? AND end_s > ?""",
        (room_id, turn.speaker_id, turn.start - 0.01, turn.start + 0.01),
    ).fetchone()
    if grown_into is not None:
        return False  # an item from before the turn took in its first words: leave both alone
    if any(e["participant_id"] is not None for i in items
           for e in conn.execute("SELECT participant_id FROM advice_edits WHERE room_id = ? AND item_id = ?", (room_id, i["id"]))):
        return False  # moved by the facilitator
    for item in items:
        _log(conn, room_id, item["id"], None, "redecoded", _snapshot(item), {"turn": turn.id})
        conn.execute("DELETE FROM advice_item_languages WHERE room_id = ? AND item_id = ?", (room_id, item["id"]))
        conn.execute("DELETE FROM advice_items WHERE room_id = ? AND id = ?", (room_id, item["id"]))
    # The pieces' own words leave the list's memory: the turn's words take their place.
    conn.execute(
        f"UPDATE advice_utterances SET text = '', item_id = NULL WHERE room_id = ? AND utterance_id IN ({marks})",
        (room_id, *pieces),
    )
    for piece in aside.list_set_aside(conn, room_id):
        if piece["utterance_ids"] and set(piece["utterance_ids"]) <= set(pieces):
            aside.delete(conn, room_id, piece["id"])
    return True


def _set_language(conn: Connection, room_id: str, item_id: str, language: str) -> None:
    conn.execute(
        """INSERT INTO advice_item_languages (room_id, item_id, language) VALUES (?, ?, ?)
           ON CONFLICT (room_id, item_id) DO UPDATE SET language = excluded.language""",
        (room_id, item_id, language),
    )


def restore_set_aside(conn: Connection, room_id: str, aside_id: Any, actor_id: str | None) -> dict[str, Any]:
    """Put a set-aside piece of speech in the list as a normal item, where it was said; return the item."""
    with Transaction(conn):
        piece = aside.get(conn, room_id, aside_id)
        if piece["restored_item"]:
            raise bad_request("Deze tekst staat al in de lijst.", "already_restored")
        speaker = piece["participant_id"]
        if speaker is not None and conn.execute(
            "SELECT 1 FROM participants WHERE id = ? AND room_id = ?", (speaker, room_id)
        ).fetchone() is None:
            speaker = None
        start = piece["start"]
        position = _position_for_time(conn, room_id, start) if start is not None else _next_position(conn, room_id)
        text = piece["text"][:MAX_ITEM_TEXT]
        item_id = _insert_item(
            conn, room_id, participant_id=speaker, position=position, start=start, end=piece["end"],
            text=text, original=text, source="restored",
        )
        if piece["language"]:
            language = conn.execute("SELECT language FROM rooms WHERE id = ?", (room_id,)).fetchone()
            if language is None or language["language"] != piece["language"]:
                _set_language(conn, room_id, item_id, piece["language"])
        aside.mark_restored(conn, room_id, piece["id"], item_id)
        _log(conn, room_id, item_id, actor_id, "restore_aside", {"aside": piece["id"], "reason": piece["reason"]},
             {"text": text, "participant_id": speaker})
        return _row_dict(_reload(conn, room_id, item_id))


def signature(conn: Connection, room_id: str) -> tuple[Any, ...]:
    """Changes whenever the list or what is set aside changes (for the live feed)."""
    items = conn.execute(
        "SELECT COUNT(*) AS n, MAX(updated_at) AS t FROM advice_items WHERE room_id = ?", (room_id,)
    ).fetchone()
    return (items["n"], items["t"], aside.total(conn, room_id))


def _same_text(a: str, b: str) -> bool:
    words = lambda t: re.findall(r"\w+", t.lower())  # noqa: E731
    return len(words(a)) >= 3 and words(a) == words(b)


def _position_for_time(conn: Connection, room_id: str, start: float) -> float:
    """Right after the last item said before ``start``; hand-made items keep their place."""
    row = conn.execute(
        "SELECT MAX(position) AS p FROM advice_items WHERE room_id = ? AND start_s IS NOT NULL AND start_s <= ?",
        (room_id, start),
    ).fetchone()
    if row["p"] is not None:
        position = row["p"]
        # Items typed in by hand right after it were typed in "now": speech said later goes below them.
        for later in conn.execute(
            "SELECT position, start_s FROM advice_items WHERE room_id = ? AND position > ? ORDER BY position",
            (room_id, position),
        ):
            if later["start_s"] is not None:
                break
            position = later["position"]
        return _position_after(conn, room_id, position)
    first = conn.execute("SELECT MIN(position) AS p FROM advice_items WHERE room_id = ?", (room_id,)).fetchone()
    later = conn.execute(
        "SELECT 1 FROM advice_items WHERE room_id = ? AND start_s > ? LIMIT 1", (room_id, start)
    ).fetchone()
    if later is not None and first["p"] is not None:
        return first["p"] - 1.0
    return _next_position(conn, room_id)


def _carries_on(
    last: Row | None, previous: Row | None, utt: Any, first: AdviceItem, language: str | None
) -> bool:
    if last is None or previous is None:
        return False
    if last["source"] != "speech" or last["edited"] or last["deleted"]:
        return False
    if last["participant_id"] != utt.speaker_id or previous["participant_id"] != utt.speaker_id:
        return False
    pause = utt.start - (previous["end_s"] or 0.0)
    open_sentence = not _raw_text_ends_sentence(previous["text"])
    language = language or detect_language([last["text"]])
    # "Mijn tip." alone in one utterance announces the advice in the next one, and
    # words without any cue at the start of a turn ("Ik herken dit wel.") introduce it.
    announced = is_lead_in(last["text"], language) or not has_cue(last["text"], language)
    # "Vraag wat zij wil." right after "Ik zou het slachtoffer apart spreken." spells that out.
    spelled_out = first.may_spell_out and opens_as_proposal(last["text"], language)
    return (open_sentence and pause < JOIN_PAUSE) or (
        (first.continues or announced or spelled_out) and pause < NEW_ADVICE_PAUSE
    )


def _grow(conn: Connection, room_id: str, last: Row, part: AdviceItem, previous: Row) -> None:
    text = last["text"]
    addition = part.text
    if not _raw_text_ends_sentence(previous["text"]):
        # Whisper cut a sentence in two: the splitter closed both halves with a full stop.
        text = text[:-1] if text.endswith(".") else text
        addition = addition[0].lower() + addition[1:] if addition[:2] not in ("I ", "I'") else addition
    joined = f"{text} {addition}"
    conn.execute(
        "UPDATE advice_items SET text = ?, original_text = ?, end_s = ?, updated_at = ? WHERE id = ?",
        (joined, joined, part.end, _now(), last["id"]),
    )
    _log(conn, room_id, last["id"], None, "grow", {"text": last["text"]}, {"text": joined})


# ------------------------------------------------------------------ corrections
def edit_text(conn: Connection, room_id: str, item_id: str, text: Any, actor_id: str | None) -> dict[str, Any]:
    text = clean_text(text, "Tekst", MAX_ITEM_TEXT, multiline=True)
    with Transaction(conn):
        row = _live_row(conn, room_id, item_id)
        if text != row["text"]:
            conn.execute(
                "UPDATE advice_items SET text = ?, edited = 1, updated_at = ? WHERE id = ?", (text, _now(), item_id)
            )
            _log(conn, room_id, item_id, actor_id, "edit", {"text": row["text"]}, {"text": text})
        return _row_dict(_reload(conn, room_id, item_id))


def set_speaker(
    conn: Connection, room_id: str, item_id: str, participant_id: Any, actor_id: str | None
) -> dict[str, Any]:
    with Transaction(conn):
        row = _live_row(conn, room_id, item_id)
        speaker = _check_speaker(conn, room_id, participant_id)
        if speaker != row["participant_id"]:
            conn.execute(
                "UPDATE advice_items SET participant_id = ?, edited = 1, updated_at = ? WHERE id = ?",
                (speaker, _now(), item_id),
            )
            _log(conn, room_id, item_id, actor_id, "speaker", {"participant_id": row["participant_id"]}, {"participant_id": speaker})
        return _row_dict(_reload(conn, room_id, item_id))


def merge_items(
    conn: Connection, room_id: str, first_id: str, second_id: str, actor_id: str | None
) -> dict[str, Any]:
    """Join two items into the one that comes first in the list; the other is kept, hidden, as merged."""
    if first_id == second_id:
        raise bad_request("Kies twee verschillende adviezen om samen te voegen.", "invalid")
    with Transaction(conn):
        a, b = _live_row(conn, room_id, first_id), _live_row(conn, room_id, second_id)
        if b["position"] < a["position"]:
            a, b = b, a
        text = f"{a['text']} {b['text']}"
        original = f"{a['original_text']} {b['original_text']}"
        start = min(x for x in (a["start_s"], b["start_s"]) if x is not None) if a["start_s"] is not None or b["start_s"] is not None else None
        end = max(x for x in (a["end_s"], b["end_s"]) if x is not None) if a["end_s"] is not None or b["end_s"] is not None else None
        now = _now()
        conn.execute(
            """UPDATE advice_items SET text = ?, original_text = ?, start_s = ?, end_s = ?, edited = 1, updated_at = ?,
                      note = CASE WHEN note = '' THEN ? WHEN ? = '' THEN note ELSE note || ? || ? END,
                      mark = COALESCE(mark, ?)
               WHERE id = ?""",
            (text, original, start, end, now, b["note"], b["note"], "\n", b["note"], b["mark"], a["id"]),
        )
        conn.execute(
            "UPDATE advice_items SET deleted = 1, merged_into = ?, updated_at = ? WHERE id = ?", (a["id"], now, b["id"])
        )
        # Each inbrenger's marks and notes of the second item join the first, as above.
        for m in conn.execute("SELECT * FROM advice_marks WHERE item_id = ?", (b["id"],)).fetchall():
            conn.execute(
                """INSERT INTO advice_marks (room_id, item_id, inbrenger_id, mark, note, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (item_id, inbrenger_id) DO UPDATE SET
                       note = CASE WHEN advice_marks.note = '' THEN excluded.note
                                   WHEN excluded.note = '' THEN advice_marks.note
                                   ELSE advice_marks.note || ? || excluded.note END,
                       mark = COALESCE(advice_marks.mark, excluded.mark), updated_at = excluded.updated_at""",
                (room_id, a["id"], m["inbrenger_id"], m["mark"], m["note"], now, "\n"),
            )
        _log(conn, room_id, a["id"], actor_id, "merge", {"text": a["text"], "merged": b["id"]}, {"text": text})
        _log(conn, room_id, b["id"], actor_id, "merged_into", _snapshot(b), {"merged_into": a["id"]})
        return _row_dict(_reload(conn, room_id, a["id"]))


def split_item(
    conn: Connection, room_id: str, item_id: str, at: Any, actor_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cut an item's text at a character position: the tail becomes a new item right after it."""
    if not isinstance(at, int) or isinstance(at, bool):
        raise bad_request("at moet een tekenpositie zijn", "invalid")
    with Transaction(conn):
        _check_item_count(conn, room_id)
        row = _live_row(conn, room_id, item_id)
        text = row["text"]
        head, tail = text[:at].strip(), text[at:].strip()
        if not (0 < at < len(text)) or not head or not tail:
            raise bad_request("Splits binnen de tekst, met woorden aan beide kanten.", "invalid_split")
        tail = tail[0].upper() + tail[1:]
        unedited = text == row["original_text"]
        # The machine's words are split with the text when nobody changed them yet;
        # otherwise the first part keeps all of them.
        head_original = head if unedited else row["original_text"]
        tail_original = tail if unedited else ""
        duration = (row["end_s"] - row["start_s"]) if row["start_s"] is not None and row["end_s"] is not None else None
        cut = row["start_s"] + duration * at / len(text) if duration is not None else None
        now = _now()
        conn.execute(
            "UPDATE advice_items SET text = ?, original_text = ?, end_s = COALESCE(?, end_s), edited = 1, updated_at = ? WHERE id = ?",
            (head, head_original, cut, now, item_id),
        )
        new_id = _insert_item(
            conn,
            room_id,
            participant_id=row["participant_id"],
            position=_position_after(conn, room_id, row["position"]),
            start=cut,
            end=row["end_s"],
            text=tail,
            original=tail_original,
            source="split",
        )
        conn.execute("UPDATE advice_items SET edited = 1 WHERE id = ?", (new_id,))
        _log(conn, room_id, item_id, actor_id, "split", {"text": text}, {"text": head, "new_item": new_id})
        _log(conn, room_id, new_id, actor_id, "split_from", {"item": item_id}, {"text": tail})
        return _row_dict(_reload(conn, room_id, item_id)), _row_dict(_reload(conn, room_id, new_id))


def delete_item(conn: Connection, room_id: str, item_id: str, actor_id: str | None) -> dict[str, Any]:
    with Transaction(conn):
        row = _live_row(conn, room_id, item_id)
        conn.execute("UPDATE advice_items SET deleted = 1, updated_at = ? WHERE id = ?", (_now(), item_id))
        _log(conn, room_id, item_id, actor_id, "delete", _snapshot(row), {"deleted": 1})
        return _row_dict(_reload(conn, room_id, item_id))


def restore_item(conn: Connection, room_id: str, item_id: str, actor_id: str | None) -> dict[str, Any]:
    with Transaction(conn):
        row = _item_row(conn, room_id, item_id)
        if not row["deleted"]:
            raise bad_request("Dit advies staat al in de lijst.", "not_deleted")
        if row["merged_into"]:
            raise bad_request("Dit advies is samengevoegd; splits het andere advies in plaats daarvan.", "merged")
        conn.execute("UPDATE advice_items SET deleted = 0, updated_at = ? WHERE id = ?", (_now(), item_id))
        _log(conn, room_id, item_id, actor_id, "restore", {"deleted": 1}, {"deleted": 0})
        return _row_dict(_reload(conn, room_id, item_id))


def _check_item_count(conn: Connection, room_id: str) -> None:
    made = conn.execute(
        "SELECT COUNT(*) FROM advice_items WHERE room_id = ? AND source IN ('hand', 'split')", (room_id,)
    ).fetchone()[0]
    if made >= MAX_HAND_ITEMS:
        raise ClientError(409, "too_many_items", f"Er zijn al {made} adviezen met de hand gemaakt in deze sessie; meer kan niet.")


def add_item(
    conn: Connection,
    room_id: str,
    text: Any,
    participant_id: Any,
    actor_id: str | None,
    after_id: Any = None,
) -> dict[str, Any]:
    """An advice typed in by hand (a microphone that failed): at the end, or right after ``after_id``."""
    text = clean_text(text, "Tekst", MAX_ITEM_TEXT, multiline=True)
    with Transaction(conn):
        _check_item_count(conn, room_id)
        speaker = _check_speaker(conn, room_id, participant_id)
        if after_id is None:
            position = _next_position(conn, room_id)
        else:
            position = _position_after(conn, room_id, _item_row(conn, room_id, after_id)["position"])
        item_id = _insert_item(
            conn, room_id, participant_id=speaker, position=position, start=None, end=None, text=text,
            original=text, source="hand",
        )
        _log(conn, room_id, item_id, actor_id, "add", None, {"text": text, "participant_id": speaker})
        return _row_dict(_reload(conn, room_id, item_id))


def move_item(conn: Connection, room_id: str, item_id: str, index: Any, actor_id: str | None) -> list[dict[str, Any]]:
    """Put an item at ``index`` (0-based) among the visible items."""
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise bad_request("index moet een getal vanaf 0 zijn", "invalid")
    with Transaction(conn):
        row = _live_row(conn, room_id, item_id)
        visible = [r["id"] for r in conn.execute(
            "SELECT id FROM advice_items WHERE room_id = ? AND deleted = 0 ORDER BY position, created_at", (room_id,)
        )]
        old_index = visible.index(item_id)
        visible.remove(item_id)
        index = min(index, len(visible))
        visible.insert(index, item_id)
        # Hidden items keep their old numbers: they only matter in the edit history.
        for n, vid in enumerate(visible, start=1):
            conn.execute("UPDATE advice_items SET position = ? WHERE id = ?", (float(n), vid))
        _log(conn, room_id, item_id, actor_id, "move", {"index": old_index, "position": row["position"]}, {"index": index})
    return list_items(conn, room_id)


# ------------------------------------------------------------------ the inbrenger's work
def set_mark(conn: Connection, room_id: str, item_id: str, mark: Any, actor_id: str | None) -> dict[str, Any]:
    if mark is not None and mark not in MARKS:
        raise bad_request(f"mark moet een van {', '.join(MARKS)} of null zijn", "invalid")
    with Transaction(conn):
        _live_row(conn, room_id, item_id)
        _write_mark(conn, room_id, item_id, actor_id or "", mark=mark)
        return _own_marks(conn, room_id, _row_dict(_reload(conn, room_id, item_id)), actor_id)


def set_item_note(conn: Connection, room_id: str, item_id: str, note: Any, actor_id: str | None) -> dict[str, Any]:
    note = clean_text(note, "Notitie", MAX_NOTE, required=False, multiline=True)
    with Transaction(conn):
        _live_row(conn, room_id, item_id)
        _write_mark(conn, room_id, item_id, actor_id or "", note=note)
        return _own_marks(conn, room_id, _row_dict(_reload(conn, room_id, item_id)), actor_id)


def set_overall_note(conn: Connection, room_id: str, participant_id: str, text: Any) -> str:
    text = clean_text(text, "Notitie", MAX_NOTE, required=False, multiline=True)
    with Transaction(conn):
        if not text:
            conn.execute("DELETE FROM advice_notes WHERE room_id = ? AND participant_id = ?", (room_id, participant_id))
        else:
            conn.execute(
                """INSERT INTO advice_notes (room_id, participant_id, text, updated_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (room_id, participant_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at""",
                (room_id, participant_id, text, _now()),
            )
    return text


def overall_note(conn: Connection, room_id: str, participant_id: str | None) -> str:
    if participant_id is None:
        return ""
    row = conn.execute(
        "SELECT text FROM advice_notes WHERE room_id = ? AND participant_id = ?", (room_id, participant_id)
    ).fetchone()
    return row["text"] if row else ""


# ------------------------------------------------------------------ retention
def delete_room_data(conn: Connection, room_id: str) -> int:
    """Remove every advice row of a room (not hide: delete); return how many went."""
    with Transaction(conn):
        count = 0
        for table in ("advice_edits", "advice_notes", "advice_marks", "advice_utterances", "advice_item_languages", "advice_items"):
            count += conn.execute(f"DELETE FROM {table} WHERE room_id = ?", (room_id,)).rowcount
        count += aside.delete_room_set_aside(conn, room_id)
    return count
