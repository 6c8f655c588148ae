"""Set-aside speech: kept with its reason, shown to facilitator and inbrenger, restorable, deleted with the room."""

from __future__ import annotations

import time

import pytest
from companion import db
from companion.advice import aside, splitter, store
from companion.retention import delete_room
from conftest import Harness


def _room(conn, room_id: str, people: dict[str, str], language: str = "nl") -> None:
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
           VALUES (?, 'Team Zuid', 'basismodel', '', ?, 8, ?, ?)""",
        (room_id, language, f"hash-{room_id}", time.time()),
    )
    for pid, name in people.items():
        conn.execute(
            "INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES (?, ?, ?, 'deelnemer', ?, ?)",
            (pid, room_id, name, f"tok-{room_id}-{pid}", time.time()),
        )


@pytest.fixture
def conn(database):
    c = db.connect(database)
    _room(c, "r1", {"anna": "Anna", "bram": "Bram"})
    _room(c, "r2", {"zoe": "Zoë"})
    yield c
    c.close()


def _utt(uid, who, start, end, text, **extra):
    return {"id": uid, "participant_id": who, "start": start, "end": end, "text": text, **extra}


def _asides(conn, room="r1"):
    return [(a["reason"], a["text"]) for a in aside.list_set_aside(conn, room)]


def test_the_table_comes_with_the_core_connect(conn):
    for table in ("set_aside", "advice_item_languages"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0


@pytest.mark.parametrize(
    "text",
    ["Dank je, Bram.", "Ja, helemaal mee eens.", "Oké, wie is de volgende?", "Ja ja."],
)
def test_talk_around_the_advice_is_set_aside_not_dropped(conn, text):
    assert store.ingest_utterances(conn, "r1", [_utt("u1", "anna", 1.0, 2.0, text)], "nl") == []
    assert store.list_items(conn, "r1") == []
    assert _asides(conn) == [("no_advice", text)]
    entry = aside.list_set_aside(conn, "r1")[0]
    assert entry["speaker"] == "Anna" and entry["utterance_ids"] == ["u1"] and entry["start"] == 1.0


@pytest.mark.parametrize(
    "pieces",
    [
        [{"text": "Ondertiteling door TV Gelderland.", "reason": "phrase_list", "start": 3.0, "end": 4.0}],
        [{"text": "eh mm", "reason": "low_confidence", "start": 0.5, "end": 1.0},
         {"text": "Bedankt voor het kijken.", "reason": "silence", "start": 6.0, "end": 7.0}],
    ],
)
def test_what_the_speech_filters_kept_out_arrives_with_the_utterance(conn, pieces):
    utt = _utt("u1", "anna", 0.0, 8.0, "Ik zou eerst met je baas praten.", set_aside=pieces)
    made = store.ingest_utterances(conn, "r1", [utt], "nl")
    assert [i["text"] for i in made] == ["Ik zou eerst met je baas praten."]
    assert _asides(conn) == [(p["reason"], p["text"]) for p in pieces]
    # A replayed utterance keeps them once.
    store.ingest_utterances(conn, "r1", [utt], "nl")
    assert len(aside.list_set_aside(conn, "r1")) == len(pieces)


def test_an_utterance_whose_words_were_all_set_aside_keeps_them(conn):
    utt = _utt("u1", "bram", 0.0, 3.0, "", set_aside=[{"text": "Tot de volgende keer.", "reason": "phrase_list"}])
    assert store.ingest_utterances(conn, "r1", [utt], "nl") == []
    assert _asides(conn) == [("phrase_list", "Tot de volgende keer.")]
    # It is no "sentence left open" the next utterance would carry on.
    store.ingest_utterances(conn, "r1", [_utt("u2", "bram", 3.2, 6.0, "Zoek een maatje in het team.")], "nl")
    assert [i["text"] for i in store.list_items(conn, "r1")] == ["Zoek een maatje in het team."]


@pytest.mark.parametrize("second", ["Ik zou eerst met je baas praten.", "ik zou eerst met je baas praten", "Ik zou eerst, met je baas praten!"])
def test_words_written_twice_are_set_aside_as_repetition(conn, second):
    store.ingest_utterances(conn, "r1", [_utt("u1", "anna", 0.0, 3.0, "Ik zou eerst met je baas praten.")], "nl")
    store.ingest_utterances(conn, "r1", [_utt("u2", "anna", 3.1, 6.0, second)], "nl")
    assert len(store.list_items(conn, "r1")) == 1
    assert _asides(conn) == [("repetition", second)]


def test_items_the_splitter_marks_go_aside_with_its_reason(conn, monkeypatch):
    def marked(utterances, language=None, names=()):
        utt = splitter.as_utterance(list(utterances)[0])
        advice = splitter.AdviceItem(utt.speaker_id, utt.start, utt.start + 1, "Zoek een maatje.", [utt.id])
        remark = splitter.AdviceItem(utt.speaker_id, utt.start + 1, utt.end, "Ik heb eigenlijk geen advies.", [utt.id])
        remark.aside = "no_advice"  # the splitter's field (issue 10, part 4)
        return [remark, advice]

    monkeypatch.setattr(store, "split_round", marked)
    store.ingest_utterances(conn, "r1", [_utt("u1", "anna", 0.0, 4.0, "Ik heb eigenlijk geen advies. Zoek een maatje.")], "nl")
    assert [i["text"] for i in store.list_items(conn, "r1")] == ["Zoek een maatje."]
    assert _asides(conn) == [("no_advice", "Ik heb eigenlijk geen advies.")]


def test_restore_makes_a_normal_item_where_it_was_said_once(conn):
    store.ingest_utterances(
        conn, "r1",
        [_utt("u1", "anna", 0.0, 3.0, "Ik zou eerst met je baas praten."),
         _utt("u2", "bram", 4.0, 5.0, "Dank je, Anna."),
         _utt("u3", "anna", 9.0, 12.0, "Zoek een maatje in het team.")],
        "nl",
    )
    (entry,) = aside.list_set_aside(conn, "r1")
    item = store.restore_set_aside(conn, "r1", entry["id"], "fac")
    assert item["source"] == "restored" and item["participant_id"] == "bram" and item["text"] == "Dank je, Anna."
    assert [i["text"] for i in store.list_items(conn, "r1")] == [
        "Ik zou eerst met je baas praten.", "Dank je, Anna.", "Zoek een maatje in het team."]
    assert aside.list_set_aside(conn, "r1") == []
    assert aside.list_set_aside(conn, "r1", include_restored=True)[0]["restored_item"] == item["id"]
    assert [e["action"] for e in store.history(conn, "r1", item["id"])] == ["restore_aside"]
    with pytest.raises(Exception) as err:
        store.restore_set_aside(conn, "r1", entry["id"], "fac")
    assert getattr(err.value, "status", None) == 400
    with pytest.raises(Exception) as err:
        store.restore_set_aside(conn, "r2", entry["id"], "fac")  # another room's entry
    assert getattr(err.value, "status", None) == 404
    # The restored item is an item like any other: it can be edited, and it counts.
    assert store.edit_text(conn, "r1", item["id"], "Dank je wel, Anna.", "fac")["edited"]
    assert aside.counts(conn, "r1") == {"no_advice": 1}


def test_advice_in_another_language_is_split_by_its_own_rules_and_marked(conn):
    english = _utt("u1", "anna", 0.0, 5.0, "I would talk to your manager first. Also, find a buddy in the team.", language="en")
    made = store.ingest_utterances(conn, "r1", [english], "nl")
    assert [(i["text"], i["language"]) for i in made] == [
        ("I would talk to your manager first.", "en"), ("Also, find a buddy in the team.", "en")]
    dutch = _utt("u2", "bram", 6.0, 8.0, "Ik zou eerst met je baas praten.", language="nl")
    assert [i["language"] for i in store.ingest_utterances(conn, "r1", [dutch], "nl")] == [None]


@pytest.mark.parametrize(
    "text, language",
    [
        ("I think you should talk to her before the meeting tomorrow.", "en"),
        ("Maybe you can ask a colleague for help with the planning.", "en"),
        ("Plan een meeting met het team over de deadline.", None),  # Dutch with English loanwords
        ("Ok, thanks.", None),  # too few words to tell
    ],
)
def test_english_that_whisper_wrote_as_english_in_a_dutch_room_is_marked_by_its_words(conn, text, language):
    made = store.ingest_utterances(conn, "r1", [_utt("u1", "anna", 0.0, 4.0, text, language="nl")], "nl")
    assert [i["language"] for i in made] == ([language] if made else [])
    if language is None:
        assert all(a["language"] in ("nl", None) for a in aside.list_set_aside(conn, "r1"))


def test_deleting_the_advice_data_or_the_room_removes_set_aside_rows(conn):
    for room in ("r1", "r2"):
        who = "anna" if room == "r1" else "zoe"
        store.ingest_utterances(conn, room, [_utt(f"{room}-u1", who, 0.0, 1.0, "Dank je.",
                                                  set_aside=[{"text": "Muziek.", "reason": "phrase_list"}])], "nl")
    assert len(aside.list_set_aside(conn, "r1")) == 2
    assert store.delete_room_data(conn, "r1") >= 2
    assert aside.list_set_aside(conn, "r1") == [] and len(aside.list_set_aside(conn, "r2")) == 2
    delete_room(conn, "r2")
    assert conn.execute("SELECT COUNT(*) FROM set_aside").fetchone()[0] == 0


def test_an_unknown_reason_is_kept_as_other_and_empty_text_is_nothing(conn):
    assert aside.set_aside(conn, "r1", speaker_id="anna", text="  ", reason="silence", start=0.0) is None
    aside.set_aside(conn, "r1", speaker_id="anna", text="Iets.", reason="martian", start=0.0)
    assert _asides(conn) == [("other", "Iets.")]


# ------------------------------------------------------------------ through the server
@pytest.fixture
async def room(tmp_path):
    h = Harness(tmp_path / "data")
    await h.start()
    h.app = h.server.app
    fac, invite, _ = await h.create_room(method="basismodel")
    anna = await h.join(invite, "Anna")
    bram = await h.join(invite, "Bram")
    await fac.ok("inbrenger.set", participant_id=bram.id)
    try:
        yield h, fac, anna, bram
    finally:
        await h.close()


async def _call(h, person, method, path, json=None, expect=200):
    if json is None and method in ("POST", "PUT", "PATCH"):
        json = {}  # changes take JSON only, as the page sends them
    async with h.http.request(method, h.url(f"/api/rooms/{person.room_id}/advice{path}"), json=json,
                              headers=person.headers) as r:
        body = await (r.json() if r.content_type == "application/json" else r.text())
        assert r.status == expect, (method, path, r.status, body)
        return body


async def test_facilitator_and_inbrenger_see_it_live_and_only_the_facilitator_restores(room):
    from companion import web_advice as api

    h, fac, anna, bram = room
    for person in (fac, anna, bram):
        await person.connect()
    await api.ingest(h.app, fac.room_id, [
        _utt("u1", anna.id, 0.0, 3.0, "Dank je wel, Bram.",
             set_aside=[{"text": "Ondertiteling door TV Gelderland.", "reason": "phrase_list", "start": 3.0, "end": 4.0}]),
    ])
    state = await fac.wait_state(lambda s: len(s.get("advice", {}).get("set_aside", [])) == 2)
    reasons = {a["reason"]: a for a in state["advice"]["set_aside"]}
    assert set(reasons) == {"no_advice", "phrase_list"} and reasons["no_advice"]["speaker"] == "Anna"
    seen = await bram.wait_state(lambda s: len(s.get("advice", {}).get("set_aside", [])) == 2)
    assert seen["advice"]["items"] == []
    assert "set_aside" not in (await _call(h, anna, "GET", ""))
    target = reasons["no_advice"]["id"]
    for person in (anna, bram):
        await _call(h, person, "POST", f"/aside/{target}/restore", expect=403)
    await _call(h, fac, "POST", "/aside/nope/restore", expect=404)
    made = await _call(h, fac, "POST", f"/aside/{target}/restore", expect=201)
    assert made["item"]["text"] == "Dank je wel, Bram." and made["item"]["source"] == "restored"
    await _call(h, fac, "POST", f"/aside/{target}/restore", expect=400)
    state = await anna.wait_state(lambda s: len(s.get("advice", {}).get("items", [])) == 1)
    assert state["advice"]["items"][0]["speaker"] == "Anna"
    state = await bram.wait_state(lambda s: len(s.get("advice", {}).get("set_aside", [])) == 1)
    assert state["advice"]["set_aside"][0]["reason"] == "phrase_list"


# ------------------------------------------------------------------ a turn decoded again as one window
PIECES = [
    _utt("p1", "anna", 0.0, 2.0, "Ik zou eerst met je"),
    _utt("p2", "anna", 3.5, 6.0, "baas prate over de werk druk."),
]
TURN = _utt("t1", "anna", 0.0, 6.0, "Ik zou eerst met je baas praten over de werkdruk.", replaces=["p1", "p2"])


def _ingest_pieces(conn):
    store.ingest_utterances(conn, "r1", [_utt("b0", "bram", 10.0, 12.0, "Zoek een maatje in het team.")], "nl")
    for piece in PIECES:
        store.ingest_utterances(conn, "r1", [piece], "nl")


def test_the_turn_decoded_again_takes_the_place_of_its_pieces(conn):
    _ingest_pieces(conn)
    before = [i["text"] for i in store.list_items(conn, "r1")]
    assert "Ik zou eerst met je baas praten over de werkdruk." not in before
    store.ingest_utterances(conn, "r1", [TURN], "nl")
    assert [(i["text"], i["participant_id"]) for i in store.list_items(conn, "r1")] == [
        ("Ik zou eerst met je baas praten over de werkdruk.", "anna"), ("Zoek een maatje in het team.", "bram")]
    # A replay of the turn, or of a piece, changes nothing.
    store.ingest_utterances(conn, "r1", [TURN, PIECES[1]], "nl")
    assert len(store.list_items(conn, "r1")) == 2
    assert "redecoded" in {e["action"] for e in store.history(conn, "r1")}


def test_the_pieces_stay_when_someone_already_worked_on_their_item(conn):
    for touch in ("edit", "mark", "delete"):
        conn.execute("DELETE FROM advice_items")
        conn.execute("DELETE FROM advice_utterances")
        _ingest_pieces(conn)
        item = next(i for i in store.list_items(conn, "r1") if i["participant_id"] == "anna")
        if touch == "edit":
            store.edit_text(conn, "r1", item["id"], "Praat met je baas over de werkdruk.", "fac")
        elif touch == "mark":
            store.set_mark(conn, "r1", item["id"], "useful", "inb")
        else:
            store.delete_item(conn, "r1", item["id"], "fac")
        texts = [i["text"] for i in store.list_items(conn, "r1", include_deleted=True)]
        store.ingest_utterances(conn, "r1", [TURN], "nl")
        assert [i["text"] for i in store.list_items(conn, "r1", include_deleted=True)] == texts, touch


def test_a_turn_that_came_back_empty_leaves_the_pieces(conn):
    _ingest_pieces(conn)
    texts = [i["text"] for i in store.list_items(conn, "r1")]
    store.ingest_utterances(conn, "r1", [dict(TURN, text="", set_aside=[{"text": "Eh", "reason": "low_confidence"}])], "nl")
    assert [i["text"] for i in store.list_items(conn, "r1")] == texts
    assert all(a["text"] != "Eh" for a in aside.list_set_aside(conn, "r1"))


def test_the_pieces_set_aside_words_give_way_to_the_turns(conn):
    pieces = [_utt("q1", "anna", 0.0, 1.5, "Dank je."), _utt("q2", "anna", 3.0, 5.0, "Zoek een coach die je helpt.")]
    for piece in pieces:
        store.ingest_utterances(conn, "r1", [piece], "nl")
    assert [a["text"] for a in aside.list_set_aside(conn, "r1")] == ["Dank je."]
    turn = _utt("t2", "anna", 0.0, 5.0, "Dank je. Zoek een coach die je helpt.", replaces=["q1", "q2"])
    store.ingest_utterances(conn, "r1", [turn], "nl")
    assert [i["text"] for i in store.list_items(conn, "r1")] == ["Zoek een coach die je helpt."]
    assert [(a["text"], a["utterance_ids"]) for a in aside.list_set_aside(conn, "r1")] == [("Dank je.", ["t2"])]
