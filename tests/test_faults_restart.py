"""Fault: the server process is killed (SIGKILL) during the advice round and started again.

`companion serve` runs as an operator starts it; three real headless Chromium
pages (the facilitator, a deelnemer and the inbrenger) are in the room with
camera and microphone.  After the kill and a restart on the same port and data folder the
room, the step, the timer (on the wall clock, so it counted on while the server
was down) and every advice item are there, and the pages come back on their
own: no reload, the same step and list on screen, live updates arriving again
and their video decoding again over a new peer connection; and the advice
round's gates hold on the new connections (the inbrenger hears the group and
sees nobody, nobody sees the inbrenger) until the facilitator clicks on to the
next step.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time

import aiohttp
import pytest
from served import CHROMIUM, CHROMIUM_ARGS, INBOUND, TRACK_PCS, ServedCompanion
from served import poll_stats as poll

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
ADVICE_STEP = 5  # 0-based "Adviesronde" in the roddelmodel
TIMEOUT_MS = 30000
DOWN_SECONDS = 2.0  # the server stays down this long: the step's clock must count it


@pytest.fixture
def served(tmp_path):
    server = ServedCompanion(tmp_path)
    server.start()
    yield server
    server.close()


def expect(locator):
    return playwright_api.expect(locator)




def decoding(stats: dict) -> int:
    return max((v["decoded"] for v in stats["video"]), default=0)


def videos_decoded(stats: dict) -> int:
    """How many inbound video streams have decoded anything: one per person this page sees."""
    return sum(1 for v in stats["video"] if v["decoded"] > 0)


def seconds_left(label: str) -> int:
    """The page's clock ("8:57 nog" and the like) in seconds."""
    m = re.match(r"\+?(?:(\d+):)?(\d+):(\d\d)", label)
    assert m, label
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


async def test_killed_server_comes_back_with_room_step_timer_and_advice_and_pages_reconnect(served):
    base = served.base
    async with aiohttp.ClientSession() as http:
        async def call(method: str, path: str, token: str, body: dict | None = None) -> dict:
            async with http.request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
                data = await r.json()
                assert r.status in (200, 201), (path, data)
                return data

        async with http.post(base + "/api/rooms", json={"name": "Team Oost", "method": "roddelmodel", "language": "nl",
                                                        "facilitator_name": "Fleur"},
                             headers=served.facilitator_headers) as r:
            room = await r.json()
        room_id, fac = room["room_id"], room["token"]
        invite = room["invite_url"].rsplit("/", 1)[1]
        anne, bas = [await call("POST", f"/api/invites/{invite}/join", "", {"name": n}) for n in ("Anne", "Bas")]

        async def command(name: str, **args) -> dict:
            return (await call("POST", f"/api/rooms/{room_id}/commands", fac, {"command": name, "args": args}))["state"]

        await command("inbrenger.set", participant_id=bas["participant_id"])
        await command("session.start")
        await command("step.goto", index=ADVICE_STEP)
        await command("timer.add", minutes=2)
        for text, who in (("Vraag je leidinggevende om een vast overleg.", anne["participant_id"]),
                          ("Schrijf een week lang op waar je ja op zegt.", None)):
            await call("POST", f"/api/rooms/{room_id}/advice", fac, {"text": text, "participant_id": who})

        playwright_api.expect.set_options(timeout=TIMEOUT_MS)
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                pages = []
                for token in (fac, anne["token"], bas["token"]):
                    context = await browser.new_context(viewport={"width": 1100, "height": 700}, locale="nl-NL")
                    await context.add_init_script(TRACK_PCS)
                    page = await context.new_page()
                    page.set_default_timeout(TIMEOUT_MS)
                    errors: list[str] = []
                    page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                    await page.goto(f"{base}/k/{token}")
                    pages.append((page, errors))
                group, inbrenger = pages[:2], pages[2][0]
                for page, _ in group:
                    await expect(page.locator("#step-label")).to_contain_text("Stap 6/9")
                    await expect(page.locator("#advice-list li.advice-item")).to_have_count(2)
                    # The facilitator and a deelnemer are both in the group: they see each other.
                    await poll(page, lambda s: s["state"] == "connected" and decoding(s) > 10, 60)
                await expect(inbrenger.locator("#oos")).to_be_visible()
                await poll(inbrenger, lambda s: s["state"] == "connected" and s["audioBytes"] > 5000, 60)
                for page, _ in pages:
                    await page.evaluate("window.__sameDocument = true")
                media_before = [await page.evaluate(INBOUND) for page, _ in pages]
                before = await call("GET", f"/api/rooms/{room_id}/state", fac)

                served.kill()
                for page, _ in pages:
                    await expect(page.locator("#conn-banner")).to_be_visible(timeout=15000)
                await asyncio.sleep(DOWN_SECONDS)
                await asyncio.to_thread(served.start)
                up = time.monotonic()

                # Everything that was stored is there; the step's clock counted on meanwhile.
                after = await call("GET", f"/api/rooms/{room_id}/state", fac)
                for key in ("room", "you", "inbrenger", "question"):
                    assert after[key] == before[key], key
                assert after["step"]["index"] == ADVICE_STEP and after["step"]["id"] == before["step"]["id"]
                assert after["advice"]["items"] == before["advice"]["items"]
                assert after["timer"]["running"] and after["timer"]["planned"] == before["timer"]["planned"]
                expected = before["timer"]["elapsed"] + (after["server_time"] - before["server_time"])
                assert abs(after["timer"]["elapsed"] - expected) < 0.5, (before["timer"], after["timer"])
                assert after["server_time"] - before["server_time"] >= DOWN_SECONDS

                # The pages came back by themselves: the same document, the same step and list.
                await expect(inbrenger.locator("#oos")).to_be_visible()
                for page, _ in group:
                    await expect(page.locator("#conn-banner")).to_be_hidden(timeout=30000)
                    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
                    await expect(page.locator("#step-label")).to_contain_text("Stap 6/9")
                    await expect(page.locator("#advice-list li.advice-item")).to_have_count(2)
                    state = await call("GET", f"/api/rooms/{room_id}/state", fac)
                    left = state["timer"]["planned"] - state["timer"]["elapsed"]
                    shown = seconds_left(await page.locator("#timer").get_attribute("aria-label"))
                    assert abs(shown - left) <= 3, (shown, left)
                reconnected = time.monotonic() - up
                # ... and live: an advice added now reaches both.
                await call("POST", f"/api/rooms/{room_id}/advice", fac, {"text": "Plan na elke vergadering tien minuten rust."})
                for page, _ in group:
                    await expect(page.locator("#advice-list li.advice-item")).to_have_count(3)
                    await expect(page.locator("#advice-list")).to_contain_text("tien minuten rust")

                # Media came back too, on a new peer connection, decoding video again.
                for (page, _), old in zip(group, media_before):
                    await poll(page, lambda s, old=old: s["pcs"] > old["pcs"] and s["state"] == "connected"
                               and decoding(s) > 10, 60)
                # The gates hold on the new connections: the inbrenger hears the group and decodes
                # no video at all; the group pages decode one video each (each other, not the inbrenger).
                old = media_before[2]
                heard = await poll(inbrenger, lambda s: s["pcs"] > old["pcs"] and s["state"] == "connected"
                                   and s["audioBytes"] > 5000, 60)
                await asyncio.sleep(2.0)
                later = await inbrenger.evaluate(INBOUND)
                assert later["pcs"] == heard["pcs"] and later["audioBytes"] > heard["audioBytes"]
                assert decoding(later) == 0, later
                for page, _ in group:
                    assert videos_decoded(await page.evaluate(INBOUND)) == 1

                # The facilitator's own buttons work over the new connection: the next step reaches
                # everyone, and the inbrenger comes back into sight and sees the group again.
                await pages[0][0].get_by_role("button", name="Volgende stap").click()
                for page, _ in pages:
                    await expect(page.locator("#step-label")).to_contain_text("Stap 7/9")
                await expect(inbrenger.locator("#oos")).to_be_hidden()
                back = await poll(inbrenger, lambda s: videos_decoded(s) == 2 and decoding(s) > 10, 60)
                assert back["pcs"] == later["pcs"]  # the gates opened on the same connection
                media_back = time.monotonic() - up
                print(f"\npages reconnected {reconnected:.1f} s and decode video again {media_back:.1f} s after the restart")
                for _, errors in pages:
                    assert errors == []
                log = (served.tmp / "server.log").read_text(errors="replace")
                assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
            finally:
                await browser.close()
