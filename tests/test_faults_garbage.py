"""Fault: a page that sends garbage, broken or oversized SDP, or acts above its role.

test_session_flow covers plain garbage on a room without media, and
test_media_forwarding the signalling checks of the media service on its own.
Here it all goes through one real server with live media: the sender gets an
error with a message for every bad message, the others keep their state
pushes and their media, and the server logs no error.  Then every command
and every advice call is sent arguments of the wrong type: always a 4xx with
a message, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging

from conftest import Harness, MediaHarness, Person
from media_page import MediaPage, small_camera

from companion.engine import COMMANDS
from companion.media.loopback import wait_for
from companion.web import HTTP_LIMITS, LIVE

BROKEN_SDP = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=fingerprint:sha-256 zz\r\n"
)


def no_server_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def expect_error(person: Person, frame: str | bytes, status: int, code: str | None = None) -> dict:
    """Send one raw frame (no id: garbage has none) and wait for the error it earns."""
    seen = len([m for m in person.messages if m["type"] == "error"])
    if isinstance(frame, bytes):
        await person.ws.send_bytes(frame)
    else:
        await person.ws.send_str(frame)
    await wait_for(lambda: len([m for m in person.messages if m["type"] == "error"]) > seen, 10)
    error = [m for m in person.messages if m["type"] == "error"][seen]
    assert error["status"] == status, (frame[:80], error)
    assert code is None or error["code"] == code, (frame[:80], error)
    assert isinstance(error["message"], str) and error["message"].strip()
    return error


async def flowing(pages: list[MediaPage], kinds=("audio", "video")) -> None:
    """Every page receives every kind from every other page, counted from now."""
    start = {pg.person.id: dict(pg.peer.received) for pg in pages}
    await wait_for(lambda: all(
        pg.peer.received[(other.person.id, k)] > start[pg.person.id].get((other.person.id, k), 0) + 5
        for pg in pages for other in pages if other is not pg for k in kinds), 60)


async def test_garbage_bad_sdp_and_overreach_get_errors_while_the_room_goes_on(media_server, caplog):
    caplog.set_level(logging.INFO)
    h: MediaHarness = media_server
    fac, invite, _ = await h.create_room()
    anne, bas, chris = [await h.join(invite, n) for n in ("Anne", "Bas", "Chris")]
    pages = [MediaPage(h, p, video=small_camera()) for p in (fac, anne, bas)]
    try:
        for page in pages:
            await page.open()
        await flowing(pages)
        await fac.ok("session.start")

        # Chris's page misbehaves on its own socket.
        await chris.connect()
        for frame, status, code in [
            ("{not json", 400, "bad_json"),
            (b"\x00\x01binary", 400, "bad_message"),
            ("[1, 2, 3]", 400, "bad_message"),
            ('"just a string"', 400, "bad_message"),
            ("null", 400, "bad_message"),
            ("[" * 100_000, 400, "bad_json"),  # nested past the parser's recursion limit
            ('{"type": 5}', 400, "unknown_type"),
            ('{"type": "launch.missiles"}', 400, "unknown_type"),
            ('{"type": "command"}', 400, "unknown_command"),
            ('{"type": "command", "command": ["step.next"]}', 400, "unknown_command"),
            ('{"type": "command", "command": "case.submit", "args": "title"}', 400, "invalid"),
            ('{"type": "command", "command": "vote.cast", "args": {"case_id": {"$ne": null}}}', 409, None),
            ('{"type": "command", "command": "takeaway.save", "args": {"text": ["a"], "shared": "ja"}}', 400, None),
            # Signalling before joining, unknown media messages, and SDP that is too big or not SDP.
            ('{"type": "media.answer", "sdp": "v=0\\r\\n"}', 409, "media_not_joined"),
            ('{"type": "media.keyframe"}', 409, "media_not_joined"),
            ('{"type": "media.bogus"}', 400, "unknown_media_type"),
            (json.dumps({"type": "media.answer", "sdp": "v=0\r\n" + "a" * 70_000}), 413, "sdp_too_large"),
            ('{"type": "media.answer", "sdp": 12}', 400, "bad_sdp"),
            ('{"type": "media.answer", "sdp": "hello"}', 400, "bad_sdp"),
        ]:
            await expect_error(chris, frame, status, code)
        # A ping with a strange id still gets its pong (the id is dropped, not echoed).
        await chris.ws.send_str('{"type": "ping", "id": {"nested": [1]}}')
        await wait_for(lambda: any(m["type"] == "pong" and m["id"] is None for m in chris.messages), 5)

        # Chris joins the media and answers the server's offer with nonsense: refused, and the
        # offer stays open for a real answer.
        await chris.ws.send_json({"type": "media.join"})
        await wait_for(lambda: any(m["type"] == "media.offer" for m in chris.messages), 20)
        seq = next(m for m in chris.messages if m["type"] == "media.offer")["seq"]
        await expect_error(chris, json.dumps({"type": "media.answer", "seq": seq, "sdp": BROKEN_SDP}), 400, "bad_sdp")
        await expect_error(chris, json.dumps({"type": "media.answer", "seq": seq + 7, "sdp": BROKEN_SDP}), 409, "stale_answer")
        await expect_error(chris, json.dumps({"type": "media.answer", "seq": seq,
                                              "sdp": "v=0\r\n" + "a=x\r\n" * 20_000}), 413, "sdp_too_large")

        # Actions above a deelnemer's role, over the socket and over HTTP: refused with the reason.
        for command, args in [
            ("step.next", {}), ("step.goto", {"index": 5}), ("session.end", {}), ("timer.add", {"minutes": 30}),
            ("participant.mute", {"participant_id": anne.id, "muted": True}),
            ("participant.camera", {"participant_id": bas.id, "off": True}),
            ("inbrenger.set", {"participant_id": chris.id}), ("vote.close", {}),
        ]:
            reply = await chris.send({"type": "command", "command": command, "args": args})
            assert reply["type"] == "error" and reply["status"] == 403, (command, reply)
            assert "begeleider" in reply["message"]
            status, body = await chris.command(command, **args)
            assert status == 403 and body["error"]["message"], (command, body)
        for method, path, body in [
            ("POST", "", {"text": "Mijn eigen advies erbij"}),
            ("DELETE", "", None),
            ("GET", "/export.md", None),
        ]:
            async with h.http.request(method, h.url(f"/api/rooms/{chris.room_id}/advice{path}"), json=body,
                                      headers=chris.headers) as r:
                assert r.status == 403 and (await r.json())["error"]["message"], (method, path)

        # A frame over the limit closes only Chris's socket; his half-made media goes with it.
        await chris.ws.send_str("x" * (300 * 1024))
        await wait_for(lambda: chris.ws.closed, 5)
        media = h.server.app[LIVE].media
        await wait_for(lambda: media.connected(fac.room_id) == {fac.id, anne.id, bas.id}, 10)

        # The room went on: nothing moved, the others get the next state and their media flows.
        state = await fac.state()
        assert state["step"]["index"] == 0 and state["room"]["status"] == "running"
        assert not any(p["mic_muted_by"] or p["camera_off"] for p in state["participants"])
        await fac.ok("step.next")
        await wait_for(lambda: all(pg.states and pg.states[-1]["step"]["index"] == 1 for pg in pages), 10)
        await flowing(pages)
        assert all(pg.errors == [] for pg in pages)
        # Chris comes back with a clean page and gets media like anyone.
        chris_page = MediaPage(h, chris, video=small_camera())
        pages.append(chris_page)
        await chris_page.open()
        await flowing(pages)
        assert no_server_errors(caplog) == []
    finally:
        for page in pages:
            await page.close()


# Values of the wrong type, size or range for any argument.
WRONG = [None, [], {"a": 1}, "x" * 5000, float("nan"), True, -1, 10**30, "\u0000"]
ADVICE_STEP = 5


def command_args(anne: Person, bas: Person) -> dict[str, dict]:
    """Each command with arguments that would pass; one at a time is replaced by a wrong value."""
    return {
        "step.goto": {"index": 2}, "timer.add": {"minutes": 1}, "inbrenger.set": {"participant_id": bas.id},
        "vote.decide": {"case_id": "c"}, "participant.mute": {"participant_id": anne.id, "muted": False},
        "participant.camera": {"participant_id": anne.id, "off": False}, "case.submit": {"title": "t", "question": "q"},
        "vote.cast": {"case_id": "c"}, "question.reformulate": {"text": "t"}, "takeaway.save": {"text": "t", "shared": False},
        "mic.self": {"muted": False},
    }


async def test_wrong_argument_types_get_a_4xx_never_a_500(harness: Harness, caplog):
    caplog.set_level(logging.WARNING)
    h = harness
    fac, invite, _ = await h.create_room()
    anne, bas = await h.join(invite, "Anne"), await h.join(invite, "Bas")
    await fac.ok("inbrenger.set", participant_id=bas.id)
    await fac.ok("session.start")
    failures: list[tuple] = []
    statuses: list[int] = []

    async def probe(person: Person, method: str, path: str, body) -> None:
        data = json.dumps(body, allow_nan=True)
        headers = {**person.headers, "Content-Type": "application/json"}
        # The HTTP rate limit (per address and credential) would answer most of these probes with a 429
        # before their arguments are read: wait for the bucket, so every probe reaches the argument checks.
        for _ in range(60):
            async with h.http.request(method, h.url(path), data=data, headers=headers) as r:
                answer = await r.json()
                if r.status != 429:
                    break
            await asyncio.sleep(0.25)
        statuses.append(r.status)
        if r.status >= 500 or (r.status >= 400 and not answer.get("error", {}).get("message")):
            failures.append((method, path.rsplit("/", 2)[-2:], data[:80], r.status, answer))

    commands = f"/api/rooms/{fac.room_id}/commands"
    valid = command_args(anne, bas)
    for name, spec in COMMANDS.items():
        if name == "session.end":
            continue  # it takes no arguments, and would end the probing
        # Whoever may run it: a refused role never gets as far as the arguments.
        person = fac if "facilitator" in spec.roles else anne if "deelnemer" in spec.roles else bas
        for args in ([], "x", 5, None):
            await probe(person, "POST", commands, {"command": name, "args": args})
        for key in valid.get(name, {}):
            for value in WRONG:
                await probe(person, "POST", commands, {"command": name, "args": {**valid[name], key: value}})
    for body in ([], "x", {"command": None}, {"args": {}}):
        await probe(fac, "POST", commands, body)

    # The probing emptied the buckets on purpose; what follows is a fresh page's worth of calls.
    h.server.app[HTTP_LIMITS].buckets.clear()
    await fac.ok("step.goto", index=ADVICE_STEP)
    base = f"/api/rooms/{fac.room_id}/advice"
    async with h.http.post(h.url(base), json={"text": "Een advies om te corrigeren."}, headers=fac.headers) as r:
        item = (await r.json())["item"]["id"]
    calls = [
        ("POST", base, ["text", "participant_id", "after"]), ("POST", base + "/merge", ["first", "second"]),
        ("PUT", base + "/note", ["text"]), ("PATCH", f"{base}/{item}", ["text", "participant_id"]),
        ("POST", f"{base}/{item}/split", ["at"]), ("POST", f"{base}/{item}/move", ["index"]),
        ("PUT", f"{base}/{item}/mark", ["mark"]), ("PUT", f"{base}/{item}/note", ["note"]),
    ]
    for method, path, keys in calls:
        person = bas if path.endswith(("/mark", "/note")) else fac  # marks and notes are the inbrenger's
        for body in ([], "x", None):
            await probe(person, method, path, body)
        for key in keys:
            for value in WRONG:
                await probe(person, method, path, {key: value})
    assert failures == []
    assert len(statuses) > 300 and sum(400 <= s < 500 for s in statuses) > 250, len(statuses)
    assert no_server_errors(caplog) == []
