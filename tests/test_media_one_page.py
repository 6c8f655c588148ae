"""One person, one media connection: a second page of the same person takes the call over,
the first is told and can no longer answer, hang up or close the call away from the new page."""

from __future__ import annotations

import asyncio

from media_page import MediaPage, small_camera

from companion.media.loopback import wait_for
from companion.media.peer import ToneTrack
from companion.web import HUB, LIVE


async def test_the_newest_page_of_a_person_owns_the_call(media_server):
    h = media_server
    facilitator, invite, _ = await h.create_room(method="roddelmodel")
    anne = await h.join(invite, "Anne")
    room = facilitator.room_id
    media = h.server.app[LIVE].media
    hub = h.server.app[HUB]
    group = MediaPage(h, facilitator, video=small_camera())
    first = MediaPage(h, anne, video=small_camera())
    second = MediaPage(h, anne, video=small_camera())
    pages = [group, first, second]

    def video_from_anne() -> int:
        return group.peer.received[(anne.id, "video")]

    try:
        await group.open()
        await first.open()
        await wait_for(lambda: video_from_anne() > 5 and first.peer.received[(facilitator.id, "video")] > 5, 30)
        offers_to_first = first.peer.offers

        # Anne opens the room in a second tab: it takes the call, the first tab is told and stops.
        await second.open()
        await wait_for(lambda: first.peer.moved == ["other_page"], 10)
        await wait_for(lambda: second.peer.received[(facilitator.id, "video")] > 5, 30)
        handed_over = video_from_anne()
        await wait_for(lambda: video_from_anne() > handed_over + 5, 15)
        assert first.peer.offers == offers_to_first, "the old tab was sent the new tab's offer"
        assert first.peer.pc is None
        assert media.connected(room) == {facilitator.id, anne.id}
        assert hub.online(room) == {facilitator.id, anne.id}

        # What the old tab still sends is refused with a clear code; its hang-up changes nothing.
        await first.ws.send_json({"type": "media.answer", "seq": 1, "sdp": "v=0\r\n"})
        await first.ws.send_json({"type": "media.keyframe"})
        await first.ws.send_json({"type": "media.leave"})
        await wait_for(lambda: len(first.errors) == 2, 5)
        assert {e["code"] for e in first.errors} == {"media_elsewhere"} and {e["status"] for e in first.errors} == {409}
        # Coming back by itself (as after a dropped socket), the old tab does not take the call back.
        await first.ws.send_json({"type": "media.join", "page": "old-tab", "resume": True})
        await wait_for(lambda: first.peer.moved == ["other_page", "other_page"], 10)
        flowing = video_from_anne()
        await wait_for(lambda: video_from_anne() > flowing + 5, 15)
        assert second.errors == [] and second.peer.moved == [] and second.peer.closed_by_server == []

        # The tab with the call closes: the call ends with it, Anne stays present through the old tab.
        await second.close()
        await wait_for(lambda: media.connected(room) == {facilitator.id}, 10)
        assert hub.online(room) == {facilitator.id, anne.id}

        # The old tab takes the call back.
        await first.peer.rejoin(ToneTrack(), small_camera())
        back = video_from_anne()
        await wait_for(lambda: video_from_anne() > back + 5 and media.connected(room) == {facilitator.id, anne.id}, 30)
        mine = first.peer.received[(facilitator.id, "video")]
        await wait_for(lambda: first.peer.received[(facilitator.id, "video")] > mine + 5, 30)
        assert group.errors == [] and group.peer.moved == []
    finally:
        for page in pages:
            await page.close()


async def test_a_page_whose_socket_comes_back_takes_its_own_call_without_a_notice(media_server):
    """A page's socket that drops and comes back is no second tab: nobody is told the call moved,
    also when the server has not yet noticed the old socket is gone."""
    h = media_server
    facilitator, invite, _ = await h.create_room(method="roddelmodel")
    anne = await h.join(invite, "Anne")
    media = h.server.app[LIVE].media
    hub = h.server.app[HUB]
    page = MediaPage(h, anne, video=small_camera())
    back = MediaPage(h, anne, video=small_camera())
    again = MediaPage(h, anne, video=small_camera())
    try:
        await page.open({"type": "media.join", "page": "tab-1"})
        await wait_for(lambda: media.connected(anne.room_id) == {anne.id}, 10)
        # The same page on a new socket while the old one still looks open to the server.
        await back.open({"type": "media.join", "page": "tab-1", "resume": True})
        await wait_for(lambda: back.peer.offers >= 1 and hub.media_owner(anne.room_id, anne.id) is not None, 10)
        await asyncio.sleep(0.3)
        assert page.peer.moved == [] and back.peer.moved == []
        assert media.connected(anne.room_id) == {anne.id}
        # The stale socket closing does not end the call of the page that came back.
        await page.ws.close()
        await asyncio.sleep(0.5)
        assert media.connected(anne.room_id) == {anne.id}
        # With no page holding the call, a returning page gets it without a notice.
        await back.ws.close()
        await wait_for(lambda: media.connected(anne.room_id) == set(), 10)
        await again.open({"type": "media.join", "page": "tab-2", "resume": True})
        await wait_for(lambda: media.connected(anne.room_id) == {anne.id}, 10)
        await asyncio.sleep(0.3)
        assert again.peer.moved == []
    finally:
        for p in (page, back, again):
            await p.close()
