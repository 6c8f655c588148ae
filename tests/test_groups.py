"""A lasting group over HTTP and WebSocket: members with personal links, the group's invite, a meeting that
treats two cases in a row (the second chosen by vote from the questions left over), attendance and roles."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp

from companion import facilitators, hours
from companion.groups import meetings
from companion.web import ENGINE

from conftest import Person

# The SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

NAMES = ("Anne", "Bas", "Chris", "Dewi", "Eva")


class Clock:
    """The engine's clock, moved by the test (seconds); attendance and the meeting's times use it."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Browser(Person):
    """A member in their own browser: cookies only (the session cookie their personal link set)."""

    def __init__(self, harness, name: str):
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        super().__init__(SimpleNamespace(http=self.session, url=harness.url), "", "")
        self.name = name
        self.link = ""

    @property
    def headers(self) -> dict[str, str]:
        return {}

    async def open(self, url: str) -> int:
        """Open a link as a browser would (following redirects); on a room page, remember the room."""
        async with self.session.get(url) as r:
            await r.read()
            parts = r.url.path.split("/")
            if r.status == 200 and len(parts) == 3 and parts[1] == "r":
                self.room_id = parts[2]
                self.id = (await self.state())["you"]["id"]
            return r.status

    async def follow(self, room_id: str) -> None:
        """What the page does on ``moved``: close this room's socket, open the next room's page."""
        await self.close()
        self.ws, self.states = None, []
        async with self.session.get(self.h.url(f"/r/{room_id}")) as r:
            assert r.status == 200
        self.room_id = room_id
        self.id = (await self.state())["you"]["id"]
        await self.connect()

    async def close(self) -> None:
        await super().close()


async def _api(harness, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    async with harness.http.request(
        method, harness.url(path), json=body, headers=harness.facilitator_headers if headers is None else headers
    ) as r:
        return r.status, await r.json()


async def _group_with_members(harness, names=NAMES) -> tuple[dict, dict[str, str]]:
    status, group = await _api(harness, "POST", "/api/groups", {"name": "Intervisie Oost", "language": "nl",
                                                                 "method": "roddelmodel"})
    assert status == 201, group
    links = {}
    for name in names:
        status, body = await _api(harness, "POST", f"/api/groups/{group['id']}/members", {"name": name})
        assert status == 201, body
        assert body["personal_url"].startswith(harness.url(f"/g/{group['id']}/m/"))
        links[name] = body["personal_url"]
    return group, links


async def _start_meeting(harness, group_id: str) -> tuple[Person, dict]:
    status, body = await _api(harness, "POST", f"/api/groups/{group_id}/meetings", {})
    assert status == 201, body
    facilitator = Person(harness, body["room_id"], body["token"])
    facilitator.id = (await facilitator.state())["you"]["id"]
    harness.people.append(facilitator)
    return facilitator, body


async def _vote_for(facilitator: Person, voters: list[Person], author: Person) -> None:
    state = await facilitator.state()
    if not state["step"]["has_vote"]:
        await facilitator.ok("step.next")
    case = next(c for c in state["cases"] if c["author_id"] == author.id)
    for voter in voters:
        await voter.ok("vote.cast", case_id=case["id"])
    state = await facilitator.ok("vote.close")
    assert state["inbrenger"]["id"] == author.id


async def _advise(harness, facilitator: Person, room_id: str, texts: list[tuple[Person, str]]) -> None:
    for person, text in texts:
        async with harness.http.post(harness.url(f"/api/rooms/{room_id}/advice"), headers=facilitator.headers,
                                     json={"text": text, "participant_id": person.id}) as r:
            assert r.status == 201, await r.text()


async def test_a_meeting_treats_two_cases_in_a_row(harness):
    clock = Clock()
    harness.server.app[ENGINE].clock = clock
    conn = harness.server.app[ENGINE].conn
    group, links = await _group_with_members(harness)
    facilitator, started = await _start_meeting(harness, group["id"])
    room1 = started["room_id"]
    assert started["number"] == 1
    browsers = {name: Browser(harness, name) for name in NAMES}
    try:
        await facilitator.connect()
        for name in NAMES[:4]:  # Eva comes ten minutes late
            assert await browsers[name].open(links[name]) == 200
            assert browsers[name].room_id == room1
            await browsers[name].connect()
        anne, bas, chris, dewi, eva = (browsers[n] for n in NAMES)
        state = await facilitator.ok("session.start")
        assert state["meeting"] == {"id": started["meeting_id"], "group_id": group["id"], "group": "Intervisie Oost",
                                    "one_off": False, "number": 1, "case_no": 1, "cases": 1, "next_room": None,
                                    "earlier_lists": []}
        t0 = clock.now
        for person in (anne, bas, chris):
            await person.ok("case.submit", title=f"Casus van {person.name}", question=f"Wat doe ik als {person.name}?")
        clock.now += 600
        assert await eva.open(links["Eva"]) == 200
        await eva.connect()
        await _vote_for(facilitator, [anne, chris, dewi, eva], bas)
        await _advise(harness, facilitator, room1, [(anne, "Vraag het hem gewoon."), (chris, "Schrijf het eerst op.")])
        await anne.ok("takeaway.save", text="Ik vraag eerder door.", shared=False)
        clock.now += 80 * 60
        await facilitator.ok("session.end")

        # The next case: every page of the first case room hears of it and goes along.
        clock.now += 120
        state = await facilitator.ok("case.next")
        room2 = state["meeting"]["next_room"]
        assert room2 and room2 != room1
        for browser in browsers.values():
            moved = await browser.wait_state(lambda s: "moved" in s.get("events", ()))
            assert moved["meeting"]["next_room"] == room2
        # A page that loads the first room later sees where the meeting went.
        assert (await anne.state())["meeting"]["next_room"] == room2
        for browser in browsers.values():
            await browser.follow(room2)  # the browser session came along: no new link needed
        await facilitator.close()
        facilitator.room_id = room2  # the facilitator's token went along too
        facilitator.id = (await facilitator.state())["you"]["id"]
        await facilitator.connect()

        state = await facilitator.state()
        assert state["meeting"]["case_no"] == 2 and state["meeting"]["cases"] == 2 and state["meeting"]["next_room"] is None
        assert state["room"]["status"] == "waiting" and state["timer"] is None and state["inbrenger"] is None
        assert sorted((p["name"], p["role"]) for p in state["participants"]) == sorted(
            [("Fleur (beheer)", "facilitator"), *((n, "deelnemer") for n in NAMES)])
        # The questions not treated are there to vote on again, with their authors; Bas's is done.
        assert sorted((c["author"], c["title"]) for c in state["cases"]) == [("Anne", "Casus van Anne"),
                                                                              ("Chris", "Casus van Chris")]
        assert state["advice"]["items"] == []
        assert (await anne.state())["takeaways"]["mine"] is None

        # Bas's list of the first case stays in its room; from the second case he (and the facilitator) can
        # still open it with the same browser, the others cannot.
        earlier = [{"room_id": room1, "case_no": 1, "inbrenger": "Bas"}]
        assert (await bas.state())["meeting"]["earlier_lists"] == earlier
        assert state["meeting"]["earlier_lists"] == earlier
        assert (await anne.state())["meeting"]["earlier_lists"] == []
        async with bas.session.get(harness.url(f"/api/rooms/{room1}/advice/export.md")) as r:
            assert r.status == 200 and "Vraag het hem gewoon." in await r.text()
        async with anne.session.get(harness.url(f"/api/rooms/{room1}/advice/export.md")) as r:
            assert r.status == 403

        state = await facilitator.ok("session.start")
        assert state["step"]["index"] == 0 and state["timer"]["elapsed"] == 0 and not state["timer"]["overtime"]
        await _vote_for(facilitator, [anne, bas, dewi, eva], chris)
        await _advise(harness, facilitator, room2, [(dewi, "Neem er een week de tijd voor.")])
        await bas.ok("takeaway.save", text="Minder uitleggen.", shared=True)
        clock.now += 85 * 60
        await facilitator.ok("session.end")
        end = clock.now

        # Each case its own inbrenger, advice list and take-aways.
        def advice(room_id):
            return [r[0] for r in conn.execute(
                "SELECT text FROM advice_items WHERE room_id = ? AND deleted = 0 ORDER BY position", (room_id,))]

        assert advice(room1) == ["Vraag het hem gewoon.", "Schrijf het eerst op."]
        assert advice(room2) == ["Neem er een week de tijd voor."]
        assert [r[0] for r in conn.execute("SELECT text FROM takeaways WHERE room_id = ?", (room1,))] == ["Ik vraag eerder door."]
        assert [r[0] for r in conn.execute("SELECT text FROM takeaways WHERE room_id = ?", (room2,))] == ["Minder uitleggen."]
        member = {name: meetings.member_of(conn, browsers[name].room_id, browsers[name].id) for name in NAMES}
        assert meetings.inbrengers(conn, started["meeting_id"]) == [(member["Bas"], room1), (member["Chris"], room2)]

        # Attendance: one interval each across both cases; Eva ten minutes less.
        await asyncio.sleep(0.1)  # the last presence hooks of the move
        minutes = {name: [r.minutes for r in hours.member_record(conn, member[name])] for name in NAMES}
        assert minutes["Anne"] == [round((end - t0) / 60)] == minutes["Bas"] == minutes["Dewi"]
        assert minutes["Eva"] == [minutes["Anne"][0] - 10]
        intervals = conn.execute("SELECT member_id, left_at FROM attendance WHERE meeting_id = ?",
                                 (started["meeting_id"],)).fetchall()
        assert len(intervals) == 6 and all(r[1] is None for r in intervals)  # five members and the facilitator, still there
        roles = dict(conn.execute("SELECT member_id, role FROM meeting_members WHERE meeting_id = ?",
                                  (started["meeting_id"],)).fetchall())
        assert {name: roles[member[name]] for name in NAMES} == {
            "Anne": "deelnemer", "Bas": "inbrenger", "Chris": "inbrenger", "Dewi": "deelnemer", "Eva": "deelnemer"}
        assert sorted(roles.values()).count("begeleider") == 1
        meeting = conn.execute("SELECT started_at, ended_at FROM meetings WHERE id = ?", (started["meeting_id"],)).fetchone()
        assert tuple(meeting) == (t0, end)

        # Leaving: the interval closes.
        clock.now += 60
        await eva.close()
        for _ in range(100):
            left = conn.execute("SELECT left_at FROM attendance WHERE member_id = ?", (member["Eva"],)).fetchone()[0]
            if left is not None:
                break
            await asyncio.sleep(0.02)
        assert left == clock.now
        # With no meeting open, a member's link opens their own page.
        async with eva.session.get(links["Eva"], allow_redirects=False) as r:
            assert r.status == 200 and "Intervisie Oost" in await r.text()
    finally:
        for browser in browsers.values():
            await browser.close()
            await browser.session.close()


async def test_group_api_members_links_and_invite(harness):
    group, links = await _group_with_members(harness, ("Anne", "Bas"))
    gid = group["id"]
    status, listed = await _api(harness, "GET", "/api/groups")
    assert status == 200 and [g["id"] for g in listed["groups"]] == [gid]
    status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
    assert status == 200 and detail["name"] == "Intervisie Oost" and detail["current"] is None
    assert [m["name"] for m in detail["members"] if not m["facilitator"]] == ["Anne", "Bas"]
    assert [f["name"] for f in detail["facilitators"]] == ["Fleur (beheer)"]
    assert detail["content_retention_days"] == 30 and detail["record_retention_days"] == 730
    anne_id = next(m["id"] for m in detail["members"] if m["name"] == "Anne")

    # Refused: bad input (Dutch messages), another facilitator's view, a second Anne, no facilitator at all.
    for body in ({"name": "", "method": "roddelmodel"}, {"name": "X", "method": "nope"},
                 {"name": "X", "method": "roddelmodel", "language": "de"},
                 {"name": "X", "method": "roddelmodel", "content_retention_days": 0}):
        status, error = await _api(harness, "POST", "/api/groups", body)
        assert status == 400 and error["error"]["message"], body
    other_token = facilitators.add(harness.server.app[ENGINE].conn, "Gijs")[1]
    other = {"Authorization": f"Bearer {other_token}"}
    status, _ = await _api(harness, "GET", f"/api/groups/{gid}", headers=other)
    assert status == 404
    status, listed = await _api(harness, "GET", "/api/groups", headers=other)
    assert listed["groups"] == []
    status, _ = await _api(harness, "POST", f"/api/groups/{gid}/members", {"name": "ANNE"})
    assert status == 409
    status, _ = await _api(harness, "GET", "/api/groups", headers={})
    assert status == 401

    # Settings change later: only the keys given; bad values refused with a Dutch message (and its English).
    status, changed = await _api(harness, "PATCH", f"/api/groups/{gid}", {"name": "Intervisie Oost-West",
                                                                          "content_retention_days": 14})
    assert status == 200 and (changed["name"], changed["content_retention_days"], changed["record_retention_days"],
                              changed["method"]) == ("Intervisie Oost-West", 14, 730, "roddelmodel")
    for body in ({"record_retention_days": 0}, {"method": "nope"}, {"colour": "blue"}, {"name": " "}):
        status, error = await _api(harness, "PATCH", f"/api/groups/{gid}", body)
        assert status == 400 and error["error"]["message_en"] != error["error"]["message"], body
    status, _ = await _api(harness, "PATCH", f"/api/groups/{gid}", {"name": "Van Gijs"}, headers=other)
    assert status == 404
    status, _ = await _api(harness, "PATCH", f"/api/groups/{gid}", {"name": "Intervisie Oost"})
    assert status == 200

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async def opens(url):
            async with browser.get(url, allow_redirects=False) as r:
                return r.status

        assert await opens(links["Anne"]) == 200  # no meeting open: the member's own page
        # Renewed: the old link opens nothing, the new one does.
        status, renewed = await _api(harness, "POST", f"/api/groups/{gid}/members/{anne_id}/link", {})
        assert status == 200 and renewed["personal_url"] != links["Anne"]
        assert await opens(links["Anne"]) == 404
        assert await opens(renewed["personal_url"]) == 200
        # Revoked: nothing opens until the facilitator makes a new one.
        status, _ = await _api(harness, "DELETE", f"/api/groups/{gid}/members/{anne_id}/link")
        assert status == 200
        assert await opens(renewed["personal_url"]) == 404
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        assert [m["has_link"] for m in detail["members"] if m["name"] == "Anne"] == [False]

        # The group's invite: a person types their name and gets their own link; a renewed invite ends the old one.
        status, invite = await _api(harness, "POST", f"/api/groups/{gid}/invite", {})
        assert status == 200 and invite["invite_url"].startswith(harness.url(f"/g/{gid}/i/"))
        code = invite["invite_url"].rsplit("/", 1)[1]
        assert await opens(invite["invite_url"]) == 200
        async with browser.get(harness.url(f"/api/groups/{gid}/invites/{code}")) as r:
            assert r.status == 200 and (await r.json())["group"]["name"] == "Intervisie Oost"
        async with browser.post(harness.url(f"/api/groups/{gid}/invites/{code}/join"), json={"name": "Chris"}) as r:
            joined = await r.json()
            assert r.status == 201, joined
        assert await opens(joined["personal_url"]) == 200
        async with browser.post(harness.url(f"/api/groups/{gid}/invites/{code}/join"), json={"name": "bas"}) as r:
            assert r.status == 409
        await _api(harness, "POST", f"/api/groups/{gid}/invite", {})
        async with browser.post(harness.url(f"/api/groups/{gid}/invites/{code}/join"), json={"name": "Dewi"}) as r:
            assert r.status == 404

        # A second facilitator, by the name of their account: they see the group and may enter its meeting.
        status, added = await _api(harness, "POST", f"/api/groups/{gid}/facilitators", {"name": "gijs"})
        assert status == 201 and added["name"] == "Gijs"
        status, _ = await _api(harness, "POST", f"/api/groups/{gid}/facilitators", {"name": "Niemand"})
        assert status == 404
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}", headers=other)
        assert status == 200 and sorted(f["name"] for f in detail["facilitators"]) == ["Fleur (beheer)", "Gijs"]
        gijs_id = next(f["id"] for f in detail["facilitators"] if f["name"] == "Gijs")
        fleur_id = next(f["id"] for f in detail["facilitators"] if f["name"] != "Gijs")
        # Gijs steps back; the last facilitator stays; then he is added again for what follows.
        status, left = await _api(harness, "DELETE", f"/api/groups/{gid}/facilitators/{gijs_id}")
        assert status == 200 and [f["name"] for f in left["facilitators"]] == ["Fleur (beheer)"]
        status, _ = await _api(harness, "GET", f"/api/groups/{gid}", headers=other)
        assert status == 404
        status, error = await _api(harness, "DELETE", f"/api/groups/{gid}/facilitators/{fleur_id}")
        assert status == 409 and error["error"]["code"] == "last_facilitator"
        status, _ = await _api(harness, "POST", f"/api/groups/{gid}/facilitators", {"name": "Gijs"})
        assert status == 201

        # A meeting: links lead into its case room; a second meeting waits until this one is over.
        facilitator, started = await _start_meeting(harness, gid)
        status, error = await _api(harness, "POST", f"/api/groups/{gid}/meetings", {})
        assert status == 409 and error["error"]["code"] == "meeting_open"
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        assert detail["current"]["room_id"] == started["room_id"]
        assert [m["number"] for m in detail["meetings"]] == [1]
        async with browser.get(joined["personal_url"]) as r:
            assert r.status == 200 and r.url.path == f"/r/{started['room_id']}"
        async with browser.get(harness.url(f"/api/rooms/{started['room_id']}/state")) as r:
            state = await r.json()
            assert state["you"]["name"] == "Chris" and state["you"]["role"] == "deelnemer"
        # Gijs comes in as facilitator of the same room, in his own browser.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as gijs:
            async with gijs.get(harness.url(f"/r/{started['room_id']}/begeleider"), headers=other) as r:
                assert r.status == 200 and r.url.path == f"/r/{started['room_id']}"
            async with gijs.get(harness.url(f"/api/rooms/{started['room_id']}/state")) as r:
                assert (await r.json())["you"]["role"] == "facilitator"
        # The room of the meeting ends: the next meeting may start, numbered 2.
        await facilitator.ok("session.start")
        await facilitator.ok("session.end")
        _, second = await _start_meeting(harness, gid)
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        assert [m["number"] for m in detail["meetings"]] == [2, 1]
        assert meetings.previous_meeting(harness.server.app[ENGINE].conn, second["meeting_id"])["id"] == started["meeting_id"]


async def test_links_of_a_one_off_room_follow_the_meeting_to_its_next_case(harness):
    facilitator, invite, created = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    room1 = created["room_id"]
    await facilitator.ok("session.start")
    await facilitator.ok("session.end")
    state = await facilitator.ok("case.next")
    room2 = state["meeting"]["next_room"]
    assert state["meeting"]["one_off"] is True and state["meeting"]["case_no"] == 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        # Anne's own link of the first case opens the second.
        async with browser.get(harness.url(f"/r/{room1}/k/{anne.token}")) as r:
            assert r.status == 200 and r.url.path == f"/r/{room2}"
        async with browser.get(harness.url(f"/api/rooms/{room2}/state")) as r:
            assert (await r.json())["you"]["name"] == "Anne"
        # The invite of the first case lets a latecomer into the second.
        async with browser.get(harness.url(f"/r/{room1}/i/{invite}")) as r:
            assert r.status == 200 and r.url.path == f"/r/{room2}/i/{invite}"
        async with browser.post(harness.url(f"/api/rooms/{room1}/invites/{invite}/join"), json={"name": "Bas"}) as r:
            body = await r.json()
            assert r.status == 201 and body["room_id"] == room2
    anne.room_id = room2
    assert (await anne.state())["meeting"]["case_no"] == 2
    # A one-off room's group is not a standing group: no settings to change, not on the group page.
    status, error = await _api(harness, "PATCH", f"/api/groups/{room1}", {"name": "Vast"})
    assert status == 409 and error["error"]["code"] == "one_off"
    status, listed = await _api(harness, "GET", "/api/groups")
    assert listed["groups"] == []


async def test_a_room_from_before_groups_keeps_its_links_and_can_go_on_to_a_next_case(tmp_path):
    """A room stored before revision 0004 (no groups yet): after the migration its personal links open it,
    it is a one-off group, and its facilitator can start a next case that everyone's link follows."""
    import time

    from conftest import Harness

    from companion import db, tokens
    from companion.shipped import PROMPTS

    data = tmp_path / "data"
    db.prepare_folder(data)
    db.migrate(data / "companion.sqlite3", "0003")
    raw = db._sqlite_connect(str(data / "companion.sqlite3"))
    source = (PROMPTS / "methods" / "basismodel.toml").read_text(encoding="utf-8")
    now = time.time()
    raw.execute("""INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
                   VALUES ('oldroom', 'Team West', 'basismodel', ?, 'nl', 7, ?, ?)""",
                (source, tokens.token_hash("old-invite-0123456789"), now))
    for pid, name, role, token in (("pf", "Fleur", "facilitator", "fac-token-0123456789"),
                                   ("pa", "Anne", "deelnemer", "anne-token-0123456789")):
        raw.execute("""INSERT INTO participants (id, room_id, name, role, token_hash, joined_at)
                       VALUES (?, 'oldroom', ?, ?, ?, ?)""", (pid, name, role, tokens.token_hash(token), now))
    raw.close()

    harness = Harness(data)
    await harness.start()  # opening the database runs 0004
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.get(harness.url("/r/oldroom/k/anne-token-0123456789")) as r:
                assert r.status == 200 and r.url.path == "/r/oldroom"
            async with browser.get(harness.url("/api/rooms/oldroom/state")) as r:
                state = await r.json()
            assert state["you"]["name"] == "Anne"
            assert state["meeting"] == {"id": "oldroom", "group_id": "oldroom", "group": "Team West", "one_off": True,
                                        "number": 1, "case_no": 1, "cases": 1, "next_room": None, "earlier_lists": []}
            facilitator = Person(harness, "oldroom", "fac-token-0123456789")
            await facilitator.ok("session.start")
            await facilitator.ok("session.end")
            state = await facilitator.ok("case.next")
            second = state["meeting"]["next_room"]
            async with browser.get(harness.url("/r/oldroom/k/anne-token-0123456789")) as r:
                assert r.status == 200 and r.url.path == f"/r/{second}"
            async with browser.get(harness.url("/r/oldroom/i/old-invite-0123456789")) as r:
                assert r.status == 200 and r.url.path == f"/r/{second}/i/old-invite-0123456789"
    finally:
        await harness.close()


async def test_a_members_link_renewed_or_revoked_during_a_meeting_and_guests_by_the_rooms_invite(harness):
    group, links = await _group_with_members(harness, ("Anne", "Bas"))
    gid = group["id"]
    facilitator, started = await _start_meeting(harness, gid)
    room = started["room_id"]
    anne, bas = Browser(harness, "Anne"), Browser(harness, "Bas")
    try:
        for browser in (anne, bas):
            assert await browser.open(links[browser.name]) == 200
            await browser.connect()
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        member = {m["name"]: m["id"] for m in detail["members"]}
        # A new link for Anne: her open page closes (4401) and this browser is no longer let in by its cookie.
        status, renewed = await _api(harness, "POST", f"/api/groups/{gid}/members/{member['Anne']}/link", {})
        assert status == 200
        await asyncio.wait_for(anne._reader, 5)
        assert anne.ws.close_code == 4401
        async with anne.session.get(harness.url(f"/api/rooms/{room}/state")) as r:
            assert r.status in (401, 403)
        # With the new link she is back as herself: the same participant, not a second Anne.
        old_id = anne.id
        assert await anne.open(renewed["personal_url"]) == 200 and anne.id == old_id
        # Revoked: Bas's page closes, his link opens nothing, also not the room.
        status, _ = await _api(harness, "DELETE", f"/api/groups/{gid}/members/{member['Bas']}/link")
        await asyncio.wait_for(bas._reader, 5)
        async with bas.session.get(links["Bas"], allow_redirects=False) as r:
            assert r.status == 404
        async with bas.session.get(harness.url(f"/r/{room}/m/{links['Bas'].rsplit('/', 1)[1]}"), allow_redirects=False) as r:
            assert r.status == 404

        # The room's own invite still works in a group's meeting: a guest becomes a member without a link;
        # a member's name is refused (that member has their own link).
        invite = started["invite_url"].rsplit("/", 1)[1]
        harness.invite_rooms[invite] = room
        async with harness.http.post(harness.url(f"/api/rooms/{room}/invites/{invite}/join"), json={"name": "bas"}) as r:
            assert r.status == 409 and (await r.json())["error"]["code"] == "name_taken"
        guest = await harness.join(invite, "Chris")
        assert (await guest.state())["meeting"]["group_id"] == gid
        status, detail = await _api(harness, "GET", f"/api/groups/{gid}")
        assert {m["name"]: m["has_link"] for m in detail["members"] if not m["facilitator"]} == {
            "Anne": True, "Bas": False, "Chris": False}

        # Someone the facilitator took out of this case does not come back in with their link.
        await facilitator.ok("participant.remove", participant_id=anne.id)
        async with anne.session.get(renewed["personal_url"]) as r:
            assert r.status == 403
    finally:
        for browser in (anne, bas):
            await browser.close()
            await browser.session.close()
