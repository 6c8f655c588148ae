"""The advice list against a real SQLite file: building, corrections, marks, deletion."""

from __future__ import annotations

import sqlite3
import time

import pytest

from companion import db
from companion.advice import store
from companion.advice.splitter import Utterance
from companion.errors import ClientError
from companion.retention import delete_room


def _room(conn: sqlite3.Connection, room_id: str, people: dict[str, str]) -> None:
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
           VALUES (?, 'Team Noord', 'basismodel', '', 'nl', 8, ?, ?)""",
        (room_id, f"hash-{room_id}", time.time()),
    )
    for pid, name in people.items():
        conn.execute(
            "INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES (?, ?, ?, 'deelnemer', ?, ?)",
            (pid, room_id, name, f"tok-{room_id}-{pid}", time.time()),
        )


def _every_row(conn) -> dict[str, list[tuple]]:
    from companion.schema import metadata

    return {t.name: sorted(tuple(r) for r in conn.execute(f'SELECT * FROM "{t.name}"')) for t in metadata.sorted_tables}


@pytest.fixture
def conn(database):
    c = db.connect(database)  # on SQLite and on PostgreSQL
    _room(c, "r1", {"anna": "Anna", "bram": "Bram", "fleur": "Fleur"})
    _room(c, "r2", {"zoe": "Zoë"})
    yield c
    c.close()


ROUND = [
    Utterance("u1", "anna", 0.0, 8.0, "Eh, ik zou eerst met je baas praten, en daarnaast zou je ook een coach zoeken."),
    Utterance("u2", "anna", 8.4, 11.0, "Dat helpt bij het ordenen."),
    Utterance("u3", "bram", 12.0, 15.0, "Ik zou de"),
    Utterance("u4", "bram", 15.3, 18.0, "directeur bellen."),
    Utterance("u5", "fleur", 19.0, 20.0, "Dank je, Bram."),
]


def _texts(conn, room="r1"):
    return [i["text"] for i in store.list_items(conn, room)]


def test_schema_comes_from_the_core_connect(conn):
    for table in ("advice_items", "advice_utterances", "advice_edits", "advice_notes"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE room_id = 'none'").fetchone()[0] == 0


def test_items_grow_live_one_utterance_at_a_time_and_only_once(conn):
    made = []
    for utt in ROUND:
        made.append(store.ingest_utterances(conn, "r1", [utt], "nl", names=["Anna", "Bram", "Fleur"]))
    assert [len(m) for m in made] == [2, 1, 1, 1, 0]
    assert _texts(conn) == [
        "Ik zou eerst met je baas praten.",
        "Daarnaast zou je ook een coach zoeken. Dat helpt bij het ordenen.",
        "Ik zou de directeur bellen.",
    ]
    items = store.list_items(conn, "r1")
    assert [i["speaker"] for i in items] == ["Anna", "Anna", "Bram"]
    assert [i["number"] for i in items] == [1, 2, 3]
    assert items[2]["start"] == 12.0 and items[2]["end"] == 18.0
    # Replaying the same utterances (a reconnect, a restart) changes nothing.
    assert store.ingest_utterances(conn, "r1", ROUND, "nl") == []
    assert len(store.list_items(conn, "r1")) == 3
    assert conn.execute("SELECT COUNT(*) FROM advice_utterances WHERE room_id='r1'").fetchone()[0] == 5


def test_a_corrected_item_is_not_grown_by_later_speech(conn):
    store.ingest_utterances(conn, "r1", [ROUND[2]], "nl")
    item = store.list_items(conn, "r1")[0]
    store.edit_text(conn, "r1", item["id"], "Bel de directeur.", "fleur")
    store.ingest_utterances(conn, "r1", [ROUND[3]], "nl")
    assert _texts(conn) == ["Bel de directeur.", "Directeur bellen."]


def test_edit_keeps_original_and_history(conn):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    first = store.list_items(conn, "r1")[0]
    edited = store.edit_text(conn, "r1", first["id"], "  Praat eerst met je leidinggevende. ", "fleur")
    assert edited["text"] == "Praat eerst met je leidinggevende."
    assert edited["original"] == "Ik zou eerst met je baas praten."
    assert edited["edited"] is True
    store.edit_text(conn, "r1", first["id"], "Praat met je leidinggevende.", "fleur")
    edits = [h for h in store.history(conn, "r1", first["id"]) if h["action"] == "edit"]
    assert [h["before"]["text"] for h in edits] == ["Ik zou eerst met je baas praten.", "Praat eerst met je leidinggevende."]
    assert edits[-1]["participant_id"] == "fleur"


def test_merge_split_delete_restore_speaker_add_move(conn):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    a, b, c = store.list_items(conn, "r1")
    merged = store.merge_items(conn, "r1", b["id"], a["id"], "fleur")  # order of the arguments does not matter
    assert merged["id"] == a["id"]
    assert merged["text"].startswith("Ik zou eerst") and merged["text"].endswith("ordenen.")
    assert merged["original"] == merged["text"]
    assert merged["start"] == 0.0 and merged["end"] == 11.0
    assert [i["id"] for i in store.list_items(conn, "r1")] == [a["id"], c["id"]]
    hidden = store.get_item(conn, "r1", b["id"])
    assert hidden["deleted"] and hidden["merged_into"] == a["id"]

    cut = merged["text"].index("Daarnaast")
    head, tail = store.split_item(conn, "r1", a["id"], cut, "fleur")
    assert head["text"] == "Ik zou eerst met je baas praten."
    assert tail["text"].startswith("Daarnaast") and tail["participant_id"] == "anna"
    assert [i["id"] for i in store.list_items(conn, "r1")] == [a["id"], tail["id"], c["id"]]
    assert 0 < tail["start"] < 11.0

    moved = store.set_speaker(conn, "r1", c["id"], "anna", "fleur")
    assert moved["participant_id"] == "anna" and moved["speaker"] == "Anna"
    assert store.set_speaker(conn, "r1", c["id"], None, "fleur")["speaker"] is None

    added = store.add_item(conn, "r1", "Neem vakantie.", "bram", "fleur", after_id=a["id"])
    assert added["source"] == "hand" and added["original"] == "Neem vakantie."
    assert [i["id"] for i in store.list_items(conn, "r1")] == [a["id"], added["id"], tail["id"], c["id"]]
    appended = store.add_item(conn, "r1", "Slaap goed.", None, "fleur")
    assert store.list_items(conn, "r1")[-1]["id"] == appended["id"]

    store.delete_item(conn, "r1", added["id"], "fleur")
    assert added["id"] not in [i["id"] for i in store.list_items(conn, "r1")]
    assert added["id"] in [i["id"] for i in store.list_items(conn, "r1", include_deleted=True)]
    store.restore_item(conn, "r1", added["id"], "fleur")
    assert added["id"] in [i["id"] for i in store.list_items(conn, "r1")]

    order = store.move_item(conn, "r1", c["id"], 0, "fleur")
    assert [i["id"] for i in order][0] == c["id"]
    assert [i["number"] for i in order] == [1, 2, 3, 4, 5]

    actions = [h["action"] for h in store.history(conn, "r1")]
    for action in ("create", "grow", "merge", "merged_into", "split", "split_from", "speaker", "add", "delete", "restore", "move"):
        assert action in actions, action


@pytest.mark.parametrize(
    "call, status",
    [
        (lambda c, i: store.edit_text(c, "r1", "nope", "x", None), 404),
        (lambda c, i: store.edit_text(c, "r2", i[0]["id"], "x", None), 404),  # another room's item
        (lambda c, i: store.edit_text(c, "r1", i[0]["id"], "   ", None), 400),
        (lambda c, i: store.edit_text(c, "r1", i[0]["id"], 12, None), 400),
        (lambda c, i: store.edit_text(c, "r1", i[0]["id"], "x" * 5000, None), 413),
        (lambda c, i: store.edit_text(c, "r1", None, "x", None), 400),
        (lambda c, i: store.merge_items(c, "r1", i[0]["id"], i[0]["id"], None), 400),
        (lambda c, i: store.split_item(c, "r1", i[0]["id"], 0, None), 400),
        (lambda c, i: store.split_item(c, "r1", i[0]["id"], 10_000, None), 400),
        (lambda c, i: store.split_item(c, "r1", i[0]["id"], "5", None), 400),
        (lambda c, i: store.split_item(c, "r1", i[0]["id"], True, None), 400),
        (lambda c, i: store.set_speaker(c, "r1", i[0]["id"], "zoe", None), 404),  # not in this room
        (lambda c, i: store.set_speaker(c, "r1", i[0]["id"], 5, None), 400),
        (lambda c, i: store.set_mark(c, "r1", i[0]["id"], "great", None), 400),
        (lambda c, i: store.move_item(c, "r1", i[0]["id"], -1, None), 400),
        (lambda c, i: store.restore_item(c, "r1", i[0]["id"], None), 400),
        (lambda c, i: store.add_item(c, "r1", "x", "ghost", None), 404),
        (lambda c, i: store.add_item(c, "r1", "x", None, None, after_id="ghost"), 404),
    ],
)
def test_invalid_operations_are_client_errors_and_change_nothing(conn, call, status):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    items = store.list_items(conn, "r1")
    before = _every_row(conn)
    with pytest.raises(ClientError) as err:
        call(conn, items)
    assert err.value.status == status
    assert _every_row(conn) == before


def test_deleted_item_cannot_be_edited_or_marked(conn):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    item = store.list_items(conn, "r1")[0]
    store.delete_item(conn, "r1", item["id"], "fleur")
    for call in (
        lambda: store.edit_text(conn, "r1", item["id"], "x", None),
        lambda: store.set_mark(conn, "r1", item["id"], "useful", None),
        lambda: store.delete_item(conn, "r1", item["id"], None),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.status == 404


def test_marks_and_notes(conn):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    a, b, _ = store.list_items(conn, "r1")
    assert store.set_mark(conn, "r1", a["id"], "useful", "bram")["mark"] == "useful"
    assert store.set_mark(conn, "r1", b["id"], "ask", "bram")["mark"] == "ask"
    assert store.set_mark(conn, "r1", b["id"], None, "bram")["mark"] is None
    assert store.set_item_note(conn, "r1", a["id"], "Volgende week doen.\nMet agenda.", "bram")["note"] == "Volgende week doen.\nMet agenda."
    assert store.set_overall_note(conn, "r1", "bram", "Veel gehad aan deze ronde.") == "Veel gehad aan deze ronde."
    assert store.overall_note(conn, "r1", "bram") == "Veel gehad aan deze ronde."
    store.set_overall_note(conn, "r1", "bram", "")
    assert store.overall_note(conn, "r1", "bram") == ""
    # A merge keeps the marks and notes of both.
    store.set_item_note(conn, "r1", b["id"], "Coach via HR?", "bram")
    merged = store.merge_items(conn, "r1", a["id"], b["id"], "fleur")
    merged = next(i for i in store.list_items(conn, "r1", inbrenger_id="bram") if i["id"] == merged["id"])
    assert merged["mark"] == "useful" and merged["note"] == "Volgende week doen.\nMet agenda.\nCoach via HR?"
    # Marks and notes are the inbrenger's own: someone who becomes inbrenger later sees none of them.
    assert all(i["mark"] is None and i["note"] == "" for i in store.list_items(conn, "r1", inbrenger_id="anna"))
    store.set_mark(conn, "r1", a["id"], "ask", "anna")
    assert store.list_items(conn, "r1", inbrenger_id="bram")[0]["mark"] == "useful"
    assert store.list_items(conn, "r1", inbrenger_id="anna")[0]["mark"] == "ask"


def test_marks_from_before_per_inbrenger_rows_stay_with_their_inbrenger(tmp_path):
    """A database written before advice_marks: marks and notes sat on the items themselves."""
    path = tmp_path / "old.sqlite3"
    old = db.connect(path)
    _room(old, "r1", {"anna": "Anna", "bram": "Bram", "fleur": "Fleur"})
    store.ingest_utterances(old, "r1", ROUND, "nl")
    a, b, c = (i["id"] for i in store.list_items(old, "r1"))
    # As the code of then wrote them, for Bram, the inbrenger of then.
    old.execute("UPDATE rooms SET inbrenger_id = 'bram' WHERE id = 'r1'")
    old.execute("UPDATE advice_items SET mark = 'useful', note = 'Bellen voor vrijdag.' WHERE id = ?", (a,))
    old.execute("UPDATE advice_items SET mark = 'not_for_me' WHERE id = ?", (b,))
    old.execute("DELETE FROM advice_marks")
    # A file from before the migrations: the first revision adopts it and moves the marks.
    old.execute("DROP TABLE alembic_version")
    old.close()

    for _ in range(2):  # opened twice: the move happens once in effect
        conn = db.connect(path)
        mine = {i["id"]: (i["mark"], i["note"]) for i in store.list_items(conn, "r1", inbrenger_id="bram")}
        assert mine == {a: ("useful", "Bellen voor vrijdag."), b: ("not_for_me", ""), c: (None, "")}
        # Anna, made inbrenger later, sees none of Bram's; her first mark takes none of his over.
        assert all(i["mark"] is None and i["note"] == "" for i in store.list_items(conn, "r1", inbrenger_id="anna"))
        assert all(i["mark"] is None for i in store.list_items(conn, "r1", inbrenger_id=None))
        conn.close()
    conn = db.connect(path)
    store.set_mark(conn, "r1", c, "ask", "anna")
    assert [i["mark"] for i in store.list_items(conn, "r1", inbrenger_id="anna")] == [None, None, "ask"]
    assert [i["mark"] for i in store.list_items(conn, "r1", inbrenger_id="bram")] == ["useful", "not_for_me", None]
    # The old columns hold nothing any more, so no later code path can show them to anyone.
    assert conn.execute("SELECT COUNT(*) FROM advice_items WHERE mark IS NOT NULL OR note != ''").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM advice_marks WHERE inbrenger_id = 'bram'").fetchone()[0] == 2
    conn.close()


def test_delete_room_data_removes_rows_for_real(conn, tmp_path):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    store.ingest_utterances(conn, "r2", [Utterance("x1", "zoe", 0, 3, "Probeer het gewoon.")], "nl")
    item = store.list_items(conn, "r1")[0]
    store.edit_text(conn, "r1", item["id"], "Geheime aanpassing.", "fleur")
    store.set_overall_note(conn, "r1", "bram", "Mijn geheime notitie.")
    assert store.delete_room_data(conn, "r1") > 0
    for table in ("advice_items", "advice_utterances", "advice_edits", "advice_notes"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE room_id = 'r1'").fetchone()[0] == 0
    assert len(store.list_items(conn, "r2")) == 1
    if db.dialect(conn) != "sqlite":
        return  # PostgreSQL has no secure_delete (companion/retention.py says what happens instead)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (tmp_path / "companion.sqlite3").read_bytes()
    if conn.execute("PRAGMA secure_delete").fetchone()[0]:
        # With secure_delete (Debian's default build) the words are gone from the file too.
        assert b"Geheime aanpassing" not in raw and b"Mijn geheime" not in raw


def test_core_retention_also_removes_advice_rows(conn):
    store.ingest_utterances(conn, "r1", ROUND, "nl")
    store.set_overall_note(conn, "r1", "bram", "x")
    delete_room(conn, "r1")
    for table in ("advice_items", "advice_utterances", "advice_edits", "advice_notes"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE room_id = 'r1'").fetchone()[0] == 0


def test_utterances_arriving_out_of_time_order_land_in_time_order(conn):
    # Each speaker is transcribed on its own, so Carla's later words can come in first.
    store.ingest_utterances(conn, "r1", [Utterance("b1", "bram", 10.0, 14.0, "Zoek een maatje.")], "nl")
    store.ingest_utterances(conn, "r1", [Utterance("a1", "anna", 0.0, 5.0, "Probeer het gewoon.")], "nl")
    store.ingest_utterances(conn, "r1", [Utterance("a2", "anna", 5.3, 8.0, "Gewoon als experiment.")], "nl")
    store.ingest_utterances(conn, "r1", [Utterance("b2", "bram", 20.0, 24.0, "Neem vakantie.")], "nl")
    assert _texts(conn) == [
        "Probeer het gewoon. Gewoon als experiment.",
        "Zoek een maatje.",
        "Neem vakantie.",
    ]


def test_someone_else_speaking_in_between_stops_the_growth(conn):
    store.ingest_utterances(conn, "r1", [
        Utterance("1", "anna", 0.0, 4.0, "Probeer het gewoon."),
        Utterance("2", "bram", 4.2, 6.0, "Zoek een maatje."),
        Utterance("3", "anna", 6.2, 8.0, "Gewoon als experiment."),
    ], "nl")
    assert [i["speaker"] for i in store.list_items(conn, "r1")] == ["Anna", "Bram", "Anna"]


def test_a_hand_added_item_keeps_its_place_when_speech_goes_on(conn):
    store.ingest_utterances(conn, "r1", [Utterance("1", "anna", 0.0, 4.0, "Probeer het gewoon.")], "nl")
    added = store.add_item(conn, "r1", "Bel je huisarts.", "bram", "fleur")
    store.ingest_utterances(conn, "r1", [Utterance("2", "bram", 30.0, 34.0, "Neem vakantie.")], "nl")
    assert [i["id"] == added["id"] for i in store.list_items(conn, "r1")] == [False, True, False]


def test_a_bare_cue_in_its_own_utterance_takes_the_next_one(conn):
    store.ingest_utterances(conn, "r1", [
        Utterance("1", "anna", 0.0, 1.5, "Mijn advies."),
        Utterance("2", "anna", 1.8, 6.0, "Ga eerst een week bijhouden waar je tijd heen gaat."),
        Utterance("3", "anna", 6.5, 9.0, "Probeer daarna iets te schrappen."),
    ], "nl")
    assert _texts(conn) == [
        "Mijn advies. Ga eerst een week bijhouden waar je tijd heen gaat. Probeer daarna iets te schrappen.",
    ]


def test_a_bare_imperative_in_the_next_utterance_spells_out_a_proposal(conn):
    store.ingest_utterances(conn, "r1", [
        Utterance("1", "anna", 0.0, 4.0, "Ik zou het slachtoffer apart spreken."),
        Utterance("2", "anna", 4.4, 7.0, "Vraag wat zij wil dat er gebeurt."),
        Utterance("3", "anna", 7.4, 10.0, "Zoek ook steun bij de mentor."),
        Utterance("4", "bram", 11.0, 13.0, "Stop met overwerken."),
        Utterance("5", "bram", 13.3, 15.0, "Vraag om hulp."),
    ], "nl")
    assert _texts(conn) == [
        "Ik zou het slachtoffer apart spreken. Vraag wat zij wil dat er gebeurt.",
        "Zoek ook steun bij de mentor.",
        "Stop met overwerken.",
        "Vraag om hulp.",
    ]


def test_an_utterance_repeating_the_last_one_is_not_added_again(conn):
    store.ingest_utterances(conn, "r1", [
        Utterance("1", "anna", 0.0, 4.0, "Zoek een maatje in het team."),
        Utterance("2", "anna", 4.2, 8.0, "Zoek een maatje in het team."),
    ], "nl")
    assert _texts(conn) == ["Zoek een maatje in het team."]
