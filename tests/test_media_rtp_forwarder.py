"""The RTP forwarder (serve --media-forwarder rtp) with real aiortc peers: a reopened gate starts on a
keyframe with no gap in the stream, a lossy subscriber's NACKs are answered from its own stream's history,
and RTCP stays on its own link."""

from __future__ import annotations

import asyncio
import random
import time

from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpRrPacket, RtcpRtpfbPacket, RtcpSrPacket, RtpPacket, unpack_remb_fci

from companion.media import hooks
from companion.media.gates import MediaView
from companion.media.loopback import ROOM, Call, wait_for
from companion.media.rtp import forwarder

from test_media_forwarding import resume_limit, sent_after


async def inbound_lost(peer, source: str, kind: str) -> int:
    """packetsLost of ``peer``'s receiving stream whose slot carries ``source``."""
    lost = 0
    for transceiver in peer.pc.getTransceivers():
        if transceiver.receiver.track is not None and transceiver.kind == kind and peer.source_of(transceiver.mid) == source:
            report = await transceiver.receiver.getStats()
            lost += sum(getattr(s, "packetsLost", 0) or 0 for s in report.values() if s.type == "inbound-rtp")
    return lost


async def test_gate_reopens_on_a_keyframe_without_a_gap_in_the_stream():
    call = Call(forwarder="rtp")
    everyone = ("a", "b")
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await call.join("a")
        b = await call.join("b", shade=90)
        await wait_for(lambda: b.received[("a", "video")] >= 8, 20)
        await call.service.apply_view(MediaView(ROOM, participants=everyone, camera_off=frozenset({"a"})))
        await asyncio.sleep(1.5)  # a's camera goes on sending: 1.5 s of packets held back
        held = call.service.stats(ROOM)[("a", "b", "video")]["dropped_closed"]
        assert held >= 5
        before = b.received[("a", "video")]
        opened = time.monotonic()
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await wait_for(lambda: b.received[("a", "video")] >= before + 5, 20)
        path = call.service.stats(ROOM)[("a", "b", "video")]
        assert path["resume_delay"] is not None and path["resume_delay"] < resume_limit(), path
        flags = sent_after(b.video_log, "a", opened)
        assert flags and flags[0], f"the first frame after reopening was not a keyframe: {flags[:5]}"
        # The renumbering hides the 1.5 s of held-back packets: b's receiver counts no loss for them
        # (without it the jump in sequence numbers shows as dozens of lost packets).
        assert await inbound_lost(b, "a", "video") < 5
    finally:
        await call.close()


async def test_a_replaced_connection_forwards_nothing():
    """A page whose link dropped joins again on a new connection. What still arrives on the old one
    is old (a TCP relay delivers seconds of held-back video at once when the link returns) and is
    not forwarded: it set the subscribers' playout timing seconds late."""
    call = Call(forwarder="rtp")
    everyone = ("a", "b")
    first = None
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        first = await call.join("a")
        b = await call.join("b", shade=90)
        await wait_for(lambda: b.received[("a", "video")] >= 5, 20)
        room = call.service._rooms[ROOM]
        old = room.peers["a"].upstream["video"]
        before = b.received[("a", "video")]
        await call.join("a", shade=30)  # the page's new connection (media.join again)
        await wait_for(lambda: b.received[("a", "video")] >= before + 5, 20)
        new = room.peers["a"].upstream["video"]
        assert new is not old
        slot = room.peers["b"].slot_for[("a", "video")]
        # One VP8 keyframe packet (descriptor S=1; payload header P=0, start code), on a new SSRC:
        # forwarded, it starts a new segment of b's outgoing stream at once (on_packet is synchronous).
        packet = vp8_packet(1000, 90_000, keyframe=True)
        call.service._packet_handler(ROOM, "a", "video", old)(None, packet)
        assert slot.out.rewriter._segment != ("a", packet.ssrc)
        # The same packet on a's current connection does go out (the check above can fail).
        call.service._packet_handler(ROOM, "a", "video", new)(None, packet)
        assert slot.out.rewriter._segment == ("a", packet.ssrc)
    finally:
        if first is not None:
            await first.close()
        await call.close()


def vp8_packet(seq: int, timestamp: int, keyframe: bool, ssrc: int = 0x5EA1ED) -> RtpPacket:
    """One whole VP8 frame in a packet: descriptor S=1, then the payload header (P=0 on a keyframe)."""
    packet = RtpPacket(payload_type=96, marker=1, sequence_number=seq, timestamp=timestamp, ssrc=ssrc)
    packet.payload = bytes([0x10, 0x50 if keyframe else 0x51, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]) + bytes(40)
    return packet


async def test_video_that_falls_silent_resumes_at_a_keyframe():
    """After a source's video was silent for seconds, what arrives first is old (a TCP relay delivers
    what it held back while the link was down, all at once) and goes to no one until a keyframe."""
    call = Call(forwarder="rtp")
    everyone = ("a", "b")
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await call.join("a")
        b = await call.join("b", shade=90)
        await wait_for(lambda: b.received[("a", "video")] >= 5, 20)
        room = call.service._rooms[ROOM]
        slot = room.peers["b"].slot_for[("a", "video")]
        clock = [1000.0]
        real_monotonic = time.monotonic
        time.monotonic = lambda: clock[0]  # read once, when the handler is made
        try:
            on_packet = call.service._packet_handler(ROOM, "a", "video", room.peers["a"].upstream["video"])
        finally:
            time.monotonic = real_monotonic
        # No await between the packets: a's own stream cannot come between them.
        on_packet(None, vp8_packet(1000, 0, keyframe=True))
        clock[0] += 0.04
        on_packet(None, vp8_packet(1001, 3600, keyframe=False))
        assert slot.out.rewriter._segment == ("a", 0x5EA1ED) and not slot.waiting_keyframe
        clock[0] += forwarder.RESUME_AFTER_SILENCE + 1
        on_packet(None, vp8_packet(1002, 7200, keyframe=False))
        assert slot.out.rewriter._segment is None and slot.waiting_keyframe
        clock[0] += 0.04
        on_packet(None, vp8_packet(1003, 10800, keyframe=True))
        assert slot.out.rewriter._segment == ("a", 0x5EA1ED) and not slot.waiting_keyframe
    finally:
        await call.close()


async def test_lossy_subscriber_gets_retransmissions_and_rtcp_stays_on_its_link():
    call = Call(forwarder="rtp")
    everyone = ("a", "b", "c")
    rng = random.Random(15)
    logs: dict[str, list] = {pid: [] for pid in everyone}
    lossy = "c"
    dropped = []

    def lose(data: bytes) -> bool:
        if rng.random() < 0.08:
            dropped.append(int.from_bytes(data[8:12], "big"))
            return True
        return False
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        for n, pid in enumerate(everyone):
            await call.join(pid, shade=60 * n, rtcp_log=logs[pid],
                            drop_incoming=lose if pid == lossy else None)
        peers = call.peers
        # aiortc's own receiver (the test peer) recovers slowly from loss in its jitter buffer whichever
        # forwarder serves it, so the lossy peer is only asked to have started.
        await wait_for(lambda: all(peers[d].received[(s, "video")] >= (1 if d == lossy else 5)
                                   for s in everyone for d in everyone if s != d), 25,
                       explain=lambda: f"{ {d: dict(p.received) for d, p in peers.items()} } {call.service.stats(ROOM)}")
        await asyncio.sleep(4.0)
        stats = call.service.stats(ROOM)
        # Every video packet lost on c's link (but the last few, whose loss c cannot see yet) was
        # NACKed by c and sent again from the server's history for that stream; the clean link needed none.
        slots = call.service._rooms[ROOM].peers[lossy].slot_for
        lost_video = resent = 0
        for source in ("a", "b"):
            ssrc = slots[(source, "video")].out.sender._ssrc
            lost_here = sum(1 for s in dropped if s == ssrc)
            path = stats[(source, lossy, "video")]
            # Not at least 1 per stream: on a loaded machine few packets of one stream may pass, and none be lost.
            assert path["retransmitted"] >= lost_here - 2, (source, lost_here, dict(path))
            assert path["nack_missed"] == 0, path
            lost_video, resent = lost_video + lost_here, resent + path["retransmitted"]
        assert lost_video >= 3 and resent >= 1, (lost_video, stats)
        clean = stats[("a", "b", "video")]["retransmitted"]
        assert clean <= max(2, stats[("a", lossy, "video")]["retransmitted"] // 4), (clean, stats[("a", lossy, "video")])

        # A keyframe request from c about a's video reaches a, and a alone.
        a_video_ssrc = next(t.sender._ssrc for t in peers["a"].pc.getTransceivers() if t.sender.track is peers["a"].video)
        plis_before = sum(1 for p in logs["a"] if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI)
        await asyncio.sleep(0.4)  # past the server's rate limit for a's keyframe requests
        c_from_a = next(t for t in peers["c"].pc.getTransceivers() if peers["c"].source_of(t.mid) == "a" and t.kind == "video")
        assert await hooks.request_keyframe(c_from_a.receiver)
        await wait_for(lambda: sum(1 for p in logs["a"] if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI
                                   and p.media_ssrc == a_video_ssrc) > plis_before, 5)

        # Every report and feedback message each peer received is about a stream that peer sends.
        for pid, log in logs.items():
            own = set()
            for t in peers[pid].pc.getTransceivers():
                if t.sender.track is not None:
                    own |= {t.sender._ssrc, t.sender._rtx_ssrc}
            assert log, f"{pid} received no RTCP at all"
            for packet in log:
                if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                    assert all(r.ssrc in own for r in packet.reports), (pid, packet)
                elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                    assert set(unpack_remb_fci(packet.fci)[1]) <= own, (pid, packet)
                elif isinstance(packet, (RtcpPsfbPacket, RtcpRtpfbPacket)):
                    assert packet.media_ssrc in own, (pid, packet)
    finally:
        await call.close()


async def test_packets_reach_the_forwarder_from_the_socket_not_through_aiortcs_receive_loop():
    """Once DTLS is up, every RTP packet of a source goes from the socket's callback to the forwarder
    (hooks.install_fast_receive); aiortc's own coroutine chain is left only what came before."""
    call = Call(forwarder="rtp")
    everyone = ("a", "b")
    slow = {"n": 0}
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await call.join("a")
        b = await call.join("b", shade=90)
        for peer in call.service._rooms[ROOM].peers.values():
            for transceiver in peer.upstream.values():
                receiver = transceiver.receiver
                queued = receiver._handle_rtp_packet

                async def counted(packet, arrival_time_ms, queued=queued):
                    slow["n"] += 1
                    await queued(packet, arrival_time_ms)

                receiver._handle_rtp_packet = counted
        await wait_for(lambda: b.received[("a", "video")] >= 30 and b.received[("a", "audio")] >= 50, 20)
        protocols = [p for peer in call.service._rooms[ROOM].peers.values() for dtls in hooks._dtls_transports(peer.pc)
                     for p in dtls.transport.iceGatherer._connection._protocols]
        assert protocols and all(getattr(p.datagram_received, "_companion_fast", False) for p in protocols)
        forwarded = call.packets("a", "b", "video") + call.packets("a", "b", "audio")
        assert forwarded >= 80 and slow["n"] <= forwarded // 10, (forwarded, slow)
    finally:
        await call.close()
