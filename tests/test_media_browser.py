"""Real media in headless Chromium: pages with fake camera and microphone join
a real `companion serve`, see each other, and the roddelfase stops video to
and from the inbrenger while their audio keeps coming in (read from getStats)."""

from __future__ import annotations

import asyncio
import shutil

import aiohttp
import pytest
from browser_helpers import RoomApi
from served import CHROMIUM, CHROMIUM_ARGS, INBOUND, TRACK_PCS
from served import poll_stats as poll

playwright_api = pytest.importorskip("playwright.async_api")

ARGS = [
    *CHROMIUM_ARGS,
    "--autoplay-policy=no-user-gesture-required",
]
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

def decoded(stats: dict) -> int:
    return sum(v["decoded"] for v in stats["video"])


async def test_browsers_see_each_other_and_the_roddelfase_hides_the_inbrenger(server):
    served, server = server, server.base
    async with aiohttp.ClientSession() as http:
        api = RoomApi(http, served)
        post = api.post
        room = await api.create_room()
        room_id, fac_token = room["room_id"], room["token"]
        invite = room["invite_url"].rsplit("/", 1)[1]
        people = [await post(f"/api/invites/{invite}/join", {"name": n}) for n in ("Anne", "Bas")]
        tokens = [fac_token] + [p["token"] for p in people]

        async def command(token, name, **args):
            return (await post(f"/api/rooms/{room_id}/commands", {"command": name, "args": args}, token))["state"]

        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                pages = []
                for token in tokens:
                    context = await browser.new_context(viewport={"width": 960, "height": 640}, locale="nl-NL")
                    await context.add_init_script(TRACK_PCS)
                    page = await context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                    await page.goto(f"{server}/k/{token}")
                    pages.append((page, errors))

                # Everyone decodes video from both others and receives both others' audio.
                for page, _ in pages:
                    stats = await poll(page, lambda s: s["state"] == "connected" and len([v for v in s["video"] if v["decoded"] > 10]) >= 2, 60)
                    assert stats["audioStreams"] >= 2
                    # The sender is capped at 640 wide (the fake camera gives 640x480 or more).
                    assert 0 < stats["sentWidth"] <= 640

                # To the roddelfase, with Bas (the third page) as inbrenger.
                await command(fac_token, "session.start")
                for person in people:
                    await command(person["token"], "case.submit", title=f"Casus {person['participant_id']}", question="Hoe ga ik hiermee om?")
                async with http.get(f"{server}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {fac_token}"}) as r:
                    state = await r.json()
                if not state["step"]["has_vote"]:
                    state = await command(fac_token, "step.next")
                cases = {c["author_id"]: c["id"] for c in state["cases"]}
                for person in people:
                    await command(person["token"], "vote.cast", case_id=cases[people[1]["participant_id"]])
                await command(fac_token, "vote.close")
                while state["step"]["kind"] != "roddelfase":
                    state = await command(fac_token, "step.next")

                inb_page = pages[2][0]
                await asyncio.sleep(1.5)  # frames in flight land
                before = await poll(inb_page, lambda s: s["state"] == "connected")
                group_before = [decoded(await pg.evaluate(INBOUND)) for pg, _ in pages[:2]]
                await asyncio.sleep(3.0)
                after = await inb_page.evaluate(INBOUND)
                assert after["pcs"] == before["pcs"], "the inbrenger's page reconnected its media meanwhile"
                # The inbrenger's frames decoded stand still; the group's audio keeps arriving.
                assert decoded(after) == decoded(before), (before, after)
                assert after["audioBytes"] > before["audioBytes"] + 5000, (before, after)
                # The group still sees each other (one other video each keeps decoding).
                group_after = [decoded(await pg.evaluate(INBOUND)) for pg, _ in pages[:2]]
                assert all(a > b for a, b in zip(group_after, group_before))

                # The next step: video reaches the inbrenger again.
                await command(fac_token, "step.next")
                resumed = await poll(inb_page, lambda s: decoded(s) > decoded(after) + 20, 15)
                assert decoded(resumed) > decoded(after)
                for _, errors in pages:
                    assert errors == []
            finally:
                await browser.close()
