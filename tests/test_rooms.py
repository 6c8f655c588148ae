"""Rooms, links, roles and refusals, through the real HTTP API."""

from __future__ import annotations

import sqlite3

import pytest

from companion.tokens import token_hash

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True


@pytest.mark.sqlite_only
async def test_create_room_gives_two_links_and_stores_only_hashes(harness):
    facilitator, invite, data = await harness.create_room()
    assert data["facilitator_url"].split("/k/")[1] == facilitator.token
    assert "/i/" in data["invite_url"]
    assert len(facilitator.token) >= 22 and len(invite) >= 22  # >= 128 bits of url-safe base64
    conn = sqlite3.connect(harness.data_dir / "companion.sqlite3")
    dump = "\n".join(conn.iterdump())
    assert facilitator.token not in dump and invite not in dump
    assert token_hash(facilitator.token) in dump and token_hash(invite) in dump
    state = await facilitator.state()
    assert state["you"]["role"] == "facilitator"
    assert state["room"]["status"] == "waiting"


async def test_create_room_refuses_bad_input(harness):
    cases = [
        ({"name": "", "method": "roddelmodel", "facilitator_name": "A"}, 400),
        ({"name": "x" * 500, "method": "roddelmodel", "facilitator_name": "A"}, 413),
        ({"name": "G", "method": "nope", "facilitator_name": "A"}, 400),
        ({"name": "G", "method": "roddelmodel", "facilitator_name": "A", "language": "de"}, 400),
        ({"name": "G", "method": "roddelmodel", "facilitator_name": "A", "capacity": 40}, 400),
        ({"name": 5, "method": "roddelmodel", "facilitator_name": "A"}, 400),
    ]
    for body, status in cases:
        async with harness.http.post(harness.url("/api/rooms"), json=body, headers=harness.facilitator_headers) as r:
            data = await r.json()
            assert r.status == status, (body, data)
            assert data["error"]["message"]
    async with harness.http.post(harness.url("/api/rooms"), data=b"{not json",
                                 headers={**harness.facilitator_headers, "Content-Type": "application/json"}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "bad_json"
    async with harness.http.post(harness.url("/api/rooms"), data=b"x" * (300 * 1024),
                                 headers={**harness.facilitator_headers, "Content-Type": "application/json"}) as r:
        assert r.status == 413


async def test_join_names_capacity_and_unknown_links(harness):
    facilitator, invite, _ = await harness.create_room(capacity=8)
    people = [await harness.join(invite, f"Deelnemer {i}") for i in range(8)]
    assert len({p.token for p in people}) == 8
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Negende"}) as r:
        assert r.status == 409
        assert (await r.json())["error"]["code"] == "room_full"
    async with harness.http.get(harness.url(f"/api/invites/{invite}")) as r:
        assert (await r.json())["full"] is True

    _, invite2, _ = await harness.create_room()
    await harness.join(invite2, "Sam")
    for name, status in [("sam", 409), ("", 400), ("a" * 41, 413), ("\u0000\u0007", 400)]:
        async with harness.http.post(harness.url(f"/api/invites/{invite2}/join"), json={"name": name}) as r:
            assert r.status == status, (name, await r.text())
    async with harness.http.post(harness.url("/api/invites/not-a-real-invite/join"), json={"name": "X"}) as r:
        assert r.status == 404
    async with harness.http.get(harness.url("/api/rooms/nosuchroom/state"), headers=facilitator.headers) as r:
        assert r.status == 403  # a valid token for another room


async def test_wrong_or_missing_token_is_refused(harness):
    facilitator, invite, _ = await harness.create_room()
    url = harness.url(f"/api/rooms/{facilitator.room_id}/state")
    async with harness.http.get(url) as r:
        assert r.status == 401
    async with harness.http.get(url, headers={"Authorization": "Bearer forged"}) as r:
        assert r.status == 403
    async with harness.http.get(harness.url("/k/forged")) as r:
        assert r.status == 404


async def test_personal_link_sets_cookie_and_opens_the_room(harness):
    facilitator, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(harness.url(f"/r/{anne.room_id}/k/{anne.token}"), allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == f"/r/{anne.room_id}"
        async with browser.get(harness.url(f"/api/rooms/{anne.room_id}/state")) as r:
            state = await r.json()
            assert state["you"]["name"] == "Anne"


async def test_roles_are_enforced_by_the_server(harness):
    facilitator, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    for command in ["session.start", "step.next", "timer.pause", "session.end", "vote.close", "participant.mute"]:
        status, body = await anne.command(command, participant_id=facilitator.id)
        assert status == 403, command
        assert "begeleider" in body["error"]["message"]
    await facilitator.ok("session.start")
    status, body = await facilitator.command("case.submit", title="t", question="q")
    assert status == 403
    status, body = await anne.command("question.reformulate", text="x")
    assert status == 403
    status, _ = await anne.command("no.such.command")
    assert status == 400
    state = await facilitator.state()
    assert state["step"]["index"] == 0  # nothing moved


async def test_user_text_is_never_markup_in_pages(harness):
    # The pages render state with textContent; here we check that the server
    # keeps text as text and pages carry no inline user data.
    facilitator, invite, _ = await harness.create_room(name="<script>alert(1)</script>")
    state = await facilitator.state()
    assert state["room"]["name"] == "<script>alert(1)</script>"
    async with harness.http.get(harness.url(f"/r/{facilitator.room_id}")) as r:
        html = await r.text()
        assert "<script>alert(1)</script>" not in html
        assert r.headers["Referrer-Policy"] == "no-referrer"
