"""The media layer inside the real room server: signalling over the room's
WebSocket, gates following the phase engine through the roddelmodel."""

from __future__ import annotations

import asyncio

from media_page import MediaPage

from companion.media.loopback import wait_for
from companion.web import LIVE

from test_media_forwarding import resume_limit


async def test_roddelmodel_through_the_real_server(media_server):
    h = media_server
    facilitator, invite, _ = await h.create_room(method="roddelmodel")
    people = [await h.join(invite, name) for name in ("Anne", "Bas", "Chris")]
    everyone = [facilitator, *people]
    browsers = [MediaPage(h, p) for p in everyone]
    media = h.server.app[LIVE].media
    assert media is not None
    try:
        for b in browsers:
            await b.open()
        ids = [p.id for p in everyone]
        room = facilitator.room_id

        def flowing_to(sub: str, sources, kind: str, since: dict) -> bool:
            stats = media.stats(room)
            return all(stats.get((s, sub, kind), {}).get("packets", 0) > since.get((s, sub, kind), 0) + 3 for s in sources)

        await wait_for(lambda: all(flowing_to(d, [s for s in ids if s != d], k, {}) for d in ids for k in ("audio", "video")), 60)

        # Run the session to the roddelfase with Bas as inbrenger.
        await facilitator.ok("session.start")
        for person in people:
            await person.ok("case.submit", title=f"Casus {person.id}", question=f"Hoe ga ik om met {person.id}?")
        state = await facilitator.state()
        case_of = {c["author_id"]: c["id"] for c in state["cases"]}
        if not state["step"]["has_vote"]:
            await facilitator.ok("step.next")
        for person in people:
            await person.ok("vote.cast", case_id=case_of[people[1].id])
        await facilitator.ok("vote.close")
        inbrenger = people[1].id
        while (await facilitator.state())["step"]["kind"] != "roddelfase":
            await facilitator.ok("step.next")

        group = [i for i in ids if i != inbrenger]
        await asyncio.sleep(0.5)
        before = {k: v["packets"] for k, v in media.stats(room).items()}
        # Waited for by count, not by the clock: the group's audio keeps reaching the inbrenger.
        await wait_for(lambda: flowing_to(inbrenger, group, "audio", {k: n + 27 for k, n in before.items()}), 30)
        after = {k: v["packets"] for k, v in media.stats(room).items()}
        for other in group:
            assert after[(other, inbrenger, "video")] == before[(other, inbrenger, "video")]
            assert after[(inbrenger, other, "video")] == before[(inbrenger, other, "video")]
            assert after[(inbrenger, other, "audio")] == before[(inbrenger, other, "audio")]
            assert after[(other, inbrenger, "audio")] >= before[(other, inbrenger, "audio")] + 30
        # The group's pages were told to hide the inbrenger's tile.
        for b in browsers:
            if b.person.id != inbrenger:
                assert [s["open"] for s in b.peer.slots.values() if s["participant"] == inbrenger] == [False, False]

        # The next step opens the gates again: video back within about a second.
        await facilitator.ok("step.next")
        reopened = {k: v["packets"] for k, v in media.stats(room).items()}
        await wait_for(lambda: flowing_to(inbrenger, group, "video", reopened), 20)
        # Measured on the server: the first forwarded frame after the gate opened (a keyframe).
        for other in group:
            path = media.stats(room)[(other, inbrenger, "video")]
            assert path["resume_delay"] is not None and path["resume_delay"] < resume_limit(), path

        # A page closes: the server's media for it goes, the others' slots go free.
        await browsers[3].close()
        await wait_for(lambda: media.connected(room) == set(ids) - {browsers[3].person.id})
        assert all(b.errors == [] for b in browsers[:3])
    finally:
        for b in browsers:
            await b.close()
