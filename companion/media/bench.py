"""``companion bench media``: the RTP forwarder and the frame pass-through against aiortc's MediaRelay.

Each design runs as a real server in its own process (a small aiohttp app
speaking the media.* protocol over a WebSocket); N simulated participants
in this process send pre-encoded 640x360 VP8 and Opus (encoded once before
the run and replayed, so the clients' encoding costs nothing and stays out
of every figure) and count what reaches them without decoding it.

Server CPU is the server process's CPU time over wall time, in cores.  The
clients share the machine: on two cores their RTP and SRTP work competes
with the server, so read the figures with the load noted in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from .replay import FPS, HEIGHT, WIDTH, encode_audio, encode_video, replay_tracks

ROOM = "bench"
DESIGNS = ("rtp", "passthrough", "relay")
WARMUP = 4.0


# ---------------------------------------------------------------- server side
def _serve(mode: str) -> None:
    from aiohttp import web

    from .service import media_service

    sockets: dict[str, web.WebSocketResponse] = {}

    async def send(room_id: str, pid: str, message: dict) -> None:
        ws = sockets.get(pid)
        if ws is not None and not ws.closed:
            await ws.send_json(message)

    if mode == "relay":
        service = _relay_class()(send)
    else:
        service = media_service(send, "rtp" if mode == "rtp" else "frames")

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        pid = request.query["pid"]
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        sockets[pid] = ws
        try:
            async for msg in ws:
                try:
                    message = json.loads(msg.data)
                    if message.get("type") == "bench.stats":
                        await ws.send_json({"type": "bench.stats", **(await _server_stats(service))})
                        continue
                    await service.handle(ROOM, pid, message)
                except Exception as exc:  # the bench reports, it does not stop
                    await ws.send_json({"type": "error", "message": str(exc)})
        finally:
            sockets.pop(pid, None)
            await service.participant_gone(ROOM, pid)
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/ws", ws_handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"PORT {port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
        await service.close()
        await runner.cleanup()

    asyncio.run(main())


async def _server_stats(service: Any) -> dict[str, Any]:
    """What the server itself forwarded, dropped or lost, summed over all paths."""
    totals: dict[str, int] = {}
    for (_, _, kind), path in service.stats(ROOM).items():
        for key in ("packets", "dropped_closed", "dropped_waiting", "dropped_full"):
            totals[f"{kind}_{key}"] = totals.get(f"{kind}_{key}", 0) + path[key]
    lost_upstream = 0
    room = service._rooms.get(ROOM)
    for peer in room.peers.values() if room else ():
        for transceiver in peer.upstream.values():
            report = await transceiver.receiver.getStats()
            lost_upstream += sum(getattr(s, "packetsLost", 0) or 0 for s in report.values() if s.type == "inbound-rtp")
    totals["upstream_packets_lost"] = lost_upstream
    return totals


def _relay_class():
    from aiortc.contrib.media import MediaRelay

    from .service import MediaService

    class Relay(MediaService):
        """The baseline: the receiver decodes, MediaRelay fans out decoded
        frames, and every subscriber's sender encodes them again.  Same
        signalling as the pass-through service; gates are not applied."""

        def __init__(self, send: Any) -> None:
            super().__init__(send)
            self.relay = MediaRelay()

        def _tap_upstream(self, transceiver: Any, room_id: str, pid: str, kind: str) -> None:
            pass

        def _feed_slot(self, sub: Any, slot: Any) -> None:
            room = self._rooms.get(sub.room_id)
            source = room.peers.get(slot.source) if room and slot.source else None
            track = source.upstream[slot.kind].receiver.track if source else None
            if track is not None and getattr(slot, "relayed_from", None) is not track:
                slot.relayed_from = track
                # buffered=False: a subscriber whose encoder falls behind skips
                # frames instead of queueing decoded pictures without bound
                # (the box is shared; the notes saw ~1 GB with buffering).
                slot.transceiver.sender.replaceTrack(self.relay.subscribe(track, buffered=False))

        async def _on_answer(self, room_id: str, pid: str, sdp: str, seq: Any) -> None:
            await super()._on_answer(room_id, pid, sdp, seq)
            # A source's remote track exists once its answer is in.
            room = self._rooms[room_id]
            for sub in room.peers.values():
                for slot in sub.slots:
                    self._feed_slot(sub, slot)

    return Relay


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------- clients
async def _run_design(mode: str, participants: int, seconds: float, video, audio) -> dict[str, Any]:
    import aiohttp

    from .peer import MediaPeer

    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.media.bench", "--serve", mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        port = int(line.split()[1])
        session = aiohttp.ClientSession()
        peers: list[MediaPeer] = []
        server_stats: asyncio.Queue[dict] = asyncio.Queue()
        sockets = []
        readers = []
        for i in range(participants):
            pid = f"p{i + 1}"
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?pid={pid}", max_msg_size=1 << 20)
            vtrack, atrack = replay_tracks(video, audio)

            async def send(message: dict, ws=ws) -> None:
                await ws.send_json(message)

            # Frames counted from packets: thirty receiving streams' jitter buffers in this one process
            # would cost more than the server under test.
            peer = MediaPeer(pid, send, audio=atrack, video=vtrack, count_packets=True)

            async def read(ws=ws, peer=peer) -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        data = msg.json()
                        if data.get("type") == "bench.stats":
                            server_stats.put_nowait(data)
                        else:
                            peer.deliver(data)

            readers.append(asyncio.ensure_future(read()))
            sockets.append(ws)
            peers.append(peer)
            await peer.start()
        await asyncio.sleep(WARMUP)

        def totals() -> tuple[int, int, int, int]:
            got_v = sum(n for p in peers for (_, kind), n in p.received.items() if kind == "video")
            got_a = sum(n for p in peers for (_, kind), n in p.received.items() if kind == "audio")
            return got_v, got_a, sum(p.video.sent for p in peers), sum(p.audio.sent for p in peers)

        async def lost_so_far() -> int:
            lost = 0
            for peer in peers:
                if peer.pc is not None:
                    report = await peer.pc.getStats()
                    lost += sum(getattr(s, "packetsLost", 0) or 0 for s in report.values() if s.type == "inbound-rtp")
            return lost

        async def ask_server() -> dict:
            await sockets[0].send_json({"type": "bench.stats"})
            answer = await asyncio.wait_for(server_stats.get(), 10)
            answer.pop("type", None)
            return answer

        server0 = await ask_server()
        lost0 = await lost_so_far()
        v0, a0, sv0, sa0 = totals()
        cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall1 = _cpu_seconds(proc.pid), time.monotonic()
        v1, a1, sv1, sa1 = totals()
        rss = _rss_mb(proc.pid)
        server1 = await ask_server()
        on_server = {k: server1[k] - server0.get(k, 0) for k in server1}

        lost = await lost_so_far() - lost0
        wall = wall1 - wall0
        streams = participants * (participants - 1)
        forwarded = on_server.get("video_packets", 0) + on_server.get("audio_packets", 0)
        result = {
            "server_cpu_cores": round((cpu1 - cpu0) / wall, 3),
            # The same CPU per frame the server forwarded (video frames and audio packets, all paths): on a
            # machine busy with other work a starved server forwards less, and this figure stays comparable.
            # (None for the relay: its frames go through MediaRelay, which the service does not count.)
            "server_cpu_us_per_forwarded_frame": round((cpu1 - cpu0) * 1e6 / forwarded, 1) if forwarded else None,
            "server_rss_mb": round(rss, 1),
            "video_fps_sent_per_source": round((sv1 - sv0) / participants / wall, 2),
            "video_fps_delivered_per_stream": round((v1 - v0) / streams / wall, 2),
            "video_delivered_ratio": round((v1 - v0) / max(1, (sv1 - sv0) * (participants - 1)), 3),
            "audio_fps_delivered_per_stream": round((a1 - a0) / streams / wall, 2),
            "audio_delivered_ratio": round((a1 - a0) / max(1, (sa1 - sa0) * (participants - 1)), 3),
            # RTP sequence gaps the clients' receivers saw during the measured
            # window (a packet NACKed and retransmitted still counts here).
            "packets_lost": int(lost),
            # What the server handed to its senders in the window: tells the
            # server's share apart from what the simulated clients failed to take in.
            "server_video_fps_forwarded_per_stream": round(on_server.get("video_packets", 0) / streams / wall, 2),
            "server_counters": on_server,
        }
        for peer in peers:
            await peer.close()
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
        await session.close()
        return result
    finally:
        try:
            proc.stdin.close()
            await asyncio.get_running_loop().run_in_executor(None, lambda: proc.wait(timeout=15))
        except Exception:
            proc.kill()


async def _bench(participants: int, seconds: float, designs: list[str]) -> dict[str, Any]:
    video = encode_video()
    audio = encode_audio()
    kbps = sum(len(p) for p, _ in video) * 8 / (len(video) / FPS) / 1000
    out: dict[str, Any] = {
        "participants": participants,
        "seconds": seconds,
        "video": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "kbps": round(kbps), "codec": "VP8"},
        "audio": {"codec": "opus", "frames_per_second": 50},
        "cpu_count": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    for mode in designs:
        out[mode] = await _run_design(mode, participants, seconds, video, audio)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    # Ratios of server CPU within this one run (the machine's load is shared by all designs alike).
    for slower, faster in (("passthrough", "rtp"), ("relay", "rtp"), ("relay", "passthrough")):
        if slower in out and faster in out:
            out[f"{slower}_over_{faster}_cpu"] = round(
                out[slower]["server_cpu_cores"] / max(out[faster]["server_cpu_cores"], 1e-3), 2
            )
    if "passthrough" in out and "rtp" in out and out["passthrough"]["server_cpu_us_per_forwarded_frame"] and out["rtp"]["server_cpu_us_per_forwarded_frame"]:
        out["passthrough_over_rtp_cpu_per_frame"] = round(
            out["passthrough"]["server_cpu_us_per_forwarded_frame"] / max(out["rtp"]["server_cpu_us_per_forwarded_frame"], 1e-3), 2
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="companion bench media", description=__doc__.split("\n\n")[0])
    p.add_argument("--participants", type=int, default=6)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--only", choices=DESIGNS, help="measure one design: rtp (serve --media-forwarder rtp), "
                   "passthrough (--media-forwarder frames) or relay (aiortc's MediaRelay, decoding and encoding again)")
    p.add_argument("--serve", choices=DESIGNS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return 0
    if args.participants < 2:
        p.error("--participants must be at least 2")
    designs = [args.only] if args.only else list(DESIGNS)
    result = asyncio.run(_bench(args.participants, args.seconds, designs))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for mode in designs:
            r = result[mode]
            print(
                f"{mode:12s} server {r['server_cpu_cores']:.2f} cores ({r['server_cpu_us_per_forwarded_frame']} us per forwarded frame), video {r['video_fps_delivered_per_stream']:.1f} "
                f"fps per stream ({r['video_delivered_ratio']:.0%} of sent), lost {r['packets_lost']}"
            )
        for key in ("passthrough_over_rtp_cpu", "passthrough_over_rtp_cpu_per_frame", "relay_over_rtp_cpu",
                    "relay_over_passthrough_cpu"):
            if key in result:
                print(f"{key}: {result[key]}x")
        print(f"load average before {result['load_before']}, after {result['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
