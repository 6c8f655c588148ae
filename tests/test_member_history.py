"""A member's own history: the right meetings and roles, and only their own content (issue 17, part 4)."""

from __future__ import annotations

import json
import time

import pytest

from companion import db, history
from group_rows import (MIN, T0, add_advice, add_case, add_case_room, add_group, add_mark, add_meeting, add_member,
                        add_takeaway, attend, meeting_member)

PEOPLE = {"fleur": "Fleur", "anne": "Anne", "bas": "Bas", "carla": "Carla"}
DAY = 86400.0


@pytest.fixture
def conn(database):
    c = db.connect(database)  # on SQLite and on PostgreSQL
    yield c
    c.close()


def two_meetings(conn, t0: float = T0) -> None:
    """Meeting 1 at ``t0``: Anne's case, then Bas's (Carla's question waits); meeting 2, four weeks later:
    Carla's case."""
    add_group(conn, "g1", "Intervisie Noord")
    for mid, name in PEOPLE.items():
        add_member(conn, "g1", mid, name, "begeleider" if mid == "fleur" else "deelnemer")
    add_meeting(conn, "g1", "m1", 1, t0, t0 + 180 * MIN)
    r1 = add_case_room(conn, "m1", "r1", 1, PEOPLE, inbrenger="anne", ended_at=t0 + 90 * MIN)
    r2 = add_case_room(conn, "m1", "r2", 2, PEOPLE, inbrenger="bas", ended_at=t0 + 180 * MIN)
    add_case(conn, "r1", r1["anne"], "Nee zeggen", "Hoe zeg ik nee tegen extra werk?", treated=True)
    add_case(conn, "r1", r1["bas"], "Overdracht", "Hoe draag ik mijn project over?")
    add_case(conn, "r1", r1["carla"], "Feedback", "Hoe geef ik feedback aan mijn leidinggevende?")
    # The questions not treated went along into case 2 (as copies); Bas's was chosen there.
    add_case(conn, "r2", r2["bas"], "Overdracht", "Hoe draag ik mijn project over?", treated=True)
    add_case(conn, "r2", r2["carla"], "Feedback", "Hoe geef ik feedback aan mijn leidinggevende?")
    add_advice(conn, "r1", "a1", r1["bas"], "Spreek een vast moment af om je werk te verdelen.", 1)
    add_advice(conn, "r1", "a2", r1["carla"], "Vraag wat er blijft liggen als je ja zegt.", 2)
    add_mark(conn, "r1", "a1", r1["anne"], "useful", "Morgen proberen")
    add_advice(conn, "r2", "b1", r2["anne"], "Schrijf een overdrachtsdocument.", 1)
    add_mark(conn, "r2", "b1", r2["bas"], "ask", "Hoe lang?")
    add_takeaway(conn, "r1", r1["anne"], "Ik mag ook nee zeggen", shared=True)
    add_takeaway(conn, "r1", r1["bas"], "Vaker vragen wat iemand nodig heeft", shared=False)
    add_takeaway(conn, "r2", r2["carla"], "Zelf ook eens inbrengen", shared=False)
    conn.execute(
        "INSERT INTO followups (member_id, room_id, item_id, status, updated_at) VALUES ('anne', 'r1', 'a1', 'helped', ?)",
        (t0 + 40 * DAY,))
    for mid in PEOPLE:
        meeting_member(conn, "m1", mid, {"fleur": "begeleider", "anne": "inbrenger", "bas": "inbrenger"}.get(mid, "deelnemer"))
        attend(conn, "m1", mid, t0 - MIN, t0 + 181 * MIN)
    # Meeting 2 without Bas.
    start2 = t0 + 28 * DAY
    add_meeting(conn, "g1", "m2", 2, start2, start2 + 100 * MIN)
    r3 = add_case_room(conn, "m2", "r3", 1, {m: n for m, n in PEOPLE.items() if m != "bas"}, inbrenger="carla",
                       ended_at=start2 + 100 * MIN)
    add_case(conn, "r3", r3["carla"], "Feedback", "Hoe geef ik feedback aan mijn leidinggevende?", treated=True)
    add_advice(conn, "r3", "c1", r3["anne"], "Begin met wat goed gaat.", 1)
    for mid in ("fleur", "anne", "carla"):
        meeting_member(conn, "m2", mid, {"fleur": "begeleider", "carla": "inbrenger"}.get(mid, "deelnemer"))
        attend(conn, "m2", mid, start2, start2 + 100 * MIN)
    conn.execute(
        "INSERT INTO followup_updates (meeting_id, member_id, text, shared, updated_at) VALUES ('m2', 'anne', ?, 1, ?)",
        ("Ik heb twee keer nee gezegd, en het ging goed.", start2))


def test_history_shows_the_meetings_and_roles(conn):
    two_meetings(conn)
    anne = history.member_history(conn, "anne")
    assert [(m["number"], m["role"], m["minutes"]) for m in anne["meetings"]] == [(2, "deelnemer", 100), (1, "inbrenger", 180)]
    assert anne["meetings"][1]["cases"] == [{"room_id": "r1", "case_no": 1, "mine": True},
                                            {"room_id": "r2", "case_no": 2, "mine": False}]
    bas = history.member_history(conn, "bas")
    assert [(m["number"], m["role"]) for m in bas["meetings"]] == [(1, "inbrenger")]
    fleur = history.member_history(conn, "fleur")
    assert [(m["number"], m["role"]) for m in fleur["meetings"]] == [(2, "begeleider"), (1, "begeleider")]
    assert anne["group"]["name"] == "Intervisie Noord" and anne["group"]["facilitators"] == ["Fleur"]


def test_history_holds_only_the_members_own_content(conn):
    two_meetings(conn)
    anne = history.member_history(conn, "anne")
    assert [(q["number"], q["title"], q["treated"]) for q in anne["questions"]] == [(1, "Nee zeggen", True)]
    [own] = anne["advice_lists"]
    assert own["room_id"] == "r1" and own["number"] == 1 and own["case_no"] == 1
    assert own["question_original"] == "Hoe zeg ik nee tegen extra werk?"
    assert [(i["text"], i["speaker"], i["mark"], i["note"], i["followup"]) for i in own["items"]] == [
        ("Spreek een vast moment af om je werk te verdelen.", "Bas", "useful", "Morgen proberen", "helped"),
        ("Vraag wat er blijft liggen als je ja zegt.", "Carla", None, "", None)]
    assert [(t["text"], t["shared"]) for t in anne["takeaways"]] == [("Ik mag ook nee zeggen", True)]
    assert [(u["number"], u["shared"]) for u in anne["updates"]] == [(2, True)]
    # Nothing of anyone else's: not Bas's list, marks or unshared take-away, not Carla's question.
    text = json.dumps(anne)
    for other in ("overdrachtsdocument", "Hoe lang?", "Vaker vragen", "feedback aan mijn", "Zelf ook eens",
                  "Begin met wat goed gaat"):
        assert other not in text, other

    carla = history.member_history(conn, "carla")
    # Carla's question waited through meeting 1 (two copies, never treated) and was treated in meeting 2.
    assert [(q["number"], q["treated"], q["case_no"]) for q in carla["questions"]] == [(2, True, 1), (1, False, 1)]
    assert [lst["room_id"] for lst in carla["advice_lists"]] == ["r3"]
    assert [(t["text"], t["shared"]) for t in carla["takeaways"]] == [("Zelf ook eens inbrengen", False)]
    assert "nee tegen extra werk" not in json.dumps(carla)

    bas = history.member_history(conn, "bas")
    [own] = bas["advice_lists"]
    assert [(i["text"], i["mark"], i["note"]) for i in own["items"]] == [("Schrijf een overdrachtsdocument.", "ask", "Hoe lang?")]
    assert "Morgen proberen" not in json.dumps(bas)


def test_a_meeting_whose_content_is_gone_stays_in_the_history(conn):
    from companion.retention import delete_meeting_content

    two_meetings(conn)
    delete_meeting_content(conn, "m1")
    anne = history.member_history(conn, "anne")
    assert [(m["number"], m["role"], m["minutes"], m["cases"]) for m in anne["meetings"]] == [
        (2, "deelnemer", 100, [{"room_id": "r3", "case_no": 1, "mine": False}]), (1, "inbrenger", 180, [])]
    assert anne["advice_lists"] == [] and anne["questions"] == [] and anne["takeaways"] == []


def test_unknown_member(conn):
    with pytest.raises(KeyError):
        history.member_history(conn, "nobody")


# ------------------------------------------------------------------ over HTTP
BOTH_DATABASES = True


def recent(conn) -> None:
    """two_meetings ending yesterday: the running server's retention sweep leaves them alone."""
    two_meetings(conn, time.time() - 29 * DAY)


def member_tokens(conn) -> dict[str, str]:
    """A personal link for each member of two_meetings' group."""
    from companion import tokens

    out = {}
    for mid in PEOPLE:
        out[mid] = tokens.new_token()
        conn.execute("UPDATE members SET token_hash = ? WHERE id = ?", (tokens.token_hash(out[mid]), mid))
    return out


async def _get(harness, path: str, token: str | None = None) -> tuple[int, str, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.get(harness.url(path), headers=headers) as r:
        return r.status, await r.text(), dict(r.headers)


async def test_the_member_page_shows_the_members_own_history_over_http(harness):
    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    recent(conn)
    tok = member_tokens(conn)
    status, body, _ = await _get(harness, "/api/groups/g1/me", tok["anne"])
    assert status == 200, body
    anne = json.loads(body)
    assert [(m["number"], m["role"], m["minutes"]) for m in anne["meetings"]] == [(2, "deelnemer", 100), (1, "inbrenger", 180)]
    assert anne["meetings"][1]["method"] == "Roddelmodel (9 stappen)"
    assert [lst["room_id"] for lst in anne["advice_lists"]] == ["r1"]
    assert "overdrachtsdocument" not in body and "Vaker vragen" not in body
    # Without a link, with an unknown one, with a link of this group on another group's path.
    assert (await _get(harness, "/api/groups/g1/me"))[0] == 401
    assert (await _get(harness, "/api/groups/g1/me", "x" * 32))[0] == 404
    assert (await _get(harness, "/api/groups/other/me", tok["anne"]))[0] == 404


async def test_a_member_downloads_their_own_lists_and_no_one_elses(harness):
    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    recent(conn)
    tok = member_tokens(conn)
    status, md, headers = await _get(harness, "/api/groups/g1/me/lists/r1/export.md", tok["anne"])
    assert status == 200 and "Spreek een vast moment af" in md and "Morgen proberen" in md
    assert headers["Content-Disposition"].startswith("attachment")
    status, page, headers = await _get(harness, f"/g/g1/m/{tok['anne']}/lists/r1.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and "Spreek een vast moment af" in page
    assert "script-src 'sha256-" in headers["Content-Security-Policy"]
    # Bas's list is Bas's: not by Anne's link, in no form.
    assert (await _get(harness, "/api/groups/g1/me/lists/r2/export.md", tok["anne"]))[0] == 404
    assert (await _get(harness, f"/g/g1/m/{tok['anne']}/lists/r2.md"))[0] == 404
    assert (await _get(harness, f"/g/g1/m/{tok['bas']}/lists/r2.md"))[0] == 200
    assert (await _get(harness, f"/g/g1/m/{'y' * 32}/lists/r1.md"))[0] == 404


async def test_from_the_end_screen_of_a_case_room_a_member_reaches_their_own_page(harness):
    from companion import tokens
    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    recent(conn)
    carla = tokens.new_token()  # the room's own credential of Carla's participant in meeting 2's case room
    conn.execute("UPDATE participants SET token_hash = ? WHERE id = 'r3-carla'", (tokens.token_hash(carla),))
    status, page, _ = await _get(harness, "/r/r3/mijn")
    assert status == 200 and "<title>Intervisie Noord · companion</title>" in page
    status, body, _ = await _get(harness, "/api/rooms/r3/me", carla)
    assert status == 200, body
    mine = json.loads(body)
    assert mine["member"]["name"] == "Carla" and [lst["room_id"] for lst in mine["advice_lists"]] == ["r3"]
    assert "nee tegen extra werk" not in body
    status, md, _ = await _get(harness, "/api/rooms/r3/me/lists/r3.md", carla)
    assert status == 200 and "Begin met wat goed gaat." in md
    assert (await _get(harness, "/api/rooms/r3/me/lists/r1.md", carla))[0] == 404
    status, text, _ = await _get(harness, "/api/rooms/r3/me/hours.csv", carla)
    assert status == 200 and ";100;" in text
    assert (await _get(harness, "/api/rooms/r3/me"))[0] == 401
    # A one-off room is no group that meets again: no own page there.
    facilitator, _, _ = await harness.create_room()
    assert (await _get(harness, f"/api/rooms/{facilitator.room_id}/me", facilitator.token))[0] == 404


async def test_after_a_real_meeting_each_member_finds_their_own_history(harness):
    """A group meets through its members' own links (HTTP and WebSocket): one case, Bas's. Afterwards each link
    opens that member's own page, with the meeting in the right role and only their own content."""
    from companion.web import ENGINE
    from test_groups import Browser, Clock, _advise, _group_with_members, _start_meeting, _vote_for

    clock = Clock(time.time())
    harness.server.app[ENGINE].clock = clock
    names = ("Anne", "Bas", "Chris")
    group, links = await _group_with_members(harness, names)
    facilitator, started = await _start_meeting(harness, group["id"])
    browsers = {name: Browser(harness, name) for name in names}
    try:
        await facilitator.connect()
        for name in names:
            assert await browsers[name].open(links[name]) == 200
            await browsers[name].connect()
        anne, bas, chris = (browsers[n] for n in names)
        await facilitator.ok("session.start")
        await bas.ok("case.submit", title="Grenzen", question="Hoe bewaak ik mijn grenzen bij spoedklussen?")
        await chris.ok("case.submit", title="Overleg", question="Hoe maak ik het teamoverleg korter?")
        await _vote_for(facilitator, [anne, chris], bas)
        await _advise(harness, facilitator, started["room_id"], [(anne, "Zeg eerst dat je erop terugkomt."),
                                                                   (chris, "Spreek een vaste spoedregel af.")])
        await anne.ok("takeaway.save", text="Ik wil ook vaker terugkomen op iets.", shared=False)
        await chris.ok("takeaway.save", text="Korter overleggen kan.", shared=True)
        clock.now += 95 * 60
        await facilitator.ok("session.end")
    finally:
        for browser in browsers.values():
            await browser.close()
            await browser.session.close()
    mine = {}
    for name in names:
        base, token = links[name].split("/m/")
        async with harness.http.get(links[name], allow_redirects=False) as r:
            assert r.status == 200 and "<title>Intervisie Oost · companion</title>" in await r.text()
        status, body, _ = await _get(harness, f"/api/groups/{group['id']}/me", token)
        assert status == 200, body
        mine[name] = json.loads(body)
    assert [(m["number"], m["role"], m["minutes"], m["method"]) for m in mine["Bas"]["meetings"]] == [
        (1, "inbrenger", 95, "Roddelmodel (9 stappen)")]
    assert [(m["number"], m["role"]) for m in mine["Anne"]["meetings"]] == [(1, "deelnemer")]
    [own] = mine["Bas"]["advice_lists"]
    assert own["question_original"] == "Hoe bewaak ik mijn grenzen bij spoedklussen?"
    assert [(i["text"], i["speaker"]) for i in own["items"]] == [("Zeg eerst dat je erop terugkomt.", "Anne"),
                                                                 ("Spreek een vaste spoedregel af.", "Chris")]
    assert mine["Anne"]["advice_lists"] == [] and mine["Chris"]["advice_lists"] == []
    assert [(q["title"], q["treated"]) for q in mine["Chris"]["questions"]] == [("Overleg", False)]
    assert [t["text"] for t in mine["Anne"]["takeaways"]] == ["Ik wil ook vaker terugkomen op iets."]
    for name in ("Anne", "Chris"):
        assert "spoedklussen" not in json.dumps(mine[name])
    assert "vaker terugkomen" not in json.dumps(mine["Chris"]) and "Korter overleggen" not in json.dumps(mine["Anne"])

    # Thirty days on, the content is gone and the record stays; then Anne deletes herself, record and all.
    from companion.retention import purge_expired

    conn = harness.server.app[ENGINE].conn
    assert purge_expired(conn, clock.now + 29 * DAY) == []
    assert purge_expired(conn, clock.now + 31 * DAY) == [started["room_id"]]
    status, body, _ = await _get(harness, f"/api/groups/{group['id']}/me", links["Bas"].split("/m/")[1])
    bas = json.loads(body)
    assert [(m["number"], m["role"], m["minutes"], m["cases"]) for m in bas["meetings"]] == [(1, "inbrenger", 95, [])]
    assert bas["advice_lists"] == [] and bas["questions"] == [] and "spoedklussen" not in body
    anne = {"Authorization": f"Bearer {links['Anne'].split('/m/')[1]}"}
    async with harness.http.delete(harness.url(f"/api/groups/{group['id']}/me"), json={"confirm": True}, headers=anne) as r:
        assert r.status == 200
    async with harness.http.get(harness.url(f"/api/groups/{group['id']}/attendance.csv"),
                                headers=harness.facilitator_headers) as r:
        names = [line.split(";")[6] for line in (await r.text()).splitlines()[1:]]
    assert sorted(names) == ["Bas", "Chris", "Fleur (beheer)"]
