"""The advice list through the real server: roles, corrections, marks, downloads, live items, deletion."""

from __future__ import annotations

import asyncio
import threading

import pytest
from companion import db
from companion import web_advice as api
from companion.web import LIVE
from conftest import Harness


@pytest.fixture(params=["sqlite", "postgresql"])
async def room(request, tmp_path):
    database = request.getfixturevalue("pg_cluster").new_database(migrated=True) if request.param == "postgresql" else None
    h = Harness(tmp_path / "data", database)  # create_app registers the advice list itself
    await h.start()
    h.app = h.server.app
    fac, invite, _ = await h.create_room(method="basismodel")
    anna = await h.join(invite, "Anna")
    bram = await h.join(invite, "Bram")
    carla = await h.join(invite, "Carla")
    await fac.ok("inbrenger.set", participant_id=bram.id)
    try:
        yield h, fac, anna, bram, carla
    finally:
        await h.close()


def utterances(anna, carla):
    return [
        {"id": "u1", "participant_id": anna.id, "start": 0.0, "end": 8.0,
         "text": "Eh, ik zou eerst met je baas praten, en daarnaast zou je ook een coach zoeken."},
        {"id": "u2", "participant_id": carla.id, "start": 9.0, "end": 14.0,
         "text": "Wat als je het team erbij betrekt? Dan ligt het niet alleen bij jou."},
    ]


async def call(h, person, method, path, json=None, expect=200):
    if json is None and method in ("POST", "PUT", "PATCH"):
        json = {}  # changes take JSON only, as the page sends them
    async with h.http.request(method, h.url(f"/api/rooms/{person.room_id}/advice{path}"), json=json,
                              headers=person.headers) as r:
        body = await (r.json() if r.content_type == "application/json" else r.text())
        assert r.status == expect, (method, path, r.status, body)
        return body


async def test_items_arrive_live_over_the_websocket_for_each_role(room):
    h, fac, anna, bram, carla = room
    for person in (fac, anna, bram):
        await person.connect()
    await api.ingest(h.app, fac.room_id, utterances(anna, carla)[:1])
    state = await bram.wait_state(lambda s: "advice" in s.get("events", []) and s["advice"]["items"])
    assert [i["text"] for i in state["advice"]["items"]] == [
        "Ik zou eerst met je baas praten.", "Daarnaast zou je ook een coach zoeken."]
    assert [i["speaker"] for i in state["advice"]["items"]] == ["Anna", "Anna"]
    assert state["advice"]["can_mark"] and not state["advice"]["can_edit"]

    # Through the app's own wiring, from another thread, as the transcription service calls it.
    utt = {"room_id": fac.room_id, **utterances(anna, carla)[1]}
    threading.Thread(target=h.app[LIVE].on_utterance, args=(utt,)).start()
    state = await anna.wait_state(lambda s: len(s.get("advice", {}).get("items", [])) == 3)
    assert state["advice"]["items"][2]["speaker"] == "Carla"
    assert "mark" not in state["advice"]["items"][0] and "note" not in state["advice"]
    assert not state["advice"]["can_edit"] and not state["advice"]["can_download"]
    fac_state = await fac.wait_state(lambda s: len(s.get("advice", {}).get("items", [])) == 3)
    assert fac_state["advice"]["items"][0]["original"] == "Ik zou eerst met je baas praten."
    assert fac_state["advice"]["can_edit"]
    revs = [s["rev"] for s in fac.states]
    assert revs == sorted(revs) and len(set(revs[-2:])) == 2
    # The same utterance again (a replay) makes nothing new.
    assert await api.ingest(h.app, fac.room_id, utterances(anna, carla)) == []
    # Words from a step that is not an advice step never become advice.
    steps = {s["kind"]: s["id"] for s in fac_state["room"]["method"]["steps"]}
    other = {"id": "q1", "participant_id": anna.id, "start": 40, "end": 44, "text": "Ik zou het anders doen.",
             "step_id": steps["questions"]}
    assert await api.ingest(h.app, fac.room_id, [other]) == []
    advice = dict(other, id="q2", step_id=steps["advice"], text="Probeer het eens.")
    assert len(await api.ingest(h.app, fac.room_id, [advice])) == 1


async def test_facilitator_corrects_and_others_cannot(room):
    h, fac, anna, bram, carla = room
    await api.ingest(h.app, fac.room_id, utterances(anna, carla))
    items = (await call(h, fac, "GET", ""))["items"]
    a, b, c = (i["id"] for i in items)

    for person in (anna, bram, carla):
        await call(h, person, "PATCH", f"/{a}", {"text": "Gekaapt"}, expect=403)
        await call(h, person, "POST", "/merge", {"first": a, "second": b}, expect=403)
        await call(h, person, "POST", f"/{a}/split", {"at": 5}, expect=403)
        await call(h, person, "DELETE", f"/{a}", expect=403)
        await call(h, person, "POST", "", {"text": "Nep"}, expect=403)
        await call(h, person, "POST", f"/{a}/move", {"index": 2}, expect=403)
        await call(h, person, "GET", f"/{a}/history", expect=403)

    edited = await call(h, fac, "PATCH", f"/{a}", {"text": "Praat met je leidinggevende.", "participant_id": carla.id})
    assert edited["item"]["text"] == "Praat met je leidinggevende." and edited["item"]["speaker"] == "Carla"
    assert edited["item"]["original"] == "Ik zou eerst met je baas praten."
    await call(h, fac, "PATCH", f"/{a}", {"participant_id": "ghost"}, expect=404)
    await call(h, fac, "PATCH", f"/{a}", {}, expect=400)
    await call(h, fac, "PATCH", "/nope", {"text": "x"}, expect=404)

    merged = await call(h, fac, "POST", "/merge", {"first": a, "second": b})
    assert merged["item"]["text"].endswith("coach zoeken.")
    split = await call(h, fac, "POST", f"/{a}/split", {"at": len("Praat met je leidinggevende.")})
    new_id = split["items"][1]["id"]
    assert split["items"][1]["text"] == "Daarnaast zou je ook een coach zoeken."
    await call(h, fac, "POST", f"/{a}/split", {"at": 0}, expect=400)
    added = await call(h, fac, "POST", "", {"text": "Neem vakantie.", "participant_id": anna.id, "after": a}, expect=201)
    await call(h, fac, "DELETE", f"/{c}")
    await call(h, fac, "DELETE", f"/{c}", expect=404)
    await call(h, fac, "POST", f"/{c}/restore")
    await call(h, fac, "POST", f"/{c}/move", {"index": 0})
    listed = (await call(h, anna, "GET", ""))["items"]
    assert [i["id"] for i in listed] == [c, a, added["item"]["id"], new_id]
    assert [i["number"] for i in listed] == [1, 2, 3, 4]
    history = await call(h, fac, "GET", f"/{a}/history")
    assert [e["action"] for e in history["history"]][:1] == ["create"]
    assert {"edit", "speaker", "merge", "split"} <= {e["action"] for e in history["history"]}
    assert "move" in [e["action"] for e in (await call(h, fac, "GET", f"/{c}/history"))["history"]]
    assert history["item"]["original"].startswith("Ik zou eerst")


async def test_only_the_inbrenger_marks_and_writes_notes(room):
    h, fac, anna, bram, carla = room
    await api.ingest(h.app, fac.room_id, utterances(anna, carla))
    a = (await call(h, bram, "GET", ""))["items"][0]["id"]
    for person in (fac, anna, carla):
        await call(h, person, "PUT", f"/{a}/mark", {"mark": "useful"}, expect=403)
        await call(h, person, "PUT", f"/{a}/note", {"note": "x"}, expect=403)
        await call(h, person, "PUT", "/note", {"text": "x"}, expect=403)
    assert (await call(h, bram, "PUT", f"/{a}/mark", {"mark": "ask"}))["item"]["mark"] == "ask"
    await call(h, bram, "PUT", f"/{a}/mark", {"mark": "meh"}, expect=400)
    await call(h, bram, "PUT", f"/{a}/mark", {}, expect=400)
    await call(h, bram, "PUT", "/ghost/mark", {"mark": "ask"}, expect=404)
    await call(h, bram, "PUT", f"/{a}/note", {"note": "Vragen wat baas betekent."})
    await call(h, bram, "PUT", "/note", {"text": "Goede ronde."})
    await call(h, bram, "PUT", "/note", {"text": "x" * 5000}, expect=413)
    seen_by_fac = await call(h, fac, "GET", "")
    assert seen_by_fac["items"][0]["mark"] == "ask" and seen_by_fac["items"][0]["note"] == "Vragen wat baas betekent."
    assert seen_by_fac["note"] == "Goede ronde."
    seen_by_anna = await call(h, anna, "GET", "")
    assert "mark" not in seen_by_anna["items"][0] and "note" not in seen_by_anna

    # A new inbrenger starts with no marks and notes and never sees Bram's; Bram's come back with him.
    await fac.ok("inbrenger.set", participant_id=anna.id)
    seen_by_anna = await call(h, anna, "GET", "")
    assert seen_by_anna["items"][0]["mark"] is None and seen_by_anna["items"][0]["note"] == ""
    assert seen_by_anna["note"] == ""
    await call(h, anna, "PUT", f"/{a}/mark", {"mark": "not_for_me"})
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice/export.md"), headers=anna.headers) as r:
        assert "Vragen wat baas betekent." not in await r.text()
    await fac.ok("inbrenger.set", participant_id=bram.id)
    again = await call(h, bram, "GET", "")
    assert again["items"][0]["mark"] == "ask" and again["items"][0]["note"] == "Vragen wat baas betekent."


async def test_marks_and_notes_wait_until_the_advice_round_is_over(room):
    """The method: during the advice round the inbrenger listens without reacting; marks and notes come after."""
    h, fac, anna, bram, carla = room
    await api.ingest(h.app, fac.room_id, utterances(anna, carla))
    a = (await call(h, bram, "GET", ""))["items"][0]["id"]
    steps = [s["kind"] for s in (await fac.state())["room"]["method"]["steps"]]
    await fac.ok("session.start")
    await fac.ok("step.goto", index=steps.index("advice"))
    assert (await call(h, bram, "GET", ""))["marks_open"] is False
    for path, body in ((f"/{a}/mark", {"mark": "useful"}), (f"/{a}/note", {"note": "x"}), ("/note", {"text": "x"})):
        refused = (await call(h, bram, "PUT", path, body, expect=409))["error"]
        assert refused["code"] == "advice_round", refused
        assert refused["message"].startswith("Tijdens de adviesronde luister je alleen."), refused
        assert refused["message_en"].startswith("During the advice round you only listen."), refused
    # Others are still told it is not theirs to do, whatever the step.
    await call(h, anna, "PUT", f"/{a}/mark", {"mark": "useful"}, expect=403)
    # Nothing was stored, and the facilitator still corrects the list during the round.
    seen = await call(h, fac, "GET", "")
    assert seen["items"][0]["mark"] is None and seen["items"][0]["note"] == "" and seen["note"] == ""
    await call(h, fac, "PATCH", f"/{a}", {"text": "Praat met je baas."})
    # The step after the round: marks and notes are taken.
    await fac.ok("step.goto", index=steps.index("advice") + 1)
    assert (await call(h, bram, "GET", ""))["marks_open"] is True
    assert (await call(h, bram, "PUT", f"/{a}/mark", {"mark": "useful"}))["item"]["mark"] == "useful"
    await call(h, bram, "PUT", f"/{a}/note", {"note": "Morgen doen."})
    await call(h, bram, "PUT", "/note", {"text": "Veel gehad aan deze ronde."})
    # After the end as well (the inbrenger finishes the list at home).
    await fac.ok("session.end")
    await call(h, bram, "PUT", f"/{a}/mark", {"mark": "ask"})


async def test_download_markdown_and_html_only_for_inbrenger_and_facilitator(room):
    h, fac, anna, bram, carla = room
    await api.ingest(h.app, fac.room_id, utterances(anna, carla))
    a = (await call(h, bram, "GET", ""))["items"][0]["id"]
    await call(h, bram, "PUT", f"/{a}/mark", {"mark": "useful"})
    await call(h, fac, "PATCH", f"/{a}", {"text": "Praat met <je> baas."})
    await fac.ok("session.start")
    await anna.ok("takeaway.save", text="Doorvragen helpt.", shared=True)
    await carla.ok("takeaway.save", text="Privé leerpunt.", shared=False)
    for person in (anna, carla):
        await call(h, person, "GET", "/export.md", expect=403)
        await call(h, person, "GET", "/export.html", expect=403)
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice/export.md"), headers=bram.headers) as r:
        assert r.status == 200 and r.headers["Content-Disposition"].startswith("attachment;")
        assert r.headers["Cache-Control"] == "no-store"
        md = await r.text()
    assert "# Adviezen: Team Noord" in md and "Basismodel" in md
    assert "1. **Anna**: Praat met \\<je\\> baas." in md and "Oordeel: bruikbaar" in md
    assert "Zoals gezegd: Ik zou eerst met je baas praten." in md
    assert "**Carla**" in md and "Doorvragen helpt." in md and "Privé leerpunt." not in md
    assert "- **Inbrenger:** Bram" in md
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice/export.html?lang=en"), headers=fac.headers) as r:
        assert r.status == 200 and r.content_type == "text/html"
        assert r.headers["Content-Disposition"].startswith("inline;")
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        page = await r.text()
    assert "Praat met &lt;je&gt; baas." in page and "<je>" not in page and "The advice" in page
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice/export.pdf"), headers=fac.headers) as r:
        assert r.status in (404, 405)  # no such format


async def test_outsiders_are_refused(room):
    h, fac, anna, bram, carla = room
    other_fac, _, _ = await h.create_room()
    await call(h, other_fac, "GET", "", expect=200)  # their own room: empty
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice"), headers=other_fac.headers) as r:
        assert r.status == 403
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice")) as r:
        assert r.status == 401
    async with h.http.post(h.url(f"/api/rooms/{fac.room_id}/advice"), data=b"{nope",
                           headers={**fac.headers, "Content-Type": "application/json"}) as r:
        assert r.status == 400


async def test_delete_now_removes_the_rows(room):
    h, fac, anna, bram, carla = room
    await api.ingest(h.app, fac.room_id, utterances(anna, carla))
    await call(h, anna, "DELETE", "", expect=403)
    assert (await call(h, bram, "DELETE", ""))["rows"] > 0
    assert (await call(h, fac, "GET", ""))["items"] == []

    await api.ingest(h.app, fac.room_id, [{"id": "u9", "participant_id": anna.id, "start": 20, "end": 22, "text": "Probeer het."}])
    confirm = {"confirm": True}
    async with h.http.post(h.url(f"/api/rooms/{fac.room_id}/delete-now"), json=confirm, headers=fac.headers) as r:
        assert r.status == 409  # the session still runs
    async with h.http.post(h.url(f"/api/rooms/{fac.room_id}/delete-now"), json=confirm, headers=anna.headers) as r:
        assert r.status == 403
    await fac.ok("session.end")
    await anna.connect()
    async with h.http.post(h.url(f"/api/rooms/{fac.room_id}/delete-now"), json=confirm, headers=bram.headers) as r:
        assert r.status == 200
    await asyncio.sleep(0.2)
    assert anna.ws.closed and anna.ws.close_code == 4404  # open pages learn the room is gone
    conn = db.connect(h.settings().database_target)
    for table in ("rooms", "participants", "advice_items", "advice_utterances", "advice_edits", "advice_notes", "takeaways"):
        column = "id" if table == "rooms" else "room_id"
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (fac.room_id,)).fetchone()[0] == 0, table
    conn.close()
    async with h.http.get(h.url(f"/api/rooms/{fac.room_id}/advice"), headers=fac.headers) as r:
        assert r.status in (403, 404)
    assert await api.ingest(h.app, fac.room_id, [{"id": "u10", "participant_id": anna.id, "start": 30, "end": 31, "text": "Nog een."}]) == []
