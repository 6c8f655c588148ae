"""The facilitator's console with a full room (seven people) at laptop size (1366x768), in real
headless Chromium against `python -m companion serve`.

Only the facilitator has a page (the seven come in through the invite API and keep a plain
WebSocket open, as a page would), so this stays light.
Checked: the session controls (Volgende stap, Pauzeren, Sessie beëindigen) stay in view in every
step, however many people the console lists, and all seven are listed with their controls.
"""

from __future__ import annotations

import asyncio
import shutil

import aiohttp
import pytest
from served import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

VIEWPORT = {"width": 1366, "height": 768}
NAMES = ("Bea", "Anne", "Daan", "Sem", "Noor", "Jesse", "Fatima")


async def drain(ws) -> None:
    async for _ in ws:
        pass


async def test_the_console_keeps_the_session_controls_in_view_with_seven_people(server):
    expect.set_options(timeout=45000)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        http = aiohttp.ClientSession()
        sockets, readers = [], []
        try:
            context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL")
            page = await context.new_page()
            page.set_default_timeout(60000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            created = await (await context.request.post(server.base + "/api/rooms", data={
                "name": "Team Oost", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur", "capacity": 7},
                headers=server.facilitator_headers)).json()
            join = f"{server.base}/api/rooms/{created['room_id']}/invites/{created['invite_url'].rsplit('/', 1)[1]}/join"
            joined = {}
            for name in NAMES:
                # Each person from their own client: the join sets that browser's cookie.
                person = await p.request.new_context()
                response = await person.post(join, data={"name": name})
                assert response.status == 201, await response.text()
                body = await response.json()
                joined[name] = body["participant_id"]
                await person.dispose()
                ws = await http.ws_connect(server.base + f"/r/{created['room_id']}/ws",
                                           headers={"Authorization": f"Bearer {body['token']}"})
                sockets.append(ws)
                readers.append(asyncio.ensure_future(drain(ws)))  # reading answers the server's heartbeat
            await page.goto(created["facilitator_url"], wait_until="commit")
            await expect(page.locator("#console-welcome")).to_contain_text("7 van 7")
            await expect(page.locator("#console-people li")).to_have_count(7)
            # The steps after the vote need an inbrenger: Bea (the facilitator's command, as the console sends it).
            async with http.post(server.base + f"/api/rooms/{created['room_id']}/commands",
                                 json={"command": "inbrenger.set", "args": {"participant_id": joined["Bea"]}},
                                 headers={"Authorization": f"Bearer {created['token']}"}) as r:
                assert r.status == 200, await r.text()
            await expect(page.locator("#people li", has_text="Bea")).to_contain_text("inbrenger")
            await page.get_by_role("button", name="Sessie starten").click()
            labels = []
            for step in range(1, 10):
                await expect(page.locator("#step-label")).to_contain_text(f"Stap {step}/9")
                for control in ("#console-next", "#console-pause", "#console-end"):
                    if step == 9 and control == "#console-next":
                        continue  # the last step has no next
                    await expect(page.locator(control)).to_be_in_viewport()
                labels.append(await page.locator("#console-pause").inner_text())
                if step == 1:
                    await page.locator("#console-people").scroll_into_view_if_needed()
                    await expect(page.locator("#console-end")).to_be_in_viewport()
                if step < 9:
                    await page.locator("#console-goto").select_option(str(step))
                    await page.locator("#console-goto-button").click()
            assert set(labels) == {"Pauzeren"}, labels
            assert not errors, errors
        finally:
            for ws in sockets:
                await ws.close()
            for reader in readers:
                reader.cancel()
            await http.close()
            await browser.close()
