"""No secret in the server's log: a session with garbage, aborted requests and oversized headers,
logged at debug level, and every token it handed out searched for in the log."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp

from served import ServedCompanion


def raw(port: int, data: bytes, read: bool = True) -> bytes:
    """Bytes on a plain socket, as a broken or hostile client sends them."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if not read:
            return b""
        try:
            return s.recv(65536)
        except OSError:
            return b""


async def test_no_token_in_the_log_of_a_session_with_garbage(tmp_path):
    served = ServedCompanion(tmp_path, "-v")
    served.start()
    secrets: dict[str, str] = {"facilitator link": served.facilitator_token}
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            base = served.base
            async with http.post(base + "/api/rooms", json={"name": "Team Log", "method": "roddelmodel",
                                                            "facilitator_name": "Fleur"}, headers=served.facilitator_headers) as r:
                room = await r.json()
            room_id, invite = room["room_id"], room["invite_url"].rsplit("/", 1)[1]
            secrets["facilitator"], secrets["invite"] = room["token"], invite
            people = {}
            for name in ("Anne", "Bas"):
                async with http.post(f"{base}/api/rooms/{room_id}/invites/{invite}/join", json={"name": name}) as r:
                    people[name] = await r.json()
                    secrets[name] = people[name]["token"]
            secrets.update({f"cookie {c.key}": c.value for c in jar if c.key.startswith("companion")})
            fac = {"Authorization": f"Bearer {room['token']}"}

            # A session's worth of ordinary traffic.
            async with http.get(f"{base}/f/{served.facilitator_token}", allow_redirects=False) as r:
                assert r.status == 303
            async with http.get(f"{base}/r/{room_id}/k/{people['Anne']['token']}", allow_redirects=False) as r:
                assert r.status == 303
            # The facilitator's control over who is in hands out new secrets: none of them in the log either.
            async with http.post(f"{base}/api/rooms/{room_id}/invite", json={}, headers={"Authorization": f"Bearer {room['token']}"}) as r:
                secrets["renewed invite"] = (await r.json())["invite_url"].rsplit("/", 1)[1]
            async with http.post(f"{base}/api/rooms/{room_id}/participants/{people['Bas']['participant_id']}/link", json={},
                                 headers={"Authorization": f"Bearer {room['token']}"}) as r:
                secrets["renewed Bas"] = (await r.json())["personal_url"].rsplit("/", 1)[1]
            async with http.get(f"{base}/r/{room_id}/k/{secrets['renewed Bas']}", allow_redirects=False) as r:
                assert r.status == 303
            async with http.get(f"{base}/r/{room_id}/i/{secrets['renewed invite']}") as r:
                assert r.status == 200
            async with http.get(f"{base}/i/{secrets['renewed invite']}") as r:
                assert r.status == 200  # protocol 1's link, redirected
            async with http.get(f"{base}/i/{invite}") as r:
                assert r.status == 404  # renewed: unknown
            ws = await http.ws_connect(f"{base}/r/{room_id}/ws", headers=fac)
            await ws.send_str("{not json")
            await ws.send_str("[" * 5000 + "]" * 5000)
            await ws.send_json({"type": "command", "command": "session.start"})
            await ws.send_json({"type": "command", "command": "case.submit", "args": {"title": secrets["Anne"]}})
            await ws.send_bytes(secrets["Bas"].encode())
            await asyncio.sleep(0.5)
            await ws.close()

            # Garbage with secrets in it.
            for path in (f"/k/{secrets['facilitator']}x", f"/f/{secrets['invite']}", f"/api/invites/{invite}x",
                         f"/r/{room_id}/ws?token={secrets['facilitator']}", f"/nope/{secrets['Anne']}"):
                async with http.get(base + path) as r:
                    assert r.status < 500, path
            for data, ctype in ((f'{{"name": "{secrets["Bas"]}"', "application/json"), ("[" * 100000, "application/json"),
                                (secrets["Anne"], "text/plain")):
                async with http.post(f"{base}/api/rooms/{room_id}/invites/{secrets['renewed invite']}/join", data=data.encode(),
                                     headers={"Content-Type": ctype}) as r:
                    assert r.status < 500, (data[:20], r.status)
            async with http.post(f"{base}/api/rooms/{room_id}/commands", json={"command": secrets["Anne"]}, headers=fac) as r:
                assert r.status == 400
        port = served.port
        # Aborted in the middle of the body: the join that logged its invite with a traceback.
        raw(port, (f"POST /api/rooms/{room_id}/invites/{secrets['renewed invite']}/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: 500\r\n\r\n{{\"name\": ").encode(), read=False)
        # A Cookie header past every limit, made of personal tokens.
        cookie = "; ".join(f"companion_{i:04d}{room_id}={secrets['Anne']}" for i in range(1000))
        answer = raw(port, f"GET /api/rooms/{room_id}/state HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
        assert answer[:10] in (b"HTTP/1.1 4", b"HTTP/1.0 4"), answer[:20]  # refused, never a 500
        # A request line that is not HTTP, with a token in it; a path that is far too long.
        raw(port, f"GARBAGE /k/{secrets['Bas']} HTTP/9\r\n\r\n".encode())
        raw(port, f"GET /k/{secrets['Bas'] * 1000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await asyncio.sleep(1)
    finally:
        served.close()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "DEBUG" in log  # the whole log, not only warnings
    leaks = {what: token for what, token in secrets.items() if token[:16] in log}
    assert leaks == {}, [line for line in log.splitlines() if any(t[:16] in line for t in leaks.values())][:5]
    assert "Traceback" not in log
