"""Utterances in SQLite: idempotent on id, listed in spoken order, gone with their room."""

from __future__ import annotations

import time

from companion import db
from companion.speech.service import Utterance
from companion.speech.store import insert_utterance, list_utterances


def _room(conn, room_id: str) -> None:
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
           VALUES (?, 'groep', 'basis', '{}', 'nl', 7, ?, ?)""",
        (room_id, "h-" + room_id, time.time()),
    )


def _utt(uid: str, start: float, pid: str = "anna", step: str = "advies", room: str = "r1") -> Utterance:
    return Utterance(room, step, pid, uid, start, start + 2, f"tekst {uid}", 0.8, "nl")


def test_insert_is_idempotent_and_listing_follows_speech_order(database):
    conn = db.connect(database)
    _room(conn, "r1")
    assert insert_utterance(conn, _utt("b", 5.0, "bram"))
    assert insert_utterance(conn, _utt("a", 1.0))
    assert not insert_utterance(conn, _utt("a", 1.0))  # a result that came back twice is stored once
    assert insert_utterance(conn, _utt("c", 0.5, step="vragen"))
    rows = list_utterances(conn, "r1", "advies")
    assert [(r["id"], r["participant_id"]) for r in rows] == [("a", "anna"), ("b", "bram")]
    assert rows[0]["start"] == 1.0 and rows[0]["end"] == 3.0 and rows[0]["text"] == "tekst a"
    assert len(list_utterances(conn, "r1")) == 3


def test_an_utterance_of_a_deleted_room_is_not_stored(database):
    conn = db.connect(database)
    assert not insert_utterance(conn, _utt("x", 1.0, room="gone"))
    _room(conn, "r1")
    insert_utterance(conn, _utt("a", 1.0).to_dict())
    from companion.retention import delete_room

    delete_room(conn, "r1")
    assert list_utterances(conn, "r1") == []
