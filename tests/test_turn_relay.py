"""A participant behind a firewall that drops all UDP reaches the call through coturn.

The participant's Chromium runs in a network namespace of its own (tests/netns.py): every
UDP packet in or out is dropped, TCP leaves only for the web server and the TURN relay.
The relay is Debian's coturn, configured by ``companion turn-config``, fed credentials by
``companion serve --turn-url ... --turn-secret-file ...``.  Checked with the page's own
getStats: the selected candidate pair is a relay, video is decoded both ways, audio keeps
reaching the participant as inbrenger during the roddelfase while video stops both ways;
after the namespace's link goes down and up the page restarts ICE by itself and media is
back without a reload, while the participant's presence and role never blink.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from browser_helpers import INBOUND_BY_PARTICIPANT, SLOT_MAP
from netns import IsolatedLink, missing
from served import CHROMIUM, CHROMIUM_ARGS, TRACK_PCS, ServedCompanion

from companion.serve_process import free_port
from companion.tls import ensure_self_signed

playwright_api = pytest.importorskip("playwright.async_api")

TURNSERVER = "/usr/bin/turnserver"
_why = missing()
pytestmark = [
    pytest.mark.skipif(_why is not None, reason=_why or ""),
    pytest.mark.skipif(not shutil.which(TURNSERVER), reason="coturn is not installed (apt-get install coturn)"),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium"),
]

# What the page lived through, with times (performance.now(), ms): network events and its connections' states.
EVENT_LOG = """
(() => {
  window.__events = [];
  const log = (what) => window.__events.push([Math.round(performance.now()), what]);
  window.addEventListener("online", () => log("online"));
  window.addEventListener("offline", () => log("offline"));
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    log("new connection");
    pc.addEventListener("connectionstatechange", () => log(pc.connectionState));
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Original);
})();
"""

# Video RTP statistics of the newest connection, for a failure message.
VIDEO_RTP = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const out = [];
  (await pc.getStats()).forEach((s) => {
    if ((s.type === "inbound-rtp" || s.type === "outbound-rtp") && s.kind === "video")
      out.push([s.type, s.mid, s.packetsReceived ?? s.packetsSent, s.framesReceived ?? s.framesEncoded, s.framesDecoded,
                s.keyFramesDecoded ?? s.keyFramesEncoded, s.pliCount, s.nackCount, s.packetsLost, s.framesDropped]);
  });
  return out;
}
"""

# The page's selected ICE candidate pair, from its newest connection.
SELECTED_PAIR = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const stats = await pc.getStats();
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  let pair = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId); });
  if (!pair) return { state: pc.connectionState, local: null };
  const local = byId.get(pair.localCandidateId) || {};
  const remote = byId.get(pair.remoteCandidateId) || {};
  return { state: pc.connectionState, local: { type: local.candidateType, protocol: local.protocol,
           relayProtocol: local.relayProtocol, address: local.address, url: local.url },
           remote: { type: remote.candidateType, address: remote.address } };
}
"""


class Coturn:
    """coturn as the operator runs it: the config from ``companion turn-config``, on the test link only."""

    def __init__(self, tmp: Path, host: str, secret_file: Path, tls: bool):
        self.tmp, self.host, self.tls = tmp, host, tls
        self.port = free_port()
        self.tls_port = free_port()
        self.log = tmp / "coturn.log"
        args = ["--realm", "companion.test", "--turn-secret-file", str(secret_file), "--port", str(self.port),
                "--listening-ip", host, "--allow-peer", host]
        if tls:
            cert, key = ensure_self_signed(tmp / "turn-tls", host)
            args += ["--tls-port", str(self.tls_port), "--cert", str(cert), "--pkey", str(key)]
        conf = subprocess.run([sys.executable, "-m", "companion", "turn-config", *args], capture_output=True, text=True,
                              timeout=60, check=True).stdout
        self.conf = tmp / "turnserver.conf"
        self.conf.write_text(conf)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [TURNSERVER, "-c", str(self.conf), "--pidfile", str(self.tmp / "coturn.pid"),
                 "--userdb", str(self.tmp / "turndb"), "--relay-ip", self.host, "--min-port", "49152", "--max-port", "65535",
                 # The test link is the only place the relay may send to.
                 "--denied-peer-ip", "0.0.0.0-255.255.255.255"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        for port in [self.port] + ([self.tls_port] if self.tls else []):
            while True:
                try:
                    socket.create_connection((self.host, port), timeout=1).close()
                    break
                except OSError:
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("coturn did not start:\n" + self.log.read_text(errors="replace")[-3000:])
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(params=["turn-tcp", "turns-tls"])
def relayed_setup(request, tmp_path):
    tls = request.param == "turns-tls"
    link = IsolatedLink()
    coturn = None
    served = None
    try:
        link.open()
        secret_file = tmp_path / "turn-secret"
        coturn = Coturn(tmp_path, link.host, secret_file, tls)  # turn-config makes the secret file
        coturn.start()
        url = (f"turns:{link.host}:{coturn.tls_port}?transport=tcp" if tls
               else f"turn:{link.host}:{coturn.port}?transport=tcp")
        served = ServedCompanion(tmp_path, "--host", link.host, "--turn-url", url, "--turn-secret-file", str(secret_file))
        served.base = f"http://{link.host}:{served.port}"
        served.start()
        link.firewall([served.port, coturn.tls_port if tls else coturn.port])
        yield link, coturn, served, request.param
    finally:
        if served is not None:
            served.close()
        if coturn is not None:
            coturn.stop()
        link.close()


def flowing(before: dict, after: dict, who: str) -> int:
    """Frames of ``who`` decoded between two readings of INBOUND_BY_PARTICIPANT on the same connection."""
    if before is None or after is None or before["pcs"] != after["pcs"]:
        return 0
    old = {s["mid"]: s["count"] for s in before["streams"] if s["kind"] == "video" and s["who"] == who}
    return sum(s["count"] - old[s["mid"]] for s in after["streams"] if s["kind"] == "video" and s["who"] == who and s["mid"] in old)


def audio_from(stats: dict, who: str) -> int:
    return sum(s["count"] for s in stats["streams"] if s["kind"] == "audio" and s["who"] == who)


async def test_participant_behind_udp_firewall_uses_the_relay_and_recovers(relayed_setup):
    link, coturn, served, variant = relayed_setup
    base = served.base
    args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required", f"--unsafely-treat-insecure-origin-as-secure={base}",
            # Plain host candidates instead of mDNS names: the server must not resolve names over multicast.
            "--disable-features=WebRtcHideLocalIpsWithMdns"]
    if variant == "turns-tls":
        args.append("--ignore-certificate-errors")  # the relay's test certificate is self-signed

    async with aiohttp.ClientSession() as http:
        async def post(path, body, token=None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.post(base + path, json=body, headers=headers) as r:
                data = await r.json()
                assert r.status in (200, 201), data
                return data

        # Two pages keep a two-core machine's load down: Fleur (facilitator, the group) on the
        # open network, Bas behind the firewall.  Anne only joins, to have a case and a vote.
        room = await post("/api/rooms", {"name": "Team Zuid", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"},
                          served.facilitator_token)
        room_id, fac_token = room["room_id"], room["token"]
        invite = room["invite_url"].rsplit("/", 1)[1]
        anne = await post(f"/api/invites/{invite}/join", {"name": "Anne"})
        bas = await post(f"/api/invites/{invite}/join", {"name": "Bas"})
        bas_id = bas["participant_id"]
        async with http.get(f"{base}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {fac_token}"}) as r:
            fleur_id = (await r.json())["you"]["id"]

        async def command(token, name, **cargs):
            return (await post(f"/api/rooms/{room_id}/commands", {"command": name, "args": cargs}, token))["state"]

        # What the others are told about Bas, every state the server pushes.
        seen: list[tuple[bool, str]] = []
        ws = await http.ws_connect(f"ws://{link.host}:{served.port}/r/{room_id}/ws", headers={"Authorization": f"Bearer {anne['token']}"})

        async def watch():
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("type") == "state":
                    him = next(p for p in data["participants"] if p["id"] == bas_id)
                    seen.append((him["online"], him["role"]))

        watcher = asyncio.ensure_future(watch())
        inner_chromium = link.wrapper(served.tmp, CHROMIUM)
        async with playwright_api.async_playwright() as p:
            outside = await p.chromium.launch(executable_path=CHROMIUM, args=args)
            inside = await p.chromium.launch(executable_path=str(inner_chromium), args=args)
            try:
                pages = {}
                for name, token, browser in (("fleur", fac_token, outside), ("bas", bas["token"], inside)):
                    context = await browser.new_context(viewport={"width": 800, "height": 600}, locale="nl-NL")
                    await context.add_init_script(EVENT_LOG)
                    await context.add_init_script(TRACK_PCS)
                    await context.add_init_script(SLOT_MAP)
                    page = await context.new_page()
                    page.errors = []
                    page.on("pageerror", lambda exc, page=page: page.errors.append(str(exc)))
                    await page.goto(f"{base}/k/{token}")
                    pages[name] = page
                bas_page, fleur_page = pages["bas"], pages["fleur"]

                async def readings():
                    return await bas_page.evaluate(INBOUND_BY_PARTICIPANT), await fleur_page.evaluate(INBOUND_BY_PARTICIPANT)

                async def diagnose():
                    print("events of the relayed page:", await bas_page.evaluate("window.__events"))
                    for name, pg in pages.items():
                        print(name, await pg.evaluate(VIDEO_RTP), await pg.evaluate(INBOUND_BY_PARTICIPANT))

                # Through the relay, over TCP (TLS in the second variant): no UDP gets out.
                deadline = time.monotonic() + 60
                pair = None
                while time.monotonic() < deadline:
                    pair = await bas_page.evaluate(SELECTED_PAIR)
                    if pair and pair["state"] == "connected" and pair["local"]:
                        break
                    await asyncio.sleep(0.5)
                assert pair and pair["local"], f"no connection through the relay: {pair}\n{coturn.log.read_text()[-2000:]}"
                assert pair["local"]["type"] == "relay", pair
                assert pair["local"]["relayProtocol"] == ("tls" if variant == "turns-tls" else "tcp"), pair
                assert link.dropped_udp() > 0  # the browser did try UDP, and the firewall held

                # Video flows both ways (a loaded machine can take a while), then frames
                # decoded per second, both ways, over 10 s.
                deadline = time.monotonic() + 60
                b1, f1 = await readings()
                while time.monotonic() < deadline:
                    await asyncio.sleep(1)
                    (b0, f0), (b1, f1) = (b1, f1), await readings()
                    if flowing(b0, b1, fleur_id) > 0 and flowing(f0, f1, bas_id) > 0:
                        break
                b0, f0 = await readings()
                await asyncio.sleep(10)
                b1, f1 = await readings()
                down_fps, up_fps = flowing(b0, b1, fleur_id) / 10, flowing(f0, f1, bas_id) / 10
                print(f"\n[{variant}] the relayed participant decodes {down_fps:.1f} frames/s of the group's video; "
                      f"the group decodes {up_fps:.1f} frames/s of theirs")
                if min(down_fps, up_fps) < 2:
                    await diagnose()
                assert min(down_fps, up_fps) >= 2, (down_fps, up_fps)

                # To the step where Bas explains the case: Bas is the inbrenger, everyone sees everyone.
                await command(fac_token, "session.start")
                for who in (anne, bas):
                    await command(who["token"], "case.submit", title=f"Casus van {who['participant_id']}", question="Wat doe ik hier?")
                async with http.get(f"{base}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {fac_token}"}) as r:
                    state = await r.json()
                if not state["step"]["has_vote"]:
                    state = await command(fac_token, "step.next")
                cases = {c["author_id"]: c["id"] for c in state["cases"]}
                for who in (anne, bas):
                    await command(who["token"], "vote.cast", case_id=cases[bas_id])
                await command(fac_token, "vote.close")
                state = await command(fac_token, "step.next")
                assert state["inbrenger"]["id"] == bas_id and state["step"]["kind"] != "roddelfase", state["step"]

                # The network goes away for a moment, as when a laptop changes wifi.
                connections_before = await bas_page.evaluate("window.__pcs.length")
                seen.clear()
                link.link(False)
                down_ms = await bas_page.evaluate("performance.now()")
                await asyncio.sleep(3)
                stalled = (await readings())[1]
                await asyncio.sleep(1)
                assert flowing(stalled, (await readings())[1], bas_id) == 0, "media still flowed with the link down"
                link.link(True)
                up_at = time.monotonic()
                recovered_at = None
                prev_b, prev_f = await readings()
                while time.monotonic() - up_at < 30:
                    await asyncio.sleep(0.25)
                    cur_b, cur_f = await readings()
                    if flowing(prev_b, cur_b, fleur_id) > 0 and flowing(prev_f, cur_f, bas_id) > 0:
                        recovered_at = time.monotonic()
                        break
                    prev_b, prev_f = cur_b, cur_f
                events = [(t - round(down_ms), what) for t, what in await bas_page.evaluate("window.__events") if t >= down_ms - 1000]
                print(f"[{variant}] the relayed page, ms after the link went down (up at 4000): {events}")
                media_log = [(t - round(down_ms), *rest) for t, *rest in await bas_page.evaluate("window.__mediaLog") if t >= down_ms - 1000]
                print(f"[{variant}] media messages it got: {media_log}")
                if recovered_at is None:
                    await diagnose()
                assert recovered_at is not None, "media did not come back within 30 s"
                recovery = recovered_at - up_at
                restarts = await bas_page.evaluate("window.__pcs.length") - connections_before
                print(f"[{variant}] media back both ways {recovery:.1f} s after the link came up "
                      f"({restarts} new connection(s), no reload)")
                assert recovery < 10, recovery
                assert restarts >= 1  # the page restarted ICE itself
                assert await bas_page.evaluate("performance.getEntriesByType('navigation').length") == 1
                pair = await bas_page.evaluate(SELECTED_PAIR)
                assert pair["local"]["type"] == "relay", pair
                # Presence and role held the whole time.
                await asyncio.sleep(1)
                assert all(online and role == "inbrenger" for online, role in seen), seen
                async with http.get(f"{base}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {fac_token}"}) as r:
                    him = next(p for p in (await r.json())["participants"] if p["id"] == bas_id)
                assert him["online"] and him["role"] == "inbrenger", him

                # Roddelfase: the gates hold for the relayed inbrenger.
                while state["step"]["kind"] != "roddelfase":
                    state = await command(fac_token, "step.next")
                await asyncio.sleep(1.5)
                b0, f0 = await readings()
                await asyncio.sleep(3)
                b1, f1 = await readings()
                assert b1["pcs"] == b0["pcs"]
                assert flowing(b0, b1, fleur_id) == 0, (b0, b1)  # the inbrenger sees no one
                assert flowing(f0, f1, bas_id) == 0, (f0, f1)  # and is seen by no one
                assert audio_from(b1, fleur_id) > audio_from(b0, fleur_id) + 50, (b0, b1)  # but hears the group
                # Afterwards video reaches the inbrenger again.
                await command(fac_token, "step.next")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and flowing(b1, await bas_page.evaluate(INBOUND_BY_PARTICIPANT), fleur_id) < 10:
                    await asyncio.sleep(0.5)
                assert flowing(b1, await bas_page.evaluate(INBOUND_BY_PARTICIPANT), fleur_id) >= 10
                for page in pages.values():
                    assert page.errors == []
            finally:
                await inside.close()
                await outside.close()
                watcher.cancel()
                await ws.close()
