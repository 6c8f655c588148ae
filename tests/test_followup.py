"""Follow-up on advice through the real server: a group meets twice; the second meeting opens with the
follow-up step, where each inbrenger of the first meeting sees only their own list again."""

from __future__ import annotations

import json
import time

import pytest

from companion import followup, retention, tokens
from companion.db import Transaction
from companion.web import ENGINE
from conftest import Harness, Person

BOTH_DATABASES = True
MEMBERS = ("Anne", "Bas", "Cor", "Dewi")


# ------------------------------------------------------------ a group that meets twice
class Group:
    """A group of Fleur (begeleider) and four members, its meetings made as rows in the database."""

    def __init__(self, h: Harness):
        self.h = h
        self.conn = h.server.app[ENGINE].conn
        self.id = tokens.new_id()
        self.members: dict[str, str] = {}
        self.meetings: list[str] = []
        with Transaction(self.conn):
            self.conn.execute(
                "INSERT INTO groups (id, name, language, method_id, created_at) VALUES (?, 'Team Noord', 'nl', 'basismodel', ?)",
                (self.id, time.time()),
            )
            for name in ("Fleur", *MEMBERS):
                member_id = tokens.new_id()
                self.members[name] = member_id
                self.conn.execute(
                    "INSERT INTO members (id, group_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)",
                    (member_id, self.id, name, "begeleider" if name == "Fleur" else "deelnemer", time.time()),
                )

    def new_meeting(self) -> str:
        meeting_id = tokens.new_id()
        with Transaction(self.conn):
            self.conn.execute(
                "INSERT INTO meetings (id, group_id, number, method_id, created_at) VALUES (?, ?, ?, 'basismodel', ?)",
                (meeting_id, self.id, len(self.meetings) + 1, time.time()),
            )
        self.meetings.append(meeting_id)
        return meeting_id

    async def case_room(self, meeting_id: str, case_no: int, names=MEMBERS) -> tuple[Person, dict[str, Person]]:
        """A case room of the meeting with Fleur and the members named (all four unless told) in it."""
        fac, invite, _ = await self.h.create_room(method="basismodel")
        people = {name: await self.h.join(invite, name) for name in names}
        with Transaction(self.conn):
            # POST /api/rooms made it a one-off group's meeting: it becomes a case of this group's meeting instead.
            self.conn.execute(
                """INSERT INTO meeting_rooms (room_id, meeting_id, case_no) VALUES (?, ?, ?)
                   ON CONFLICT (room_id) DO UPDATE SET meeting_id = excluded.meeting_id, case_no = excluded.case_no,
                                                 followup = NULL""",
                (fac.room_id, meeting_id, case_no),
            )
            self.conn.execute("DELETE FROM groups WHERE id = ? AND one_off = 1", (fac.room_id,))
            for row in self.conn.execute("SELECT id, name FROM participants WHERE room_id = ?", (fac.room_id,)).fetchall():
                self.conn.execute("UPDATE participants SET member_id = ? WHERE id = ?", (self.members[row["name"]], row["id"]))
        # The room was loaded before it belonged to a meeting: load it as it is now.
        self.h.server.app[ENGINE].forget(fac.room_id)
        return fac, people


async def api(h: Harness, person: Person, method: str, path: str, body=None, expect: int = 200):
    if body is None and method in ("PUT", "POST"):
        body = {}
    async with h.http.request(method, h.url(f"/api/rooms/{person.room_id}{path}"), json=body, headers=person.headers) as r:
        data = await (r.json() if r.content_type == "application/json" else r.text())
        assert r.status == expect, (method, path, r.status, data)
        return data


async def advice_list(h: Harness, fac: Person, inbrenger: Person, advice: list[tuple[str, Person]], marks: dict[int, tuple]):
    """The case of ``inbrenger``: items added by the facilitator, then marked and noted by the inbrenger."""
    await fac.ok("inbrenger.set", participant_id=inbrenger.id)
    ids = []
    for text, speaker in advice:
        ids.append((await api(h, fac, "POST", "/advice", {"text": text, "participant_id": speaker.id}, expect=201))["item"]["id"])
    for index, (mark, note) in marks.items():
        await api(h, inbrenger, "PUT", f"/advice/{ids[index]}/mark", {"mark": mark})
        await api(h, inbrenger, "PUT", f"/advice/{ids[index]}/note", {"note": note})
    await api(h, inbrenger, "PUT", "/advice/note", {"text": f"Notitie van {inbrenger_name(inbrenger)}"})
    return ids


def inbrenger_name(person: Person) -> str:
    return person.h.server.app[ENGINE].get(person.room_id).participants[person.id].name


ANNE_ADVICE = ["Plan een gesprek met je teamleider.", "Schrijf op wat je wel en niet op je neemt.", "Vraag een collega om mee te lezen."]
BAS_ADVICE = ["Zeg vaker nee tegen extra diensten.", "Blokkeer elke vrijdag een uur voor jezelf."]


@pytest.fixture
async def two_meetings(harness):
    """Meeting 1 treats two cases (Anne's, then Bas's); meeting 2's first case room is made."""
    group = Group(harness)
    first = group.new_meeting()
    fac1, p1 = await group.case_room(first, 1)
    anne_items = await advice_list(
        harness, fac1, p1["Anne"], [(t, p) for t, p in zip(ANNE_ADVICE, (p1["Bas"], p1["Cor"], p1["Dewi"]))],
        {0: ("useful", "Eerst agenda maken."), 2: ("not_for_me", "")},
    )
    await fac1.ok("session.end")
    fac2, p2 = await group.case_room(first, 2)
    bas_items = await advice_list(
        harness, fac2, p2["Bas"], [(t, p) for t, p in zip(BAS_ADVICE, (p2["Anne"], p2["Dewi"]))], {1: ("ask", "Welk uur?")}
    )
    await fac2.ok("session.end")
    second = group.new_meeting()
    fac, people = await group.case_room(second, 1)
    return {
        "h": harness, "group": group, "fac": fac, "people": people, "old_rooms": (fac1.room_id, fac2.room_id),
        "anne_items": anne_items, "bas_items": bas_items,
    }


def shared_of(state: dict) -> list:
    return state["followup"]["shared"] if state.get("followup") else []


# ------------------------------------------------------------ tests
async def test_each_inbrenger_sees_only_their_own_list_in_the_follow_up(two_meetings):
    h, fac, people = two_meetings["h"], two_meetings["fac"], two_meetings["people"]
    anne_room, bas_room = two_meetings["old_rooms"]
    for person in (fac, *people.values()):
        await person.connect()
    waiting = await fac.state()
    assert [s["kind"] for s in waiting["room"]["method"]["steps"]][:2] == ["followup", "case_round"]
    assert "followup" not in waiting  # only while the step is on

    state = await fac.ok("session.start")
    assert state["step"]["kind"] == "followup" and state["step"]["index"] == 0

    anne = await people["Anne"].wait_state(lambda s: s.get("followup") is not None)
    (anne_list,) = anne["followup"]["lists"]
    assert anne_list["room_id"] == anne_room and anne_list["case_no"] == 1
    assert [i["text"] for i in anne_list["items"]] == ANNE_ADVICE
    assert [i["speaker"] for i in anne_list["items"]] == ["Bas", "Cor", "Dewi"]
    assert [(i["mark"], i["note"]) for i in anne_list["items"]] == [
        ("useful", "Eerst agenda maken."), (None, ""), ("not_for_me", "")]
    assert anne_list["note"] == "Notitie van Anne"
    assert [i["status"] for i in anne_list["items"]] == [None, None, None]
    assert anne["followup"]["can_update"] is True
    assert anne["followup"]["previous"]["number"] == 1
    assert anne["followup"]["previous"]["inbrengers"] == ["Anne", "Bas"]

    bas = await people["Bas"].wait_state(lambda s: s.get("followup") is not None)
    (bas_list,) = bas["followup"]["lists"]
    assert bas_list["room_id"] == bas_room and bas_list["case_no"] == 2
    assert [i["text"] for i in bas_list["items"]] == BAS_ADVICE
    assert [i["mark"] for i in bas_list["items"]] == [None, "ask"]

    for name in ("Cor", "Dewi"):
        theirs = await people[name].wait_state(lambda s: s.get("followup") is not None)
        assert theirs["followup"]["lists"] == [] and theirs["followup"]["can_update"] is False
    fac_state = await fac.wait_state(lambda s: s.get("followup") is not None)
    assert fac_state["followup"]["lists"] == [] and fac_state["followup"]["can_update"] is False

    # Nothing of one list reaches any other page: not its advice, not its notes.
    for name, person in (("Fleur", fac), *people.items()):
        seen = json.dumps([s for s in person.states] + [await person.state()], ensure_ascii=False)
        for owner, texts in (("Anne", ANNE_ADVICE + ["Eerst agenda maken.", "Notitie van Anne"]),
                             ("Bas", BAS_ADVICE + ["Welk uur?", "Notitie van Bas"])):
            if owner != name:
                assert not any(text in seen for text in texts), (name, owner)
        # Nor through the endpoint.
        view = await api(h, person, "GET", "/followup")
        assert len(view["lists"]) == (1 if name in ("Anne", "Bas") else 0)


async def test_statuses_persist_and_reach_the_members_later_view(two_meetings):
    h, fac, people = two_meetings["h"], two_meetings["fac"], two_meetings["people"]
    anne_room, bas_room = two_meetings["old_rooms"]
    a0, a1, a2 = two_meetings["anne_items"]
    anne, bas, cor = people["Anne"], people["Bas"], people["Cor"]
    await fac.ok("session.start")
    base = f"/followup/lists/{anne_room}/items"
    assert (await api(h, anne, "PUT", f"{base}/{a0}", {"status": "helped"}))["status"] == "helped"
    await api(h, anne, "PUT", f"{base}/{a1}", {"status": "tried"})
    await api(h, anne, "PUT", f"{base}/{a2}", {"status": "dropped"})
    await api(h, anne, "PUT", f"{base}/{a2}", {"status": "not_yet"})  # changed her mind
    await api(h, anne, "PUT", f"{base}/{a1}", {"status": None})  # and cleared one

    # Nobody else sets a status on her list, and a status is one of four.
    for person in (bas, cor, fac):
        await api(h, person, "PUT", f"{base}/{a0}", {"status": "dropped"}, expect=403)
    await api(h, bas, "PUT", f"/followup/lists/{bas_room}/items/{a0}", {"status": "tried"}, expect=404)  # not in his list
    await api(h, anne, "PUT", f"{base}/{a0}", {"status": "perfect"}, expect=400)
    await api(h, anne, "PUT", f"{base}/{a0}", {}, expect=400)
    await api(h, anne, "PUT", f"{base}/nope", {"status": "tried"}, expect=404)

    # After a restart of the server, in a new page.
    await h.restart()
    later = await anne.state()
    assert [i["status"] for i in later["followup"]["lists"][0]["items"]] == ["helped", None, "not_yet"]
    bas_view = (await bas.state())["followup"]
    assert [lst["room_id"] for lst in bas_view["lists"]] == [bas_room]
    assert [i["status"] for i in bas_view["lists"][0]["items"]] == [None, None]
    # Her own history reads them per old room.
    conn = h.server.app[ENGINE].conn
    member = two_meetings["group"].members["Anne"]
    assert followup.statuses_of_member(conn, member) == {anne_room: {a0: "helped", a2: "not_yet"}}
    # The step over, her later view in this room still holds them.
    await fac.ok("step.next")
    assert "followup" not in await anne.state()
    view = await api(h, anne, "GET", "/followup")
    assert [i["status"] for i in view["lists"][0]["items"]] == ["helped", None, "not_yet"]


async def test_a_shared_update_reaches_the_others_and_an_unshared_one_nobody(two_meetings):
    h, fac, people = two_meetings["h"], two_meetings["fac"], two_meetings["people"]
    anne, bas, cor = people["Anne"], people["Bas"], people["Cor"]
    for person in (fac, anne, bas, cor):
        await person.connect()
    await fac.ok("session.start")
    shared_text = "Het gesprek met mijn teamleider hielp: ik zeg nu vaker nee."
    private_text = "Nog niets gedaan, eerlijk gezegd."
    assert (await api(h, anne, "PUT", "/followup/update", {"text": shared_text, "shared": True}))["update"] == {
        "text": shared_text, "shared": True}
    await api(h, bas, "PUT", "/followup/update", {"text": private_text, "shared": False})
    # Who had no case last time has no update to give.
    await api(h, cor, "PUT", "/followup/update", {"text": "Ik ook!", "shared": True}, expect=403)
    await api(h, fac, "PUT", "/followup/update", {"text": "Ik ook!", "shared": True}, expect=403)
    await api(h, anne, "PUT", "/followup/update", {"text": "x", "shared": "ja"}, expect=400)
    await api(h, anne, "PUT", "/followup/update", {"text": "x" * 2001, "shared": True}, expect=413)

    expected = [{"member_id": two_meetings["group"].members["Anne"], "name": "Anne", "text": shared_text}]
    for person in (cor, fac, bas):
        state = await person.wait_state(lambda s: "followup" in s.get("events", []) and shared_of(s) == expected)
        assert private_text not in json.dumps(state, ensure_ascii=False) or person is bas
    assert (await bas.state())["followup"]["mine"] == {"text": private_text, "shared": False}
    assert (await anne.state())["followup"]["mine"] == {"text": shared_text, "shared": True}
    for person in (anne, cor, fac):
        assert private_text not in json.dumps(person.states + [await person.state()], ensure_ascii=False)

    # Sharing later shows it; taking it back hides it again; an empty text withdraws it.
    cor.states.clear()  # from here on, only states pushed after each change count
    await api(h, bas, "PUT", "/followup/update", {"text": private_text, "shared": True})
    state = await cor.wait_state(lambda s: len(shared_of(s)) == 2)
    assert [u["name"] for u in state["followup"]["shared"]] == ["Anne", "Bas"]
    cor.states.clear()
    await api(h, anne, "PUT", "/followup/update", {"text": shared_text, "shared": False})
    state = await cor.wait_state(lambda s: [u["name"] for u in shared_of(s)] == ["Bas"])
    cor.states.clear()
    assert (await api(h, bas, "PUT", "/followup/update", {"text": "  ", "shared": True}))["update"] is None
    state = await cor.wait_state(lambda s: "followup" in s and shared_of(s) == [])
    assert (await bas.state())["followup"]["mine"] is None

    # The meeting over, nothing more is written.
    await fac.ok("session.end")
    await api(h, anne, "PUT", "/followup/update", {"text": shared_text, "shared": True}, expect=409)


async def test_the_step_is_skipped_without_a_previous_meeting_with_a_case(harness):
    # A one-off room: no meeting before it.
    fac, invite, _ = await harness.create_room(method="basismodel")
    state = await fac.ok("session.start")
    assert state["step"]["kind"] == "case_round" and state["step"]["index"] == 0
    assert [s["kind"] for s in state["room"]["method"]["steps"]] == [
        "case_round", "explanation", "questions", "advice", "reaction", "free", "evaluation"]
    await api(harness, fac, "GET", "/followup", expect=404)

    # A group's first meeting, and a second meeting after one where no case was treated.
    group = Group(harness)
    first = group.new_meeting()
    fac1, people1 = await group.case_room(first, 1)
    assert (await fac1.ok("session.start"))["step"]["kind"] == "case_round"
    await api(harness, people1["Anne"], "PUT", "/followup/update", {"text": "x", "shared": True}, expect=409)
    await fac1.ok("session.end")
    second = group.new_meeting()
    fac2, _ = await group.case_room(second, 1)
    assert (await fac2.ok("session.start"))["step"]["kind"] == "case_round"
    assert not followup.shows_step(harness.server.app[ENGINE].conn, fac2.room_id)


async def test_only_a_meetings_first_case_opens_with_the_follow_up(two_meetings):
    h, group = two_meetings["h"], two_meetings["group"]
    fac, _ = await group.case_room(group.meetings[1], 2)
    state = await fac.ok("session.start")
    assert state["step"]["kind"] == "case_round" and len(state["room"]["method"]["steps"]) == 7
    first = await two_meetings["fac"].ok("session.start")
    assert first["step"]["kind"] == "followup" and len(first["room"]["method"]["steps"]) == 8


async def test_a_running_look_back_keeps_its_step_when_the_last_inbrenger_is_deleted(harness):
    """Whether a room has the step is decided once: the step indexes of a running room count it, so deleting
    the previous meeting's only inbrenger (absent today) must not make the room jump one step ahead."""
    group = Group(harness)
    first = group.new_meeting()
    fac1, p1 = await group.case_room(first, 1)
    await advice_list(harness, fac1, p1["Anne"], [(ANNE_ADVICE[0], p1["Bas"])], {})
    await fac1.ok("session.end")
    fac, _ = await group.case_room(group.new_meeting(), 1, names=("Bas", "Cor"))
    assert (await fac.ok("session.start"))["step"]["kind"] == "followup"
    state = await fac.ok("step.next")
    assert state["step"]["kind"] == "case_round" and state["step"]["index"] == 1
    engine = harness.server.app[ENGINE]
    retention.delete_member(engine.conn, group.members["Anne"])
    engine.forget(fac.room_id)
    state = await fac.state()
    assert state["step"]["kind"] == "case_round" and state["step"]["index"] == 1
    assert len(state["room"]["method"]["steps"]) == 8


async def test_a_group_meets_twice_and_the_second_meeting_opens_with_the_look_back(harness):
    """The whole way through the group's own links: meeting 1 treats Bas's case and then, after case.next,
    Chris's; meeting 2 opens with the follow-up, where each of them finds only their own list."""
    from test_groups import NAMES, Browser, _advise, _group_with_members, _start_meeting, _vote_for

    group, links = await _group_with_members(harness)
    browsers = {name: Browser(harness, name) for name in NAMES}
    try:
        fac, started = await _start_meeting(harness, group["id"])
        room1 = started["room_id"]
        for browser in browsers.values():
            assert await browser.open(links[browser.name]) == 200 and browser.room_id == room1
        anne, bas, chris, dewi, eva = (browsers[n] for n in NAMES)
        state = await fac.ok("session.start")
        assert state["step"]["kind"] == "case_round"  # a group's first meeting has nothing to look back on
        for person in (bas, chris):
            await person.ok("case.submit", title=f"Casus van {person.name}", question=f"Wat doe ik als {person.name}?")
        await _vote_for(fac, [anne, chris, dewi, eva], bas)
        await _advise(harness, fac, room1, [(anne, "Vraag het hem gewoon."), (dewi, "Schrijf het eerst op.")])
        first_item = (await bas.state())["advice"]["items"][0]["id"]
        async with bas.session.put(harness.url(f"/api/rooms/{room1}/advice/{first_item}/mark"), json={"mark": "useful"}) as r:
            assert r.status == 200, await r.text()
        await fac.ok("session.end")

        state = await fac.ok("case.next")
        room2 = state["meeting"]["next_room"]
        for browser in browsers.values():
            await browser.follow(room2)
        fac.room_id = room2
        fac.id = (await fac.state())["you"]["id"]
        state = await fac.ok("session.start")
        assert state["step"]["kind"] == "case_round"  # nor does a meeting's second case
        await _vote_for(fac, [anne, bas, dewi, eva], chris)
        await _advise(harness, fac, room2, [(eva, "Neem er een week de tijd voor.")])
        await fac.ok("session.end")

        fac2, second = await _start_meeting(harness, group["id"])
        room3 = second["room_id"]
        assert second["number"] == 2
        for browser in browsers.values():
            await browser.close()
            browser.ws, browser.states = None, []
            assert await browser.open(links[browser.name]) == 200 and browser.room_id == room3
            await browser.connect()
        state = await fac2.ok("session.start")
        assert state["step"]["kind"] == "followup" and state["step"]["index"] == 0
        assert state["room"]["method"]["steps"][1]["kind"] == "case_round"

        views = {name: (await browsers[name].wait_state(lambda s: s.get("followup") is not None))["followup"]
                 for name in NAMES}
        assert [(lst["room_id"], [i["text"] for i in lst["items"]]) for lst in views["Bas"]["lists"]] == [
            (room1, ["Vraag het hem gewoon.", "Schrijf het eerst op."])]
        assert views["Bas"]["lists"][0]["items"][0]["mark"] == "useful"
        assert [(lst["room_id"], [i["text"] for i in lst["items"]]) for lst in views["Chris"]["lists"]] == [
            (room2, ["Neem er een week de tijd voor."])]
        for name in ("Anne", "Dewi", "Eva"):
            assert views[name]["lists"] == [] and not views[name]["can_update"]
        assert views["Anne"]["previous"]["inbrengers"] == ["Bas", "Chris"]

        async with bas.session.put(harness.url(f"/api/rooms/{room3}/followup/lists/{room1}/items/{first_item}"),
                                   json={"status": "helped"}) as r:
            assert r.status == 200, await r.text()
        async with bas.session.put(harness.url(f"/api/rooms/{room3}/followup/update"),
                                   json={"text": "Ik heb het hem gevraagd; het lucht op.", "shared": True}) as r:
            assert r.status == 200, await r.text()
        state = await anne.wait_state(lambda s: bool(shared_of(s)))
        assert [(u["name"], u["text"]) for u in shared_of(state)] == [("Bas", "Ik heb het hem gevraagd; het lucht op.")]
        assert "Vraag het hem gewoon." not in json.dumps(anne.states, ensure_ascii=False)
        assert (await bas.state())["followup"]["lists"][0]["items"][0]["status"] == "helped"

        # His own page shows it later beside that list; Anne's own page has no list of his.
        async with bas.session.get(harness.url(f"/api/rooms/{room3}/me")) as r:
            mine = await r.json()
            assert r.status == 200, mine
        (old_list,) = [lst for lst in mine["advice_lists"] if lst["room_id"] == room1]
        assert [(i["text"], i["followup"]) for i in old_list["items"]] == [
            ("Vraag het hem gewoon.", "helped"), ("Schrijf het eerst op.", None)]
        assert [(u["number"], u["text"], u["shared"]) for u in mine["updates"]] == [
            (2, "Ik heb het hem gevraagd; het lucht op.", True)]
        # And in the list he downloads from it.
        async with bas.session.get(harness.url(f"/api/rooms/{room3}/me/lists/{room1}.md")) as r:
            document = await r.text()
            assert r.status == 200, document
        first, second = document.split("Vraag het hem gewoon.")[1].split("Schrijf het eerst op.")
        assert "Wat ik ermee deed: geholpen" in first and "Wat ik ermee deed" not in second
        async with bas.session.get(harness.url(f"/api/rooms/{room3}/me/lists/{room1}.html?lang=en")) as r:
            assert "What I did with it: helped" in await r.text()
        # The same from the first meeting's room, where he was the inbrenger.
        async with bas.session.get(harness.url(f"/api/rooms/{room1}/advice/export.md")) as r:
            assert r.status == 200 and "Wat ik ermee deed: geholpen" in await r.text()
        async with anne.session.get(harness.url(f"/api/rooms/{room3}/me")) as r:
            theirs = await r.json()
            assert r.status == 200, theirs
        assert theirs["advice_lists"] == [] and "Vraag het hem gewoon." not in json.dumps(theirs, ensure_ascii=False)
    finally:
        for browser in browsers.values():
            await browser.close()
            await browser.session.close()


async def test_the_first_meeting_method_runs_through_without_a_case(harness):
    """prompts/methods/kennismaking.toml in a real room: five steps, no inbrenger needed, learning goals
    written in the last step stay private unless shared."""
    fac, invite, _ = await harness.create_room(method="kennismaking")
    anne = await harness.join(invite, "Anne")
    bas = await harness.join(invite, "Bas")
    state = await fac.ok("session.start")
    kinds = [s["kind"] for s in state["room"]["method"]["steps"]]
    assert kinds == ["free", "free", "free", "free", "evaluation"] and state["inbrenger"] is None
    seen = [state["step"]["id"]]
    while True:
        status, body = await fac.command("step.next")
        if status == 409:
            assert body["error"]["code"] == "last_step"
            break
        assert status == 200, body
        seen.append(body["state"]["step"]["id"])
    assert seen == ["welkom", "werk", "leerdoelen", "afspraken", "afsluiting"]
    assert "leerdoelen" in (await anne.state())["step"]["text"]["nl"]
    await anne.ok("takeaway.save", text="Ik wil leren eerder nee te zeggen.", shared=False)
    await bas.ok("takeaway.save", text="Beter doorvragen.", shared=True)
    state = await fac.ok("session.end")
    assert state["takeaways"]["shared"] == [{"name": "Bas", "text": "Beter doorvragen."}]
    assert "eerder nee" not in json.dumps(await bas.state(), ensure_ascii=False)
