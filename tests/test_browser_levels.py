"""The speaking border in Chromium from the server's levels (media.levels, RTP forwarder): a participant
speaking through aiortc gets the border on the page's tile while they speak and loses it after, and
the page runs no WebAudio analyser for them (only for its own microphone); Chromium's own packets carry
the RFC 6464 level the server reads."""

from __future__ import annotations

import asyncio
import shutil

import aiohttp
import numpy as np
import pytest
from browser_helpers import RoomApi
from served import CHROMIUM, CHROMIUM_ARGS, TRACK_PCS

from companion.media.page import RoomPage
from companion.media.peer import PatternTrack, SpeakingTrack

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]

# WebAudio sources the page has connected and not disconnected yet: one per level analyser.
COUNT_ANALYSERS = """
(() => {
  window.__analysers = 0;
  window.__levelMessages = 0;
  const create = AudioContext.prototype.createMediaStreamSource;
  AudioContext.prototype.createMediaStreamSource = function (stream) {
    const node = create.call(this, stream);
    window.__analysers += 1;
    const disconnect = node.disconnect.bind(node);
    let live = true;
    node.disconnect = (...args) => { if (live) { live = false; window.__analysers -= 1; } return disconnect(...args); };
    return node;
  };
  const OriginalWS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new OriginalWS(...args);
    ws.addEventListener("message", (e) => { if (String(e.data).includes('"media.levels"')) window.__levelMessages += 1; });
    return ws;
  };
  window.WebSocket.prototype = OriginalWS.prototype;
  Object.setPrototypeOf(window.WebSocket, OriginalWS);
})();
"""


@pytest.fixture
def server(tmp_path):
    from served import ServedCompanion

    served = ServedCompanion(tmp_path, "--media-forwarder", "rtp")
    served.start()
    yield served
    served.close()


async def until(page, script: str, timeout: float) -> float:
    """Poll ``script`` (a function's source, run in the page) until it is true; seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await page.evaluate(script):
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {script}")
        await asyncio.sleep(0.1)
    return loop.time() - start


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return 0.3 * np.sin(2 * np.pi * 300 * t)


async def test_the_speaking_border_follows_the_servers_levels(server):
    served, base = server, server.base
    async with aiohttp.ClientSession() as http:
        api = RoomApi(http, served)
        room = await api.create_room()
        anne = await api.join(room, "Anne")
        ws_url = base.replace("http", "ws", 1) + f"/r/{room['room_id']}/ws"
        mic = SpeakingTrack()
        fleur = RoomPage(http, ws_url, {"Authorization": f"Bearer {room['token']}"}, "fleur",
                         audio=mic, video=PatternTrack(64, 48, fps=5))
        await fleur.open()
        try:
            async with playwright_api.async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    context = await browser.new_context(viewport={"width": 960, "height": 640}, locale="nl-NL")
                    await context.add_init_script(TRACK_PCS)
                    await context.add_init_script(COUNT_ANALYSERS)
                    page = await context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                    await page.goto(f"{base}/k/{anne['token']}")
                    await until(page, "() => window.__levelMessages > 0", 60)
                    fleur_id = fleur.state["you"]["id"]
                    tile = page.locator(f'.tile[data-pid="{fleur_id}"]')
                    await tile.wait_for(timeout=30000)
                    # Silent: no border; one analyser only, for Anne's own microphone.
                    await asyncio.sleep(1.0)
                    assert "talking" not in (await tile.get_attribute("class"))
                    assert await page.evaluate("window.__analysers") == 1

                    mic.say(tone(3.0))
                    talking = f'() => document.querySelector(\'.tile[data-pid="{fleur_id}"]\').classList.contains("talking")'
                    took = await until(page, talking, 15)
                    print(f"\nborder on {took:.2f} s after the tone started")
                    assert await page.evaluate("window.__analysers") == 1
                    # The tone ends: the border goes within a hangover and a report or two.
                    await asyncio.sleep(3.0)
                    await until(page, talking.replace("=> ", "=> !", 1), 15)
                    # Chromium sends the level in its own audio packets too: the server knows Anne from them.
                    assert any(anne["participant_id"] in report for _, report in fleur.peer.levels), fleur.peer.levels[-3:]
                    assert errors == []
                finally:
                    await browser.close()
        finally:
            await fleur.close()
