"""The phase engine driven through the real server: vote, whole methods, reconnect, restart."""

from __future__ import annotations

import asyncio

import pytest

from companion import db
from companion.methods import KINDS_NEEDING_INBRENGER, SHIPPED_METHODS, load_catalog

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

CATALOG = load_catalog([SHIPPED_METHODS])


async def _group(harness, method="roddelmodel", names=("Anne", "Bas", "Chris", "Dewi")):
    facilitator, invite, _ = await harness.create_room(method=method)
    people = [await harness.join(invite, name) for name in names]
    return facilitator, people


async def _pick_case(facilitator, people, winner_index=1):
    """Everyone brings a case; the group votes for people[winner_index]'s case."""
    for person in people:
        await person.ok("case.submit", title=f"Casus van {person.id}", question=f"Hoe ga ik om met situatie {person.id}?")
    state = await facilitator.state()
    case_of = {c["author_id"]: c["id"] for c in state["cases"]}
    if not state["step"]["has_vote"]:
        await facilitator.ok("step.next")
    target = case_of[people[winner_index].id]
    for person in people:
        await person.ok("vote.cast", case_id=target)
    return case_of


async def test_vote_winner_becomes_inbrenger_with_their_question(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    await _pick_case(facilitator, people, winner_index=2)
    # Votes are secret until closed, for everyone but the facilitator.
    assert all(c["votes"] is None for c in (await people[0].state())["cases"])
    assert sum(c["votes"] for c in (await facilitator.state())["cases"]) == 4
    state = await facilitator.ok("vote.close")
    assert state["inbrenger"]["id"] == people[2].id
    assert state["question"]["original"] == f"Hoe ga ik om met situatie {people[2].id}?"
    assert (await people[2].state())["you"]["role"] == "inbrenger"
    status, body = await people[0].command("vote.cast", case_id=state["cases"][0]["id"])
    assert status == 409 and body["error"]["code"] == "vote_closed"


async def test_vote_is_changeable_and_a_tie_is_decided_by_the_facilitator(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    case_of = await _pick_case(facilitator, people, winner_index=0)
    # Two change their vote: 2 - 2.
    await people[0].ok("vote.cast", case_id=case_of[people[1].id])
    await people[1].ok("vote.cast", case_id=case_of[people[1].id])
    state = await facilitator.ok("vote.close")
    assert state["inbrenger"] is None
    assert sorted(state["vote"]["tie"]) == sorted([case_of[people[0].id], case_of[people[1].id]])
    status, body = await facilitator.command("step.next")
    assert status == 409 and body["error"]["code"] == "no_inbrenger"
    status, _ = await facilitator.command("vote.decide", case_id=case_of[people[3].id])
    assert status == 400  # not one of the tied cases
    status, _ = await people[0].command("vote.decide", case_id=case_of[people[1].id])
    assert status == 403
    state = await facilitator.ok("vote.decide", case_id=case_of[people[1].id])
    assert state["inbrenger"]["id"] == people[1].id
    await facilitator.ok("step.next")


async def test_leaving_the_vote_with_a_clear_winner_settles_it(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    await _pick_case(facilitator, people, winner_index=3)
    state = await facilitator.ok("step.next")
    assert state["inbrenger"]["id"] == people[3].id
    assert state["vote"]["closed"] is True


@pytest.mark.parametrize("method_id", ["basismodel", "roddelmodel"])
async def test_full_walk_through_a_shipped_method(harness, method_id):
    method = CATALOG.get(method_id)
    assert method is not None, CATALOG.errors
    # A room on its own has no meeting before it: the method's follow-up step is left out.
    method = method.without_followup()
    facilitator, people = await _group(harness, method=method_id)
    for person in [facilitator, *people]:
        await person.connect()
    state = await facilitator.ok("session.start")
    seen = [state["step"]["index"]]
    await _pick_case(facilitator, people, winner_index=1)
    inbrenger = people[1]
    while True:
        state = await facilitator.state()
        step = state["step"]
        if step["index"] != seen[-1]:
            seen.append(step["index"])
        # Everyone sees the same step, each with the text for their role.
        for person in [facilitator, *people]:
            s = await person.wait_state(lambda s: s["step"] and s["step"]["id"] == step["id"])
            assert s["step"]["text"]["nl"] and s["step"]["text"]["en"]
            assert "{{" not in s["step"]["text"]["nl"]
            assert s["timer"]["planned"] == step["minutes"] * 60
        if step["kind"] in KINDS_NEEDING_INBRENGER:
            assert state["inbrenger"]["id"] == inbrenger.id
            text = (await inbrenger.state())["step"]["text"]["nl"]
            assert text != (await people[0].state())["step"]["text"]["nl"] or step["kind"] == "free"
        if step["kind"] == "questions":
            assert len((await people[0].state())["golden_questions"]["nl"]["questions"]) == 6
        if step["kind"] == "roddelfase":
            mine = await inbrenger.state()
            assert mine["step"]["out_of_sight"] is True
            assert all(p["hidden"] for p in mine["participants"] if p["id"] != inbrenger.id)
            theirs = await people[0].state()
            assert [p["hidden"] for p in theirs["participants"] if p["id"] == inbrenger.id] == [True]
        if step["kind"] == "reformulate":
            await inbrenger.ok("question.reformulate", text="Hoe houd ik mijn grens vast zonder het contact te verliezen?")
        if step["kind"] == "evaluation":
            await people[0].ok("takeaway.save", text="Eerst vragen, dan pas denken.", shared=True)
            await people[2].ok("takeaway.save", text="Privé notitie", shared=False)
        status, body = await facilitator.command("step.next")
        if status == 409 and body["error"]["code"] == "last_step":
            break
        assert status == 200, body
    assert seen == list(range(len(method.steps)))
    state = await facilitator.ok("session.end")
    assert state["room"]["status"] == "ended"
    assert state["takeaways"]["shared"] == [{"name": "Anne", "text": "Eerst vragen, dan pas denken."}]
    if method_id == "roddelmodel":
        assert state["question"]["reformulated"].startswith("Hoe houd ik")
        assert state["question"]["original"] != state["question"]["reformulated"]
    private = await people[2].state()
    assert private["takeaways"]["mine"] == {"text": "Privé notitie", "shared": False}
    status, _ = await facilitator.command("step.next")
    assert status == 409


async def test_timer_pause_resume_add_and_overtime_signal(harness):
    facilitator, people = await _group(harness)
    await people[0].connect()
    await facilitator.ok("session.start")
    state = await facilitator.ok("timer.pause")
    assert state["timer"]["running"] is False
    frozen = state["timer"]["elapsed"]
    await asyncio.sleep(0.3)
    assert (await facilitator.state())["timer"]["elapsed"] == pytest.approx(frozen, abs=0.01)
    state = await facilitator.ok("timer.resume")
    assert state["timer"]["running"] is True
    planned = state["timer"]["planned"]
    state = await facilitator.ok("timer.add", minutes=5)
    assert state["timer"]["planned"] == planned + 300
    status, _ = await facilitator.command("timer.add", minutes="veel")
    assert status == 400
    # Take (almost) all time off: the step runs over and everyone is told once.
    state = await facilitator.ok("timer.add", minutes=-60)
    assert state["timer"]["planned"] == 60
    engine_room = harness.server.app[__import__("companion.web", fromlist=["ENGINE"]).ENGINE].rooms[facilitator.room_id]
    engine_room.timer.started_at -= 61  # a minute passes
    await facilitator.ok("timer.pause")
    await facilitator.ok("timer.resume")
    s = await people[0].wait_state(lambda s: "step.overtime" in s.get("events", []))
    assert s["timer"]["overtime"] is True


async def test_reconnect_keeps_identity_role_and_step(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    await _pick_case(facilitator, people, winner_index=0)
    await facilitator.ok("step.next")
    inbrenger = people[0]
    await inbrenger.connect()
    first = inbrenger.states[-1]
    assert first["you"]["role"] == "inbrenger"
    await inbrenger.close()
    others = await people[1].state()
    assert [p["online"] for p in others["participants"] if p["id"] == inbrenger.id] == [False]
    inbrenger.states.clear()
    await inbrenger.connect()
    back = inbrenger.states[-1]
    assert back["you"] == first["you"]
    assert back["step"]["id"] == first["step"]["id"]
    assert back["timer"]["elapsed"] >= first["timer"]["elapsed"]


async def test_server_restart_mid_session_keeps_everything(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    await _pick_case(facilitator, people, winner_index=2)
    await facilitator.ok("step.next")
    await facilitator.ok("step.next")
    await facilitator.ok("timer.add", minutes=3)
    before = await people[2].state()
    await harness.restart()
    after = await people[2].state()
    for key in ("room", "you", "inbrenger", "question", "cases", "vote"):
        assert after[key] == before[key], key
    assert after["step"]["id"] == before["step"]["id"]
    assert after["timer"]["planned"] == before["timer"]["planned"]
    assert after["timer"]["elapsed"] >= before["timer"]["elapsed"]
    await people[2].connect()  # the WebSocket works again with the same token
    await facilitator.ok("step.next")
    await people[2].wait_state(lambda s: s["step"]["index"] == before["step"]["index"] + 1)


async def test_every_change_is_on_disk_before_it_is_broadcast(harness):
    facilitator, people = await _group(harness)
    await people[0].connect()
    await facilitator.ok("session.start")
    s = await people[0].wait_state(lambda s: s["room"]["status"] == "running")
    conn = db.connect(harness.settings().database_target)  # another connection, as another process has
    row = conn.execute("SELECT status, step_index, rev FROM rooms WHERE id = ?", (facilitator.room_id,)).fetchone()
    assert tuple(row) == ("running", 0, s["rev"])
    if db.dialect(conn) == "sqlite":
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_websocket_garbage_gets_errors_and_the_room_goes_on(harness):
    facilitator, people = await _group(harness)
    anne = people[0]
    await anne.connect()
    await facilitator.connect()
    ws = anne.ws
    await ws.send_str("{not json")
    await ws.send_bytes(b"\x00\x01")
    await ws.send_str("[1,2,3]")
    await ws.send_str('{"type": "launch.missiles"}')
    await asyncio.sleep(0.3)
    errors = [m for m in anne.messages if m["type"] == "error"]
    assert [e["status"] for e in errors] == [400, 400, 400, 400]
    reply = await anne.send({"type": "command", "command": "session.start"})
    assert reply["type"] == "error" and reply["status"] == 403
    reply = await anne.send({"type": "command", "command": "case.submit", "args": {"title": "x" * 5000, "question": "q"}})
    assert reply["status"] in (409, 413)
    reply = await facilitator.send({"type": "command", "command": "session.start", "args": []})
    assert reply["status"] == 400
    reply = await facilitator.send({"type": "command", "command": "session.start"})
    assert reply["ok"] is True
    reply = await anne.send({"type": "command", "command": "case.submit", "args": {"title": "x" * 5000, "question": "q"}})
    assert reply["status"] == 413
    await anne.wait_state(lambda s: s["room"]["status"] == "running")
    # A frame over the limit closes only that socket.
    await anne.ws.send_str("x" * (300 * 1024))
    await asyncio.sleep(0.3)
    assert anne.ws.closed
    reply = await facilitator.send({"type": "ping"})
    assert reply["type"] == "pong"


async def test_a_flooding_page_is_slowed_down_not_disconnected(harness):
    facilitator, people = await _group(harness)
    anne = people[0]
    await anne.connect()
    for i in range(150):
        await anne.ws.send_json({"type": "ping", "id": f"f{i}"})
    await asyncio.sleep(0.5)
    limited = [m for m in anne.messages if m["type"] == "error" and m["status"] == 429]
    pongs = [m for m in anne.messages if m["type"] == "pong"]
    assert limited and len(pongs) >= 60
    await asyncio.sleep(0.2)
    reply = await anne.send({"type": "ping"})
    assert reply["type"] == "pong"


async def test_an_appointed_inbrenger_who_writes_a_case_later_brings_that_question(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("inbrenger.set", participant_id=people[0].id)
    status, body = await facilitator.command("inbrenger.set", participant_id=facilitator.id)
    assert status == 409
    await facilitator.ok("session.start")
    state = await people[0].ok("case.submit", title="Overleg", question="Hoe krijg ik ruimte in het overleg?")
    assert state["you"]["role"] == "inbrenger"
    assert state["question"]["original"] == "Hoe krijg ik ruimte in het overleg?"


async def test_transcription_status_is_for_facilitator_and_inbrenger_only(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("inbrenger.set", participant_id=people[0].id)
    # This harness runs without a speech model: the facilitator is told, so advice goes in by hand.
    assert (await facilitator.state())["transcription"] == {"available": False, "error": None}
    assert (await people[0].state())["transcription"]["available"] is False
    assert "transcription" not in await people[1].state()


@pytest.mark.parametrize("method", ["roddelmodel", "basismodel"])
async def test_advice_round_texts_promise_no_transcription_on_a_server_without_it(harness, method):
    facilitator, people = await _group(harness, method=method)
    await facilitator.ok("inbrenger.set", participant_id=people[0].id)
    await facilitator.ok("session.start")
    kinds = [s["kind"] for s in (await facilitator.state())["room"]["method"]["steps"]]
    await facilitator.ok("step.goto", index=kinds.index("advice"))
    texts = {p.id: (await p.state())["step"]["text"] for p in (facilitator, people[0], people[1])}
    for pid, text in texts.items():
        assert "uitgeschreven" not in text["nl"] and "transcribed" not in text["en"], (pid, text)
    assert "typ elk advies bovenaan de lijst" in texts[facilitator.id]["nl"]
    assert "type each piece of advice at the top of the list" in texts[facilitator.id]["en"]
    assert "de begeleider zet de adviezen" in texts[people[0].id]["nl"]
    assert "De begeleider zet elk advies met jouw naam in de lijst." in texts[people[1].id]["nl"]
