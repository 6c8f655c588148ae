"""What another website's page could make a browser do with our cookies, and the headers every answer carries."""

from __future__ import annotations

import aiohttp
import pytest

from companion.config import Settings
from companion.web import ENGINE
from conftest import Harness

EVIL = "https://evil.example"


async def test_websocket_upgrade_checks_origin_and_takes_no_token_in_the_url(harness):
    fac, invite, _ = await harness.create_room()
    url = harness.url(f"/r/{fac.room_id}/ws")
    own = harness.url("/").rstrip("/")
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await harness.http.ws_connect(url, headers={**fac.headers, **headers})
        assert refused.value.status == 403, headers
    # The page's own origin is fine, as is a client that names none.
    ws = await harness.http.ws_connect(url, headers={**fac.headers, "Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    await ws.close()
    # A token in the query string is not a way in (URLs end up in logs and history).
    async with aiohttp.ClientSession() as bare:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await bare.ws_connect(f"{url}?token={fac.token}")
        assert refused.value.status == 401


async def test_state_changes_need_json_from_our_own_origin(harness):
    fac, invite, _ = await harness.create_room()
    commands = harness.url(f"/api/rooms/{fac.room_id}/commands")
    body = '{"command": "session.start"}'
    # What a cross-site form can send: text/plain, form-encoded, multipart. Refused without effect.
    for data, ctype in ((body, "text/plain"), ("command=session.start", "application/x-www-form-urlencoded"),
                        (body, None)):
        headers = {**fac.headers, **({"Content-Type": ctype} if ctype else {})}
        async with harness.http.post(commands, data=data.encode(), headers=headers) as r:
            assert r.status == 415, (ctype, await r.text())
            assert (await r.json())["error"]["code"] == "json_only"
    async with harness.http.post(commands, json={"command": "session.start"}, headers={**fac.headers, "Origin": EVIL}) as r:
        assert r.status == 403 and (await r.json())["error"]["code"] == "cross_site"
    async with harness.http.post(commands, json={"command": "session.start"},
                                 headers={**fac.headers, "Sec-Fetch-Site": "cross-site"}) as r:
        assert r.status == 403
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Eve"}, headers={"Origin": EVIL}) as r:
        assert r.status == 403
    assert (await fac.state())["room"]["status"] == "waiting"
    assert [p["name"] for p in (await fac.state())["participants"]] == ["Fleur"]
    own = harness.url("/").rstrip("/")
    async with harness.http.post(commands, json={"command": "session.start"},
                                 headers={**fac.headers, "Origin": own, "Sec-Fetch-Site": "same-origin"}) as r:
        assert r.status == 200


async def test_delete_now_asks_for_confirmation_in_the_body(harness):
    fac, invite, _ = await harness.create_room()
    await fac.ok("session.start")
    await fac.ok("session.end")
    url = harness.url(f"/api/rooms/{fac.room_id}/delete-now")
    for body in ({}, {"confirm": "yes"}, {"confirm": 1}):
        async with harness.http.post(url, json=body, headers=fac.headers) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "confirm_needed", body
    assert (await fac.state())["room"]["status"] == "ended"
    async with harness.http.post(url, json={"confirm": True}, headers=fac.headers) as r:
        assert r.status == 200


async def test_one_session_cookie_for_many_rooms_cleared_when_its_rooms_are_gone(harness):
    harness.server.app[ENGINE].max_rooms_per_facilitator = 200
    jar = aiohttp.CookieJar(unsafe=True)
    rooms = []
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        for n in range(40):
            fac, invite, _ = await harness.create_room(name=f"Groep {n}")
            async with browser.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Anne"}) as r:
                assert r.status == 201
            rooms.append(fac)
        names = sorted(c.key for c in jar)
        assert names == ["companion"], names  # one cookie, not one per room
        cookie = next(iter(jar))
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert int(cookie["max-age"]) == (30 + 1) * 86400  # retention, and the day before a start
        header = "; ".join(f"{c.key}={c.value}" for c in jar)
        assert len(header) < 100
        for fac in (rooms[0], rooms[-1]):
            async with browser.get(harness.url(f"/api/rooms/{fac.room_id}/state")) as r:
                assert r.status == 200 and (await r.json())["you"]["name"] == "Anne"
        # Deleted rooms: the cookie stays while it names a room, and goes with the last one.
        for fac in rooms:
            await fac.ok("session.start")
            await fac.ok("session.end")
            async with harness.http.post(harness.url(f"/api/rooms/{fac.room_id}/delete-now"), json={"confirm": True},
                                         headers=fac.headers) as r:
                assert r.status == 200
            async with browser.get(harness.url(f"/api/rooms/{fac.room_id}/state")) as r:
                assert r.status in (401, 403, 404)
                cleared = "companion=" in r.headers.get("Set-Cookie", "") and "Max-Age=0" in r.headers.get("Set-Cookie", "")
            assert cleared == (fac is rooms[-1]), fac.room_id
        assert not [c for c in jar if c.key == "companion"]


class HttpsHarness(Harness):
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, enable_media=False, enable_transcription=False,
                        public_url="https://intervisie.example.nl")


@pytest.fixture
async def https_harness(tmp_path):
    h = HttpsHarness(tmp_path / "data")
    await h.start()
    yield h
    await h.close()


async def test_https_cookies_are_host_only_and_hsts_is_sent(https_harness):
    h = https_harness
    async with h.http.get(h.url(f"/f/{h.facilitator_token}"), allow_redirects=False) as r:
        assert r.headers["Set-Cookie"].startswith("__Host-companion_fac=")
        assert "Secure" in r.headers["Set-Cookie"] and "Path=/" in r.headers["Set-Cookie"]
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    fac, invite, data = await h.create_room()
    async with h.http.post(h.url(f"/api/invites/{invite}/join"), json={"name": "Anne"},
                           headers={"Origin": "https://intervisie.example.nl"}) as r:
        assert r.status == 201
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-companion=") and "Secure" in cookie and "Domain" not in cookie
    # The public address is the only origin: the server's own address behind the proxy is not.
    async with h.http.post(h.url(f"/api/invites/{invite}/join"), json={"name": "Bas"},
                           headers={"Origin": h.url("/").rstrip("/")}) as r:
        assert r.status == 403


async def test_security_headers_on_every_answer_errors_included(harness):
    fac, invite, _ = await harness.create_room()
    checks = [
        ("GET", "/", None, 200), ("GET", f"/r/{fac.room_id}", None, 200), ("GET", "/static/js/dom.js", None, 200),
        ("GET", "/no/such/page", None, 404), ("GET", "/api/rooms/nope/state", None, 401),
        ("GET", f"/api/rooms/{fac.room_id}/state", fac.headers, 200), ("DELETE", "/api/methods", None, 405),
        ("POST", "/api/rooms", {"Content-Type": "text/plain"}, 415),
    ]
    for method, path, headers, status in checks:
        async with harness.http.request(method, harness.url(path), headers=headers or {}) as r:
            assert r.status == status, (path, r.status)
            h = r.headers
            assert h["Server"] == "companion", path  # no version
            assert "default-src 'self'" in h["Content-Security-Policy"] and "unsafe-inline" not in h["Content-Security-Policy"], path
            assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
            assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer", path
            assert "Strict-Transport-Security" not in h  # plain http: HSTS would mean nothing
            if path.startswith("/api/"):
                assert h["Cache-Control"] == "no-store", path
    # Forwarded headers are not believed from just anyone.
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Anne"},
                                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}) as r:
        assert r.status == 201
        data = await r.json()
        assert "evil.example" not in data["personal_url"] and data["personal_url"].startswith("http://127.0.0.1")
        assert "Secure" not in r.headers["Set-Cookie"]


async def test_deeply_nested_json_is_a_400_not_a_500(harness):
    fac, invite, _ = await harness.create_room()
    deep = b"[" * 100000 + b"]" * 100000
    async with harness.http.post(harness.url(f"/api/rooms/{fac.room_id}/commands"), data=deep,
                                 headers={**fac.headers, "Content-Type": "application/json"}) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad_json"
