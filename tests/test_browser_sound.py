"""Sound the browser refuses to play: a participant without camera or microphone opens their
personal link without a click, in Chromium with the autoplay policy that wants a user gesture.
The page says so with one button; after one click anywhere the group's audio plays (getStats:
the audio energy it plays out rises)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time

import aiohttp
import pytest
from browser_helpers import RoomApi
from served import CHROMIUM, TRACK_PCS

from companion.media.page import RoomPage
from companion.media.peer import PatternTrack, ToneTrack

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

# No fake camera or microphone and no permission prompt: this person shares nothing, as when
# they declined, or only listen. Autoplay as strict as a browser gets with a first visit.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=document-user-activation-required",
]

# The page reports on itself through the console: Playwright's page.evaluate and locators run
# with a user gesture, which would lift the very autoplay refusal under test.
REPORTER = """
(() => {
  setInterval(async () => {
    const pc = (window.__pcs || [])[(window.__pcs || []).length - 1];
    const out = { packets: 0, energy: 0, sound: document.documentElement.dataset.sound || "",
      button: Boolean(document.querySelector("#sound-gate") && document.querySelector("#sound-gate").offsetParent !== null),
      text: (document.querySelector("#sound-gate") || {}).textContent || "" };
    if (pc) (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") { out.packets += s.packetsReceived || 0; out.energy += s.totalAudioEnergy || 0; }
    });
    console.log("__report " + JSON.stringify(out));
  }, 250);
})();
"""


class Reports:
    def __init__(self, page):
        self.last: dict | None = None
        page.on("console", self._on_console)

    def _on_console(self, msg) -> None:
        if msg.text.startswith("__report "):
            self.last = json.loads(msg.text[9:])

    async def wait(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last is not None and predicate(self.last):
                return dict(self.last)
            await asyncio.sleep(0.25)
        raise AssertionError(f"{what}; last report: {self.last}")


async def test_refused_autoplay_shows_one_button_and_one_click_starts_the_sound(server):
    served, server = server, server.base
    async with aiohttp.ClientSession() as http:
        api = RoomApi(http, served)
        room = await api.create_room()
        anne = await api.join(room, "Anne")
        # The group: Fleur speaks (a steady tone) from a page without a browser.
        ws_url = server.replace("http", "ws", 1) + f"/r/{room['room_id']}/ws"
        fleur = RoomPage(http, ws_url, {"Authorization": f"Bearer {room['token']}"}, "fleur",
                         audio=ToneTrack(amplitude=0.3), video=PatternTrack(64, 48, fps=5))
        await fleur.open()
        try:
            async with playwright_api.async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    context = await browser.new_context(viewport={"width": 960, "height": 640}, locale="nl-NL")
                    await context.add_init_script(TRACK_PCS)
                    await context.add_init_script(REPORTER)
                    page = await context.new_page()
                    page.set_default_timeout(30000)
                    errors: list[str] = []
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                    reports = Reports(page)
                    await page.goto(f"{server}/k/{anne['token']}")

                    # Before any click: the group's audio arrives, the page says it cannot play it.
                    await reports.wait(lambda r: r["packets"] > 100, 60, "the group's audio never arrived")
                    before = await reports.wait(lambda r: r["sound"] == "blocked" and r["button"], 10,
                                                "the page did not show the sound as blocked")
                    assert "Klik om het geluid aan te zetten" in before["text"]
                    await asyncio.sleep(2.0)
                    still = await reports.wait(lambda r: r["packets"] > before["packets"] + 50, 10, "audio stopped arriving")
                    assert still["sound"] == "blocked" and still["button"]
                    print(f"\nblocked: audio energy {before['energy']:.4f} -> {still['energy']:.4f} "
                          f"({still['packets'] - before['packets']} packets)")

                    # One click anywhere on the page (not on the button).
                    await page.mouse.click(5, 400)
                    playing = await reports.wait(lambda r: r["sound"] == "playing" and not r["button"], 10,
                                                 "the page never reported the sound playing")
                    await asyncio.sleep(2.0)
                    after = await reports.wait(lambda r: r["energy"] > playing["energy"] + 0.05, 20,
                                               "the audio energy played out did not rise after the click")
                    print(f"after the click: audio energy {playing['energy']:.4f} -> {after['energy']:.4f}")
                    assert after["energy"] - playing["energy"] > 10 * max(still["energy"] - before["energy"], 0.001)
                    assert errors == []
                finally:
                    await browser.close()
        finally:
            await fleur.close()
