"""Fault: three rooms at once on one server, each with its own gates and its own
advice list, and nothing crossing between them.

Nine aiortc participants (three per room) on one real server with the media
layer on.  Each room is in a different state: A in the roddelfase (its
inbrenger cut off), B in an open step, C in the advice round with a second
inbrenger and one camera switched off by its facilitator.  What every page
receives is counted on the page itself, per source and kind, and compared
with what that room's step allows; advice added in one room must never show
up in another room's list, state or download, and a token of one room opens
nothing of another.
"""

from __future__ import annotations

import asyncio

from conftest import MediaHarness, Person
from media_page import MediaPage, small_camera

from companion.media.loopback import wait_for
from companion.web import LIVE

ROD, EXPLANATION, ADVICE = 3, 2, 5  # 0-based roddelmodel steps
KINDS = ("audio", "video")
# Frames every open path must carry in the window (about 1.5 s of audio at 50/s and of video at 8/s).
OPEN_MIN = {"audio": 75, "video": 12}


def expected_paths(room: str, f: str, p1: str, p2: str) -> set[tuple[str, str, str]]:
    """(source, subscriber, kind) that should carry media in each room's step."""
    everyone = (f, p1, p2)
    all_paths = {(s, d, k) for s in everyone for d in everyone if s != d for k in KINDS}
    if room == "B":  # explanation: an open call
        return all_paths
    if room == "A":  # roddelfase, inbrenger p1: no video to or from p1, p1's microphone closed
        return {(s, d, k) for s, d, k in all_paths if not (k == "video" and p1 in (s, d)) and s != p1}
    # C: advice round, inbrenger p2, p1's camera off by the facilitator
    return {
        (s, d, k) for s, d, k in all_paths
        if not (k == "video" and (p2 in (s, d) or s == p1)) and s != p2
    }


async def setup_room(h: MediaHarness, label: str, names: tuple[str, str]) -> tuple[Person, Person, Person, list[MediaPage]]:
    fac, invite, _ = await h.create_room(name=f"Team {label}")
    p1 = await h.join(invite, names[0])
    p2 = await h.join(invite, names[1])
    pages = [MediaPage(h, person, video=small_camera(fps=8)) for person in (fac, p1, p2)]
    for page in pages:
        await page.open()
    inbrenger = p2 if label == "C" else p1
    await fac.ok("inbrenger.set", participant_id=inbrenger.id)
    await fac.ok("session.start")
    await fac.ok("step.goto", index={"A": ROD, "B": EXPLANATION, "C": ADVICE}[label])
    if label == "C":
        await fac.ok("participant.camera", participant_id=p1.id, off=True)
    return fac, p1, p2, pages


async def test_three_rooms_keep_their_own_gates_and_advice(media_server):
    h = media_server
    rooms: dict[str, tuple[Person, Person, Person, list[MediaPage]]] = {}
    try:
        for label, names in (("A", ("Anne", "Bas")), ("B", ("Anne", "Cor")), ("C", ("Dirk", "Eva"))):
            rooms[label] = await setup_room(h, label, names)
        media = h.server.app[LIVE].media
        ids = {label: {p.id for p in room[:3]} for label, room in rooms.items()}
        assert not (ids["A"] & ids["B"]) and not (ids["B"] & ids["C"])  # same names, other people

        def short(label: str, since: dict | None, least: dict[str, int]) -> str:
            """The open paths of a room that carried fewer frames than ``least`` (for the failure message)."""
            f, p1, p2, pages = rooms[label]
            out = []
            for s, d, k in sorted(expected_paths(label, f.id, p1.id, p2.id)):
                page = next(pg for pg in pages if pg.person.id == d)
                n = page.peer.received.get((s, k), 0) - (since or {}).get(d, {}).get((s, k), 0)
                if n < least[k]:
                    out.append(f"{label} {s}->{d} {k}: {n}")
            return "; ".join(out)

        # Every page is connected and every open path of its room has carried media.
        for label in rooms:
            await wait_for(lambda label=label: not short(label, None, {"audio": 6, "video": 6}), 90,
                           explain=lambda label=label: short(label, None, {"audio": 6, "video": 6}))

        # Counted on every page over one window, waited for by count rather than by the clock
        # (nine peers on two cores do not keep real time): every open path carries a good number
        # of frames while every closed path carries none.
        await asyncio.sleep(1.0)  # frames sent before the last gate change have landed
        all_pages = [pg for room in rooms.values() for pg in room[3]]
        before = {pg.person.id: dict(pg.peer.received) for pg in all_pages}

        def delta(page: MediaPage, source: str, kind: str) -> int:
            return page.peer.received.get((source, kind), 0) - before[page.person.id].get((source, kind), 0)

        await wait_for(lambda: not any(short(label, before, OPEN_MIN) for label in rooms), 90,
                       explain=lambda: " | ".join(short(label, before, OPEN_MIN) for label in rooms))
        for label, (f, p1, p2, pages) in rooms.items():
            wanted = expected_paths(label, f.id, p1.id, p2.id)
            for page in pages:
                d = page.person.id
                # Nothing from another room, on any slot this page was ever told about.
                assert {src for src, _ in page.peer.received} <= ids[label], (label, page.peer.received)
                assert {s["participant"] for s in page.peer.slots.values()} <= ids[label] | {None}
                for s in ids[label] - {d}:
                    for k in KINDS:
                        if (s, d, k) not in wanted:
                            assert delta(page, s, k) == 0, (label, s, d, k, delta(page, s, k))
            # The server's own count agrees, and knows of no path out of the room.
            stats = media.stats(f.room_id)
            assert {s for s, _, _ in stats} | {d for _, d, _ in stats} <= ids[label]

        # Advice added by hand in B and C; A has none (the roddelfase is no advice round).
        texts = {
            "B": ["Vraag je team om hulp bij de planning."],
            "C": ["Zeg vaker nee tegen extra taken.", "Plan elke week een uur voor jezelf."],
        }
        for label, items in texts.items():
            f, p1 = rooms[label][0], rooms[label][1]
            for text in items:
                async with h.http.post(h.url(f"/api/rooms/{f.room_id}/advice"), json={"text": text, "participant_id": p1.id},
                                       headers=f.headers) as r:
                    assert r.status == 201, await r.text()
        for label, (f, p1, p2, pages) in rooms.items():
            own = texts.get(label, [])
            foreign = [t for other, items in texts.items() if other != label for t in items]
            for person in (f, p1, p2):
                async with h.http.get(h.url(f"/api/rooms/{f.room_id}/advice"), headers=person.headers) as r:
                    assert [i["text"] for i in (await r.json())["items"]] == own
            inbrenger = p2 if label == "C" else p1
            async with h.http.get(h.url(f"/api/rooms/{f.room_id}/advice/export.md"), headers=inbrenger.headers) as r:
                document = await r.text()
                assert r.status == 200
            assert all(t in document for t in own) and not any(t in document for t in foreign), (label, document)
            # Every state any page of this room received was about this room only.
            await wait_for(lambda pages=pages, own=own: all(
                [i["text"] for i in pg.states[-1]["advice"]["items"]] == own for pg in pages), 10)
            for page in pages:
                for state in page.states:
                    assert state["room"]["id"] == f.room_id
                    assert {p["id"] for p in state["participants"]} <= ids[label]
                    assert not any(i["text"] in foreign for i in state["advice"]["items"])

        # A token of room A opens nothing of room B, and cannot change it.
        a_fac, a_p1 = rooms["A"][0], rooms["A"][1]
        b_fac = rooms["B"][0]
        b_room = b_fac.room_id
        b_item = (await (await h.http.get(h.url(f"/api/rooms/{b_room}/advice"), headers=b_fac.headers)).json())["items"][0]["id"]
        for person in (a_fac, a_p1):
            for method, path, body in [
                ("GET", f"/api/rooms/{b_room}/state", None),
                ("GET", f"/api/rooms/{b_room}/advice", None),
                ("GET", f"/api/rooms/{b_room}/advice/export.md", None),
                ("POST", f"/api/rooms/{b_room}/commands", {"command": "step.next"}),
                ("POST", f"/api/rooms/{b_room}/advice", {"text": "Ingebroken"}),
                ("PATCH", f"/api/rooms/{b_room}/advice/{b_item}", {"text": "Ingebroken"}),
                ("DELETE", f"/api/rooms/{b_room}/advice", None),
            ]:
                async with h.http.request(method, h.url(path), json=body, headers=person.headers) as r:
                    assert r.status == 403, (method, path, r.status)
                    assert (await r.json())["error"]["message"]
        # Room B's item through room A's own address: not found there.
        async with h.http.patch(h.url(f"/api/rooms/{a_fac.room_id}/advice/{b_item}"), json={"text": "Ingebroken"},
                                headers=a_fac.headers) as r:
            assert r.status == 404
        # Nor room B's WebSocket.
        async with h.http.get(h.url(f"/r/{b_room}/ws"), headers={**a_fac.headers, "Connection": "Upgrade",
                                                                "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as r:
            assert r.status == 403
        state = await b_fac.state()
        assert state["step"]["index"] == EXPLANATION
        assert [i["text"] for i in state["advice"]["items"]] == texts["B"]
    finally:
        for room in rooms.values():
            for page in room[3]:
                await page.close()
