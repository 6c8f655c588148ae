"""A page whose server was upgraded while it was open: the welcome names another protocol version than
the page's client speaks, and the page loads itself again, once, for the new client (real Chromium; the
server's welcome is rewritten on its way to the page, as a newer server would send it)."""

from __future__ import annotations

import asyncio
import json
import shutil

import aiohttp
import pytest
from browser_helpers import RoomApi
from served import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")


async def test_a_page_reloads_once_for_a_server_with_another_protocol(server):
    async with aiohttp.ClientSession() as http:
        room = await RoomApi(http, server).create_room()
        async with http.get(server.base + "/static/js/protocol.js") as r:
            assert r.headers["Cache-Control"] == "no-cache" and "export const PROTOCOL = 3;" in await r.text()
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="nl-NL")
            page = await context.new_page()
            page.set_default_timeout(30000)
            welcomes = []

            async def newer_server(route):
                upstream = route.connect_to_server()

                def to_page(message):
                    msg = json.loads(message)
                    if msg.get("type") == "welcome":
                        welcomes.append(msg["protocol"])
                        msg["protocol"] = 99
                    route.send(json.dumps(msg))

                upstream.on_message(to_page)

            await page.route_web_socket("**/ws", newer_server)
            loads = []
            page.on("load", lambda: loads.append(1))
            await page.goto(room["facilitator_url"])
            await page.locator("#group-name").wait_for()
            for _ in range(100):  # the reload, then a second welcome that must not reload again
                if len(welcomes) >= 2 and len(loads) >= 2:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)
            assert welcomes[0] == 3 and len(welcomes) == 2, welcomes
            assert len(loads) == 2, loads
            await page.locator("#group-name").wait_for()
        finally:
            await browser.close()


async def test_the_note_about_a_refused_camera_follows_the_language_switch(server):
    """A person whose browser gives no camera or microphone (none there, or access refused) reads why, in
    the language they switch to: the note was written once, in the language of that moment."""
    async with aiohttp.ClientSession() as http:
        room = await RoomApi(http, server).create_room()
    no_devices = [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"]
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=no_devices)
        try:
            page = await (await browser.new_context(locale="nl-NL")).new_page()
            page.set_default_timeout(30000)
            await page.goto(room["facilitator_url"])
            note = page.locator("#media-note")
            await playwright_api.expect(note).to_contain_text("Geen toegang tot camera of microfoon", timeout=30000)
            await page.locator(".lang-switch").click()
            await playwright_api.expect(note).to_contain_text("No access to camera or microphone")
        finally:
            await browser.close()
