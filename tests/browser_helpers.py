"""What the browser tests share: clicks a person makes in the room, and what a page's
own WebRTC stack says it receives (getStats), per participant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from served import CHROMIUM, poll_stats

ROOM = {"name": "Team Noord", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"}


class RoomApi:
    """The HTTP calls a browser test makes around its pages, as the operator's facilitator and
    the people they invite (an aiohttp session and a served.ServedCompanion)."""

    def __init__(self, http, served):
        self.http = http
        self.served = served

    async def post(self, path: str, body: dict, token: str | None = None) -> dict:
        """POST JSON; the answer's body, after asserting a 200 or 201."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(self.served.base + path, json=body, headers=headers) as r:
            data = await r.json()
            assert r.status in (200, 201), data
            return data

    async def create_room(self, **room: Any) -> dict:
        """A room made with the operator's facilitator link (``ROOM`` unless overridden)."""
        return await self.post("/api/rooms", {**ROOM, **room}, self.served.facilitator_token)

    async def join(self, room: dict, name: str) -> dict:
        return await self.post(f"/api/rooms/{room['room_id']}/invites/{room['invite_url'].rsplit('/', 1)[1]}/join", {"name": name})

# The server's mid -> participant map as it arrives on the room WebSocket (media.offer,
# media.slots), so a page's inbound streams can be named; with served.TRACK_PCS.
SLOT_MAP = """
(() => {
  window.__slots = {};
  const OriginalWS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new OriginalWS(...args);
    ws.addEventListener("message", (event) => {
      try {
        const msg = JSON.parse(event.data);
        if (msg.type && msg.type.startsWith("media.")) {
          (window.__mediaLog = window.__mediaLog || []).push([Math.round(performance.now()), msg.type, msg.seq, (msg.slots || []).length]);
        }
        if ((msg.type === "media.offer" || msg.type === "media.slots") && Array.isArray(msg.slots)) {
          window.__slots = Object.fromEntries(msg.slots.map((s) => [s.mid, s]));
        }
      } catch (err) { /* not ours to judge */ }
    });
    return ws;
  };
  window.WebSocket.prototype = OriginalWS.prototype;
  Object.setPrototypeOf(window.WebSocket, OriginalWS);
})();
"""

# The last connection's inbound streams, each named by the participant its slot carries.
INBOUND_BY_PARTICIPANT = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const out = { pcs: window.__pcs.length, state: pc.connectionState, streams: [], sentVideoFrames: 0, sentAudioPackets: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp") {
      const slot = window.__slots[s.mid] || {};
      out.streams.push({ mid: s.mid, kind: s.kind, who: slot.participant || null, open: Boolean(slot.open),
        count: s.kind === "video" ? (s.framesDecoded || 0) : (s.packetsReceived || 0) });
    }
    if (s.type === "outbound-rtp" && s.kind === "video") out.sentVideoFrames = s.framesEncoded || 0;
    if (s.type === "outbound-rtp" && s.kind === "audio") out.sentAudioPackets = s.packetsSent || 0;
  });
  return out;
}
"""


async def write_case(page, title: str, question: str) -> None:
    await page.get_by_label("Korte titel").fill(title)
    await page.get_by_label("Je vraag").fill(question)
    await page.get_by_role("button", name="Casus opslaan").click()
    await page.get_by_role("button", name="Wijziging opslaan").wait_for()


async def vote_for(page, title: str) -> None:
    case = page.locator("#case-list li.case", has_text=title)
    await case.get_by_role("button", name="Stem hierop").click()
    await case.get_by_text("Jouw stem").wait_for()


async def screenshot(page, folder: Path, name: str, full_page: bool = True) -> None:
    """From the top; ``full_page=False`` for a screen that covers the page (out of sight), which a
    full-page picture would show over only its first screen height."""
    folder.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0); document.querySelectorAll('#oos').forEach((el) => { el.scrollTop = 0; })")
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page, timeout=60000)


async def inbound(page) -> dict[str, Any] | None:
    return await page.evaluate(INBOUND_BY_PARTICIPANT)


def received(before: dict, after: dict, kind: str) -> dict[str, int]:
    """Per source participant: frames decoded (video) or packets received (audio) between two samples.
    Only streams whose slot named the same participant both times count."""
    old = {(s["mid"], s["who"]): s["count"] for s in before["streams"] if s["kind"] == kind and s["who"]}
    out: dict[str, int] = {}
    for s in after["streams"]:
        key = (s["mid"], s["who"])
        if s["kind"] == kind and key in old:
            out[s["who"]] = out.get(s["who"], 0) + s["count"] - old[key]
    return out


def decoded_total(stats: dict) -> int:
    return sum(s["count"] for s in stats["streams"] if s["kind"] == "video")


async def poll_inbound(page, predicate, timeout: float = 30.0) -> dict:
    return await poll_stats(page, predicate, timeout, INBOUND_BY_PARTICIPANT)


def idle_chromium(folder: Path) -> Path:
    """Chromium in the SCHED_IDLE class: it runs on what the server leaves. Browsers in a test
    stand for people's own computers. At nice 10 they did not: the CPU scheduler weighs
    threads, not processes, and several Chromiums' dozens of threads outweighed the server's one
    event loop, which then got a quarter of a core, let its UDP queues overflow (80 % of the
    video packets dropped by the kernel) and froze every video stream."""
    script = folder / "chromium-idle"
    script.write_text(f'#!/bin/sh\nexec chrt --idle 0 {CHROMIUM} "$@"\n')
    script.chmod(0o755)
    return script
