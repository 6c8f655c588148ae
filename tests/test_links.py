"""Every link and API path that concerns a room carries its id (protocol 2); the links of protocol 1 redirect."""

from __future__ import annotations

import aiohttp

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True


async def test_links_carry_the_room_id(harness):
    fac, invite, data = await harness.create_room()
    room = fac.room_id
    assert data["facilitator_url"] == harness.url(f"/r/{room}/k/{fac.token}")
    assert data["invite_url"] == harness.url(f"/r/{room}/i/{invite}")
    async with harness.http.get(harness.url(f"/api/rooms/{room}/invites/{invite}")) as r:
        assert r.status == 200 and (await r.json())["room"]["name"] == "Team Noord"
    async with harness.http.post(harness.url(f"/api/rooms/{room}/invites/{invite}/join"), json={"name": "Anne"}) as r:
        joined = await r.json()
        assert r.status == 201, joined
    assert joined["personal_url"] == harness.url(f"/r/{room}/k/{joined['token']}")
    async with harness.http.get(harness.url(f"/r/{room}/i/{invite}")) as r:
        assert r.status == 200 and "join.js" in await r.text()
    # The personal link opens the room in a browser of its own (the cookie), as before.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(harness.url(f"/r/{room}/k/{joined['token']}"), allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == f"/r/{room}"
        async with browser.get(harness.url(f"/api/rooms/{room}/state")) as r:
            assert r.status == 200 and (await r.json())["you"]["name"] == "Anne"
    # Renewed links have the same form.
    async with harness.http.post(harness.url(f"/api/rooms/{room}/invite"), json={}, headers=fac.headers) as r:
        assert (await r.json())["invite_url"].startswith(harness.url(f"/r/{room}/i/"))
    url = harness.url(f"/api/rooms/{room}/participants/{joined['participant_id']}/link")
    async with harness.http.post(url, json={}, headers=fac.headers) as r:
        assert (await r.json())["personal_url"].startswith(harness.url(f"/r/{room}/k/"))


async def test_a_link_under_another_room_opens_nothing(harness):
    fac, invite, _ = await harness.create_room()
    other, other_invite, _ = await harness.create_room()
    async with harness.http.get(harness.url(f"/api/rooms/{other.room_id}/invites/{invite}")) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_invite"
    async with harness.http.post(harness.url(f"/api/rooms/{other.room_id}/invites/{invite}/join"), json={"name": "Eve"}) as r:
        assert r.status == 404
    async with harness.http.get(harness.url(f"/r/{other.room_id}/k/{fac.token}"), allow_redirects=False) as r:
        assert r.status == 404 and "onbekend" in await r.text() and "Set-Cookie" not in r.headers
    assert len((await fac.state())["participants"]) == 1  # Eve did not get in anywhere


async def test_links_of_protocol_1_redirect(harness):
    fac, invite, _ = await harness.create_room()
    room = fac.room_id
    async with harness.http.get(harness.url(f"/k/{fac.token}"), allow_redirects=False) as r:
        assert r.status == 307 and r.headers["Location"] == f"/r/{room}/k/{fac.token}"
    async with harness.http.get(harness.url(f"/i/{invite}"), allow_redirects=False) as r:
        assert r.status == 307 and r.headers["Location"] == f"/r/{room}/i/{invite}"
    async with harness.http.get(harness.url(f"/api/invites/{invite}"), allow_redirects=False) as r:
        assert r.status == 307 and r.headers["Location"] == f"/api/rooms/{room}/invites/{invite}"
    # A client that follows redirects keeps working: the POST and its body go on to the new path (307).
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Bas"}) as r:
        assert r.status == 201 and (await r.json())["room_id"] == room
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(harness.url(f"/k/{fac.token}")) as r:
            assert r.status == 200 and r.url.path == f"/r/{room}"
        async with browser.get(harness.url(f"/api/rooms/{room}/state")) as r:
            assert r.status == 200
    for path in ("/k/nope", "/i/nope"):
        async with harness.http.get(harness.url(path), allow_redirects=False) as r:
            assert r.status == 404 and "onbekend" in await r.text()
    async with harness.http.post(harness.url("/api/invites/nope/join"), json={"name": "X"}) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_invite"


async def test_a_link_with_a_slash_added_or_a_wrong_path_gets_a_dutch_answer(harness):
    fac, invite, _ = await harness.create_room()
    room = fac.room_id
    # Mail programs and chat apps sometimes add a slash at the end: the link still works.
    for path, target in ((f"/r/{room}/k/{fac.token}/", f"/r/{room}/k/{fac.token}"),
                         (f"/r/{room}/i/{invite}/", f"/r/{room}/i/{invite}"),
                         (f"/k/{fac.token}/", f"/k/{fac.token}"), (f"/r/{room}/", f"/r/{room}")):
        async with harness.http.get(harness.url(path), allow_redirects=False) as r:
            assert r.status == 308 and r.headers["Location"] == target, (path, r.status)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(harness.url(f"/r/{room}/k/{fac.token}/")) as r:
            assert r.status == 200 and r.url.path == f"/r/{room}"
    # A cut-off or mistyped link: a page in Dutch (and English), not aiohttp's bare "404: Not Found".
    for method in ("GET", "HEAD"):
        async with harness.http.request(method, harness.url(f"/r/{room}/x/{fac.token}")) as r:
            assert r.status == 404 and r.content_type == "text/html"
            if method == "GET":
                assert "bestaat niet" in await r.text()
    async with harness.http.get(harness.url(f"/api/rooms/{room}/nothing")) as r:
        error = (await r.json())["error"]
        assert r.status == 404 and error["message"] == "Dit adres bestaat niet." and error["message_en"] != error["message"]
    async with harness.http.put(harness.url("/api/rooms"), json={}) as r:
        error = (await r.json())["error"]
        assert r.status == 405 and error["code"] == "method_not_allowed" and "POST" in r.headers["Allow"]
