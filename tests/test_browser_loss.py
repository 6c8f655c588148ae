"""Chromium behind a lossy link: the RTP forwarder freezes its video no more than the frame pass-through.

One subscriber's link loses 2 % of its UDP packets at random, both ways (tests/netns.py,
``IsolatedLink.lose_udp``): the subscriber's Chromium runs in a network namespace of its own,
joined to the host by a veth pair on 10.213.N.0/30.  Two servers run side by side in this
process, one per forwarder (``frames``: aiortc reassembles and re-packetizes; ``rtp``: packets
forwarded), each with a room of two: a source page in a Chromium on the host (fake camera, its
link clean) and the subscriber page in the namespaced Chromium.  Both rooms are measured over
the same window, so the machine's load (two cores shared with whatever else runs) hits both
forwarders alike (one after the other, a busy minute on one side could decide the result).

What is compared is what the subscriber's own WebRTC stack reports for the source's video
(getStats, inbound-rtp): freezes (``freezeCount``, ``totalFreezesDuration``: a frame shown more
than max(3 x the average frame interval, average + 150 ms) after the one before), frames decoded,
NACKs and PLIs sent, packets lost after retransmission.  The RTP forwarder answers NACKs from its
own per-stream history (the server's ``retransmitted`` count), the pass-through leaves that to
aiortc's sender: both must recover, so that under 2 % loss neither should freeze often.

Like for like: the two sources send the same bitrate.  Each source's browser sends what it is told
(REMB): on ``rtp`` the subscriber's own estimate (rtp/remb.py, 200-500 kbit/s here), on ``frames``
aiortc's estimate made on the server, which on a loaded machine holds the source near Chromium's
floor (30-60 kbit/s: the server's late reads look like a congested link).  Left so, the rtp source
sent 1.5-3x the packets at up to twice the frame rate, so it met more of the random loss, and its freezes
are judged against a shorter frame interval (a freeze is relative to the average interval: 210 ms
at 17 fps, 300 ms at 10): one stall of a loaded machine counts on one side and not on the other.
So the rtp source's ``maxBitrate`` (RTCRtpSender.setParameters) follows the frames source's
``targetBitrate`` through the window: the same packets and frames per second on both streams, and
what is left to differ is how each forwarder gets them through the loss.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from browser_helpers import SLOT_MAP
from netns import IsolatedLink, missing
from served import CHROMIUM, CHROMIUM_ARGS, TRACK_PCS

from companion import facilitators
from companion.config import Settings
from companion.web import ENGINE, create_app
from companion.web_common import LIVE

playwright_api = pytest.importorskip("playwright.async_api")

_why = missing()
pytestmark = [
    pytest.mark.skipif(_why is not None, reason=_why or ""),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium"),
]

FORWARDERS = ("frames", "rtp")
LOSS_PER_MILLE = 20
# The window: at least 30 s and until each subscriber got 600 video packets in it (2 % of them is 12
# lost on average; the fake camera sends that many in 20-30 s, a machine loaded by other work far
# fewer), at most 150 s.
WINDOW_S = 30.0
WINDOW_PACKETS = 600
MAX_WINDOW_S = 150.0
# The margin of "no worse" (why: the loss is random, so two runs of the same forwarder differ too).
# Over the window at 2 % loss a forwarder that answers NACKs shows a few short freezes at most, when a
# packet and its retransmission are both lost (0.04 % of packets) or the machine stalls; one that
# stops answering NACKs freezes on nearly every lost packet and waits for a keyframe (PLI) each
# time: measured with the RTP forwarder's retransmissions switched off, 31 s frozen in 30 against
# the pass-through's 5.6.  A machine loaded by other work freezes both alike but not equally (at
# load 18: 44 s frozen in 112 on frames, 41 on rtp), so the margin is half the pass-through's figure
# again plus two freezes and one second per 30 s: far from the broken case, not failing on chance.
EXTRA_FREEZES = 2
EXTRA_FROZEN_S = 1.0
RATIO = 1.5

# The rtp source's cap follows the frames source's target when it moved by more than this share (each
# setParameters reconfigures the encoder), never below Chromium's lowest video target (30 kbit/s).
MATCH_STEP = 0.1
LOWEST_TARGET = 30_000

# What a source page sends of its video (outbound-rtp), and its encoder's target (bit/s).
SENDING = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const out = { targetBitrate: 0, bytesSent: 0, packetsSent: 0, framesEncoded: 0, keyFramesEncoded: 0,
    retransmittedPacketsSent: 0, pliCount: 0, nackCount: 0 };
  if (!pc) return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "outbound-rtp" || s.kind !== "video") return;
    for (const k of Object.keys(out)) out[k] += s[k] || 0;
  });
  return out;
}
"""

# Cap what a source page's video sender may send (bit/s); returns the cap as set.
CAP_VIDEO = """
async (bitrate) => {
  const pc = window.__pcs[window.__pcs.length - 1];
  for (const sender of pc.getSenders()) {
    if (!sender.track || sender.track.kind !== "video") continue;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) continue;
    params.encodings[0].maxBitrate = bitrate;
    await sender.setParameters(params);
    return sender.getParameters().encodings[0].maxBitrate;
  }
  return null;
}
"""

# The source's video as the subscriber's page receives it (inbound-rtp), named by the slot map.
VIDEO_IN = """
async (source) => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const out = { pcs: window.__pcs.length, state: pc.connectionState, video: null };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    const slot = window.__slots[s.mid] || {};
    if (slot.participant !== source) return;
    out.video = { mid: s.mid, framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0,
      framesDropped: s.framesDropped || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
      freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
      pauseCount: s.pauseCount || 0, totalPausesDuration: s.totalPausesDuration || 0,
      nackCount: s.nackCount || 0, pliCount: s.pliCount || 0, firCount: s.firCount || 0,
      packetsReceived: s.packetsReceived || 0, packetsLost: s.packetsLost || 0,
      retransmittedPacketsReceived: s.retransmittedPacketsReceived || 0 };
  });
  return out;
}
"""

# Every video stream a page receives, for a failure message.
ALL_VIDEO = """
async () => {
  const out = [];
  for (const pc of window.__pcs) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video")
        out.push([pc.connectionState, s.mid, s.packetsReceived, s.framesDecoded, s.keyFramesDecoded, s.pliCount, s.nackCount, s.packetsLost]);
    });
  }
  return out;
}
"""

COUNTS = ("framesDecoded", "framesReceived", "framesDropped", "keyFramesDecoded", "freezeCount", "totalFreezesDuration",
          "pauseCount", "totalPausesDuration", "nackCount", "pliCount", "firCount", "packetsReceived", "packetsLost",
          "retransmittedPacketsReceived")


def delta(before: dict, after: dict) -> dict:
    return {k: round(after[k] - before[k], 3) for k in COUNTS}


class Room:
    """One forwarder's server in this process, listening on the host end of the test link, with a room of two."""

    def __init__(self, forwarder: str, tmp: Path, host: str):
        self.forwarder = forwarder
        self.app = create_app(Settings(data_dir=tmp / forwarder / "data", enable_media=True, enable_transcription=False,
                                       media_forwarder=forwarder))
        self.host = host
        self.server: TestServer | None = None

    async def start(self, http: aiohttp.ClientSession) -> None:
        token = facilitators.add(self.app[ENGINE].conn, "Fleur (beheer)")[1]
        self.server = TestServer(self.app, host=self.host)
        await self.server.start_server()
        self.base = f"http://{self.host}:{self.server.port}"

        async def post(path, body, bearer=None):
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            async with http.post(self.base + path, json=body, headers=headers) as r:
                data = await r.json()
                assert r.status in (200, 201), data
                return data

        room = await post("/api/rooms", {"name": "Team Oost", "method": "roddelmodel", "language": "nl",
                                         "facilitator_name": "Fleur"}, token)
        self.room_id, self.source_token = room["room_id"], room["token"]
        async with http.get(f"{self.base}/api/rooms/{self.room_id}/state", headers={"Authorization": f"Bearer {self.source_token}"}) as r:
            self.source = (await r.json())["you"]["id"]
        invite = room["invite_url"].rsplit("/", 1)[1]
        joined = await post(f"/api/rooms/{self.room_id}/invites/{invite}/join", {"name": "Bas"})
        self.subscriber, self.subscriber_token = joined["participant_id"], joined["token"]

    def path(self) -> dict:
        """The server's counters for the source's video to the subscriber (MediaService.stats)."""
        return self.app[LIVE].media.stats(self.room_id).get((self.source, self.subscriber, "video"), {})

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


async def open_page(browser, url: str):
    context = await browser.new_context(viewport={"width": 640, "height": 480}, locale="nl-NL")
    await context.add_init_script(TRACK_PCS)
    await context.add_init_script(SLOT_MAP)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc, page=page: page.errors.append(str(exc)))
    await page.goto(url)
    return page


async def test_rtp_forwarder_freezes_no_more_than_frames_under_two_percent_loss(tmp_path):
    link = IsolatedLink()
    rooms: dict[str, Room] = {}
    try:
        link.open()
        link.lose_udp(LOSS_PER_MILLE)
        async with aiohttp.ClientSession() as http:
            for forwarder in FORWARDERS:
                rooms[forwarder] = Room(forwarder, tmp_path, link.host)
                await rooms[forwarder].start(http)
            args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required",
                    # One switch with both origins: Chromium reads only the last of a repeated switch.
                    "--unsafely-treat-insecure-origin-as-secure=" + ",".join(r.base for r in rooms.values()),
                    # Plain host candidates instead of mDNS names: the server must not resolve names over multicast.
                    "--disable-features=WebRtcHideLocalIpsWithMdns"]
            async with playwright_api.async_playwright() as p:
                outside = await p.chromium.launch(executable_path=CHROMIUM, args=args)
                inside = await p.chromium.launch(executable_path=str(link.wrapper(tmp_path, CHROMIUM)), args=args)
                try:
                    subscribers, sources = {}, {}
                    for forwarder, room in rooms.items():
                        sources[forwarder] = await open_page(outside, f"{room.base}/k/{room.source_token}")
                        subscribers[forwarder] = await open_page(inside, f"{room.base}/k/{room.subscriber_token}")

                    async def diagnose() -> str:
                        lines = []
                        for f in FORWARDERS:
                            lines.append(f"{f}: {await subscribers[f].evaluate(ALL_VIDEO)}; slots {await subscribers[f].evaluate('window.__slots')};"
                                         f" server {rooms[f].app[LIVE].media.stats(rooms[f].room_id)} {rooms[f].app[LIVE].media.link_counters(rooms[f].room_id)}")
                        return "\n".join(lines)

                    async def readings() -> dict[str, dict | None]:
                        return {f: await subscribers[f].evaluate(VIDEO_IN, rooms[f].source) for f in FORWARDERS}

                    # Both subscribers decode the source's video (a loaded machine can take a while), then 3 s settle.
                    deadline = time.monotonic() + 90
                    while True:
                        now = await readings()
                        if all(r and r["state"] == "connected" and r["video"] and r["video"]["framesDecoded"] > 30
                               for r in now.values()):
                            break
                        if time.monotonic() > deadline:
                            raise AssertionError(f"video never reached both subscribers: {now}\n{await diagnose()}")
                        await asyncio.sleep(0.5)
                    cap = {"now": None, "set": 0}

                    async def match_bitrates() -> None:
                        target = (await sources["frames"].evaluate(SENDING))["targetBitrate"]
                        if not target:
                            return
                        want = max(LOWEST_TARGET, int(target))
                        if cap["now"] is None or abs(want - cap["now"]) > MATCH_STEP * cap["now"]:
                            cap["now"] = await sources["rtp"].evaluate(CAP_VIDEO, want)
                            cap["set"] += 1

                    # Both sources on the same bitrate, then 5 s for the rtp source's encoder to follow.
                    deadline = time.monotonic() + 10
                    while not cap["now"] and time.monotonic() < deadline:
                        await match_bitrates()
                        await asyncio.sleep(0.5)
                    assert cap["now"], f"the rtp source's video sender took no maxBitrate: {await sources['frames'].evaluate(SENDING)}"
                    await asyncio.sleep(5)

                    before, server_before, loss_before = await readings(), {f: r.path() for f, r in rooms.items()}, link.udp_loss()
                    sent_before = {f: await sources[f].evaluate(SENDING) for f in FORWARDERS}
                    started = time.monotonic()
                    while True:
                        await asyncio.sleep(2)
                        await match_bitrates()
                        after = await readings()
                        window = time.monotonic() - started
                        got = min(after[f]["video"]["packetsReceived"] - before[f]["video"]["packetsReceived"] for f in FORWARDERS)
                        if window >= WINDOW_S and got >= WINDOW_PACKETS:
                            break
                        assert window < MAX_WINDOW_S, (
                            f"only {got} video packets reached a subscriber in {window:.0f} s: too few to judge 2 % loss"
                            f" (is the machine overloaded? load {os.getloadavg()})")
                    server_after, loss_after = {f: r.path() for f, r in rooms.items()}, link.udp_loss()
                    sent_after = {f: await sources[f].evaluate(SENDING) for f in FORWARDERS}

                    for f in FORWARDERS:
                        assert after[f]["pcs"] == before[f]["pcs"], f"{f}: the subscriber's page reconnected its media in the window"
                    seen = {f: delta(before[f]["video"], after[f]["video"]) for f in FORWARDERS}
                    retransmitted = {f: server_after[f].get("retransmitted", 0) - server_before[f].get("retransmitted", 0)
                                     for f in FORWARDERS}
                    missed = {f: server_after[f].get("nack_missed", 0) - server_before[f].get("nack_missed", 0) for f in FORWARDERS}
                    lost = {k: loss_after[k] - loss_before[k] for k in loss_after}
                    print(f"\nthe link over {window:.0f} s: {lost}")
                    sent = {f: {k: sent_after[f][k] - sent_before[f][k] for k in sent_after[f] if k != "targetBitrate"}
                            for f in FORWARDERS}
                    print(f"the rtp source's cap, set {cap['set']} times, last {cap['now']} bit/s")
                    for f in FORWARDERS:
                        print(f"{f}: source sent {sent[f]['bytesSent'] * 8 / window / 1000:.0f} kbit/s,"
                              f" {sent[f]['framesEncoded'] / window:.1f} frames/s, {sent[f]}")
                        print(f"{f}: subscriber {seen[f]}; server retransmitted {retransmitted[f]}, NACKed but gone {missed[f]}")

                    # The link did lose about 2 % of the media both ways.
                    for way in ("in", "out"):
                        total, dropped = lost[f"udp_{way}_all"], lost[f"udp_{way}_lost"]
                        assert total > 500 and 0.01 <= dropped / total <= 0.035, lost
                    rtp, frames = seen["rtp"], seen["frames"]
                    # Loss reached the subscriber, it asked for the packets again, and the RTP forwarder
                    # answered from its own history: the page got retransmissions.
                    assert rtp["nackCount"] > 0 and rtp["retransmittedPacketsReceived"] > 0, rtp
                    assert retransmitted["rtp"] > 0 and retransmitted["rtp"] >= missed["rtp"], (retransmitted, missed)
                    # Video kept coming: at least 3 frames a second decoded (the fake camera sends 30; a
                    # machine shared with other work gets the source's encoder to far fewer).
                    assert frames["framesDecoded"] >= 3 * window, frames
                    # No worse than the pass-through: frozen no longer in all (the count alone can fall when
                    # freezes grow long: a stream that stops answering NACKs froze 31 s of 30 in 4 freezes),
                    # no more freezes, and at least half as many frames shown (the two sources are pages of
                    # one Chromium whose encoders get unequal shares of a loaded machine: 264 against 383 seen).
                    scale = max(1.0, window / WINDOW_S)  # the margins are per 30 s
                    assert rtp["totalFreezesDuration"] <= RATIO * frames["totalFreezesDuration"] + EXTRA_FROZEN_S * scale, (rtp, frames, sent)
                    assert rtp["freezeCount"] <= RATIO * frames["freezeCount"] + EXTRA_FREEZES * scale, (rtp, frames, sent)
                    assert rtp["framesDecoded"] >= frames["framesDecoded"] / 2, (rtp, frames)
                    for page in subscribers.values():
                        assert page.errors == []
                finally:
                    await inside.close()
                    await outside.close()
    finally:
        for room in rooms.values():
            await room.close()
        link.close()
