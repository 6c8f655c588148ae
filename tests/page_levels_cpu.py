"""What the server's audio levels save a page: Chromium's CPU with five remote audio streams, the page
measuring every stream itself (WebAudio analysers, media.levels hidden from it) against the page taking
the server's levels (one analyser, its own microphone), alternated in one run on one server.

    PYTHONPATH=$PWD python tests/page_levels_cpu.py [--rounds 2] [--seconds 20] [--video]
    PYTHONPATH=$PWD python tests/page_levels_cpu.py --bare      # the meters alone, in an empty page

CPU is Chromium's own per-process account (CDP SystemInfo.getProcessInfo, all its processes: browser,
renderer, GPU, audio and network services), in cores over the measured window.  Not a test: a
measurement to run by hand on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
from browser_helpers import RoomApi  # noqa: E402
from served import CHROMIUM, CHROMIUM_ARGS, INBOUND, TRACK_PCS, ServedCompanion  # noqa: E402

from companion.media.page import RoomPage  # noqa: E402
from companion.media.peer import PatternTrack, ToneTrack  # noqa: E402

# The page never sees media.levels: it measures every remote stream itself, as before the server sent them.
HIDE_LEVELS = """
(() => {
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, ...rest) {
    if (type !== "message") return add.call(this, type, listener, ...rest);
    return add.call(this, type, (event) => {
      if (/"type":\\s*"media\\.levels"/.test(String(event.data))) return;
      listener(event);
    }, ...rest);
  };
})();
"""

ANALYSERS = """
(() => {
  window.__analysers = 0;
  const create = AudioContext.prototype.createMediaStreamSource;
  AudioContext.prototype.createMediaStreamSource = function (stream) {
    const node = create.call(this, stream);
    window.__analysers += 1;
    const disconnect = node.disconnect.bind(node);
    let live = true;
    node.disconnect = (...args) => { if (live) { live = false; window.__analysers -= 1; } return disconnect(...args); };
    return node;
  };
})();
"""


async def cpu_seconds(cdp) -> dict[str, float]:
    """CPU seconds so far by process type (browser, renderer, gpu, utility), and "all"."""
    info = await cdp.send("SystemInfo.getProcessInfo")
    out: dict[str, float] = {"all": 0.0}
    for process in info["processInfo"]:
        out[process["type"]] = out.get(process["type"], 0.0) + process["cpuTime"]
        out["all"] += process["cpuTime"]
    return out


def cheap_senders() -> None:
    """Five simulated people in this one process: aiortc's RFC 6465 level per frame, in numpy instead of a
    Python loop over every sample, and the consent limit the server uses, so they keep up on a busy machine."""
    import numpy as np
    from aiortc import rtp

    from companion.media import hooks

    def level(frame) -> int:
        samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.float64)
        rms = np.sqrt(np.mean(samples * samples)) / 32767 if len(samples) else 0.0
        return int(max(-127.0, 20 * np.log10(rms))) if rms > 0 else -127

    rtp.compute_audio_level_dbov = level
    hooks.relax_ice_consent()


async def main(rounds: int, seconds: float, video: bool) -> None:
    from playwright.async_api import async_playwright

    cheap_senders()

    with tempfile.TemporaryDirectory() as tmp:
        served = ServedCompanion(Path(tmp), "--media-forwarder", "rtp")
        served.start()
        try:
            async with aiohttp.ClientSession() as http:
                api = RoomApi(http, served)
                room = await api.create_room()
                anne = await api.join(room, "Anne")
                ws_url = served.base.replace("http", "ws", 1) + f"/r/{room['room_id']}/ws"
                others = []
                for n in range(5):
                    person = room if n == 0 else await api.join(room, f"Gast {n}")
                    page = RoomPage(http, ws_url, {"Authorization": f"Bearer {person['token']}"}, f"p{n}",
                                    audio=ToneTrack(200.0 + 70 * n, amplitude=0.1),
                                    video=PatternTrack(64, 48, fps=5) if video else None, camera=video)
                    await page.open()
                    others.append(page)
                results: dict[str, list[float]] = {"page measures (5 analysers)": [], "server levels (media.levels)": []}
                renderers: dict[str, list[float]] = {mode: [] for mode in results}
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
                    cdp = await browser.new_browser_cdp_session()
                    try:
                        for _ in range(rounds):
                            for mode in results:
                                context = await browser.new_context(viewport={"width": 960, "height": 640}, locale="nl-NL")
                                await context.add_init_script(TRACK_PCS)
                                await context.add_init_script(ANALYSERS)
                                if mode.startswith("page"):
                                    await context.add_init_script(HIDE_LEVELS)
                                page = await context.new_page()
                                await page.goto(f"{served.base}/k/{anne['token']}")
                                deadline = time.monotonic() + 90
                                while True:
                                    stats = await page.evaluate(INBOUND)
                                    if stats and stats["state"] == "connected" and stats["audioStreams"] >= 5:
                                        break
                                    if time.monotonic() > deadline:
                                        states = [(o.peer.pc.connectionState if o.peer.pc else None, o.peer.closed_by_server, o.peer.moved, o.errors[-2:]) for o in others]
                                        raise RuntimeError(f"the page did not receive five audio streams: {stats}; the others: {states}")
                                    await asyncio.sleep(0.5)
                                await asyncio.sleep(5.0)  # settle: meters started or stopped
                                analysers = await page.evaluate("() => window.__analysers")
                                before, t0 = await cpu_seconds(cdp), time.monotonic()
                                await asyncio.sleep(seconds)
                                after, took = await cpu_seconds(cdp), time.monotonic() - t0
                                used = {kind: (after[kind] - before.get(kind, 0.0)) / took for kind in after}
                                results[mode].append(used["all"])
                                renderers[mode].append(used.get("renderer", 0.0))
                                by_type = ", ".join(f"{kind} {v:.3f}" for kind, v in sorted(used.items()) if kind != "all")
                                print(f"{mode}: {analysers} analysers, Chromium {used['all']:.3f} cores ({by_type})", flush=True)
                                await context.close()
                    finally:
                        await browser.close()
                for page in others:
                    await page.close()
        except Exception:
            served.close()
            lines = (Path(tmp) / "server.log").read_text().splitlines()
            print("\n".join(line for line in lines if "aioice" not in line)[-4000:])
            raise
        served.close()
    for label, table in (("all of Chromium", results), ("the page's renderer", renderers)):
        on, off = (statistics.median(v) for v in table.values())
        print(f"{label}, median over {rounds} rounds of {seconds:.0f} s: page measures {on:.3f} cores, "
              f"server levels {off:.3f} cores, saved {on - off:.3f} cores ({100 * (on - off) / on:.0f} %)")


# The meters as static/js/media.js runs them (a MediaStreamSource and a 512-point AnalyserNode per
# source, read ten times a second), on clones of the fake microphone, in a page doing nothing else.
BARE_METERS = """
async (count) => {
  if (!window.__mic) {
    window.__mic = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
    window.__ctx = new AudioContext();
    window.__meters = [];
    setInterval(() => {
      for (const m of window.__meters) {
        m.analyser.getFloatTimeDomainData(m.data);
        let sum = 0;
        for (const v of m.data) sum += v * v;
        m.level = Math.sqrt(sum / m.data.length);
      }
    }, 100);
  }
  await window.__ctx.resume();
  while (window.__meters.length > count) window.__meters.pop().source.disconnect();
  while (window.__meters.length < count) {
    const source = window.__ctx.createMediaStreamSource(new MediaStream([window.__mic.clone()]));
    const analyser = window.__ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    window.__meters.push({ source, analyser, data: new Float32Array(512) });
  }
  return window.__meters.length;
}
"""


async def bare(rounds: int, seconds: float) -> None:
    """Only the meters: one (the page's own microphone) against six (itself and five others)."""
    from playwright.async_api import async_playwright

    results: dict[int, list[float]] = {6: [], 1: []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            cdp = await browser.new_browser_cdp_session()
            page = await browser.new_page()
            # A secure origin for getUserMedia, answered by Playwright itself: no server.
            await page.route("http://localhost/**", lambda route: route.fulfill(body="<html><body></body></html>", content_type="text/html"))
            await page.goto("http://localhost/")
            for _ in range(rounds):
                for count in results:
                    await page.evaluate(BARE_METERS, count)
                    await asyncio.sleep(3.0)
                    before, t0 = await cpu_seconds(cdp), time.monotonic()
                    await asyncio.sleep(seconds)
                    after, took = await cpu_seconds(cdp), time.monotonic() - t0
                    used = {kind: (after[kind] - before.get(kind, 0.0)) / took for kind in after}
                    results[count].append(used.get("renderer", 0.0))
                    print(f"{count} meters: renderer {used.get('renderer', 0.0):.4f} cores, all of Chromium {used['all']:.4f}", flush=True)
        finally:
            await browser.close()
    six, one = (statistics.median(v) for v in results.values())
    print(f"renderer, median over {rounds} rounds of {seconds:.0f} s: six meters {six:.4f} cores, one meter {one:.4f} cores, "
          f"five meters cost {six - one:.4f} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--video", action="store_true", help="the five others send a small camera too")
    parser.add_argument("--bare", action="store_true", help="only the meters, in an empty page (no call, no server)")
    args = parser.parse_args()
    asyncio.run(bare(args.rounds, args.seconds) if args.bare else main(args.rounds, args.seconds, args.video))
