"""Fails loudly when a private aiortc name the pass-through design uses has moved."""

from __future__ import annotations

import inspect
import queue
from fractions import Fraction

import aiortc
import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpreceiver import RTCRtpReceiver, decoder_worker
from aiortc.rtcrtpsender import RTCRtpSender

from companion.media import hooks


def test_aiortc_is_the_pinned_version():
    assert aiortc.__version__ == hooks.PINNED_AIORTC
    hooks.check_aiortc()


def test_max_bundle_is_supported():
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    assert config.bundlePolicy is RTCBundlePolicy.MAX_BUNDLE


async def test_receiver_decoder_queue_and_tap():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        receiver = pc.addTransceiver("video", direction="recvonly").receiver
        assert isinstance(getattr(receiver, hooks.DECODER_QUEUE_ATTR), queue.Queue)
        assert getattr(receiver, "_RTCRtpReceiver__decoder_thread") is None
        seen = []
        tap = hooks.install_frame_tap(receiver, lambda codec, frame: seen.append(frame))
        assert getattr(receiver, hooks.DECODER_QUEUE_ATTR) is tap
        # What _handle_rtp_packet does with a complete frame:
        getattr(receiver, hooks.DECODER_QUEUE_ATTR).put(("codec", "frame"))
        assert seen == ["frame"]
        tap.put(None)  # the end-of-stream marker reaches the thread's queue
        assert tap.get_nowait() is None
    finally:
        await pc.close()


def test_receiver_source_still_feeds_the_decoder_queue():
    # The hook relies on complete frames going through this queue and on the
    # thread taking its input queue as an argument when it starts.
    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in source
    assert "self.__decoder_queue," in inspect.getsource(RTCRtpReceiver.receive)
    assert list(inspect.signature(decoder_worker).parameters) == ["loop", "input_q", "output_q", "decode_error"]
    assert callable(RTCRtpReceiver._send_rtcp_pli)


def test_sender_packs_packets_and_routes_keyframe_requests_through_one_method():
    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in source
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert callable(RTCRtpSender._send_keyframe)


def test_vp8_keyframe_bit_on_real_frames():
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    packets = []
    for n in range(3):
        image = np.full((120, 160, 3), n * 40, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = n
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    flags = [hooks.is_vp8_keyframe(bytes(p)) for p in packets]
    assert flags[0] is True
    assert flags[1:] and not any(flags[1:])
    assert flags == [p.is_keyframe for p in packets]
    assert not hooks.is_vp8_keyframe(b"")


def test_ice_consent_limit_is_still_the_name_the_consent_loop_reads():
    import aioice.ice

    hooks.relax_ice_consent()
    assert aioice.ice.CONSENT_FAILURES == hooks.ICE_CONSENT_FAILURES
    # The consent loop must still compare against the module-level name, or the raise does nothing.
    assert "failures >= CONSENT_FAILURES" in inspect.getsource(aioice.ice.Connection.query_consent)


async def test_receive_buffers_are_widened_on_the_sockets_an_offer_gathers():
    """The server's media sockets are found where aioice keeps them, and get a receive queue far
    beyond aioice's own 256 KiB (as far as net.core.rmem_max allows)."""
    import socket
    from pathlib import Path

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        assert hooks.widen_receive_buffers(pc) >= 1
        gatherer = pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
        sizes = [p.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                 for p in gatherer._connection._protocols]
        # Linux doubles the request for its bookkeeping, capped at rmem_max first.
        cap = int(Path("/proc/sys/net/core/rmem_max").read_text())
        assert sizes and all(size >= 2 * min(hooks.RECEIVE_BUFFER, cap) for size in sizes), (sizes, cap)
    finally:
        await pc.close()


# ---------------------------------------------------------------- the RTP forwarder's hooks
def test_receiver_per_packet_work_is_what_the_packet_tap_repeats():
    """install_packet_tap stands in for RTCRtpReceiver._handle_rtp_packet and repeats its work up to
    the depayloader; if aiortc changes that work, the tap must be looked at again."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    for step in (
        "if not self._enabled:",
        "self.__remote_bitrate_estimator.add(",
        "self.__active_ssrc[packet.ssrc] = clock.current_datetime()",
        "codec = self.__codecs.get(packet.payload_type)",
        "self.__remote_streams[packet.ssrc].add(packet)",
        "packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)",
        "self.__nack_generator.add(packet)",
        "depayload(codec, packet.payload)",
    ):
        assert step in source, step
    # The transport calls the receiver's method by name on each packet, so an instance attribute wins.
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data)
    assert "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in inspect.getsource(
        RTCDtlsTransport._recv_next)
    assert "await self._handle_rtcp_data(data)" in inspect.getsource(RTCDtlsTransport._recv_next)
    assert "self._tx_srtp.protect(data)" in inspect.getsource(RTCDtlsTransport._send_rtp)


async def test_packet_tap_state_and_sender_report_names():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        video = pc.addTransceiver("video", direction="sendrecv")
        receiver, sender = video.receiver, video.sender
        for name in hooks.RECEIVER_STATE_ATTRS:
            assert hasattr(receiver, name), name
        assert isinstance(getattr(receiver, "_RTCRtpReceiver__codecs"), dict)
        assert getattr(receiver, "_RTCRtpReceiver__started") is False
        assert hasattr(receiver, "_RTCRtpReceiver__rtcp_ssrc")
        assert callable(receiver._send_rtcp) and callable(receiver._send_rtcp_nack)

        def on_packet(codec, packet):
            pass

        hooks.install_packet_tap(receiver, on_packet)
        assert receiver._handle_rtp_packet.__name__ == "handle_rtp_packet"
        for name in hooks.SENDER_REPORT_ATTRS:
            assert isinstance(getattr(sender, name), int), name
        hooks.note_sent(sender, ntp_time=5, rtp_timestamp=7, octets=100)
        assert [getattr(sender, n) for n in hooks.SENDER_REPORT_ATTRS] == [5, 7, 100, 1]
        run_rtcp = inspect.getsource(RTCRtpSender._run_rtcp)
        for field in ("ntp_timestamp=self.__ntp_timestamp", "rtp_timestamp=self.__rtp_timestamp",
                      "packet_count=self.__packet_count", "octet_count=self.__octet_count"):
            assert field in run_rtcp, field
        assert isinstance(sender._ssrc, int) and isinstance(sender._rtx_ssrc, int)
        assert list(inspect.signature(RTCRtpSender.send).parameters) == ["self", "parameters"]
        assert "self.__transport._register_rtp_sender(self, parameters)" in inspect.getsource(RTCRtpSender.send)
        seen = []
        hooks.on_send_parameters(sender, seen.append)

        async def nack(seq):
            pass

        hooks.route_retransmissions(sender, nack)
        assert sender._retransmit is nack
    finally:
        await pc.close()


def test_direct_send_does_what_the_transport_send_does():
    """hooks.send_rtp shortcuts RTCDtlsTransport._send_rtp -> RTCIceTransport._send -> Connection.send
    -> sendto -> StunProtocol.send_data; each step must still be what it repeats."""
    import aioice.ice
    from aiortc.rtcdtlstransport import RTCDtlsTransport, State
    from aiortc.rtcicetransport import RTCIceTransport

    send_rtp = inspect.getsource(RTCDtlsTransport._send_rtp)
    assert "if self._state != State.CONNECTED:" in send_rtp and "data = self._tx_srtp.protect(data)" in send_rtp
    assert "await self.transport._send(data)" in send_rtp
    assert "self._send = self._connection.send" in inspect.getsource(RTCIceTransport.__init__)
    assert "await self.sendto(data, 1)" in inspect.getsource(aioice.ice.Connection.send)
    sendto = inspect.getsource(aioice.ice.Connection.sendto)
    assert "active_pair = self._nominated.get(component)" in sendto
    assert "await active_pair.protocol.send_data(data, active_pair.remote_addr)" in sendto
    assert "self.transport.sendto(data, addr)" in inspect.getsource(aioice.ice.StunProtocol.send_data)
    assert State.CONNECTED


def test_srtp_protect_and_unprotect_are_pylibsrtps(monkeypatch):
    """The forwarder's protect reaches into pylibsrtp's binding: it must give byte for byte what
    Session.protect gives, refuse what it refuses, and refuse to run on a pylibsrtp it was not checked on."""
    import os

    import pylibsrtp
    from pylibsrtp import Policy, Session

    for profile, key_size in ((Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 44), (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30)):
        key = os.urandom(key_size)

        def session():
            return Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))

        ours, reference = hooks.srtp_protector(session()), session()
        inbound = Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
        unprotect, reference_unprotect = hooks.srtp_unprotector(Session(inbound)), Session(inbound)
        for i in range(300):
            packet = bytes([0x80, 96]) + i.to_bytes(2, "big") + (i * 960).to_bytes(4, "big") + bytes(4) + os.urandom(i * 4)
            protected = ours(packet)
            assert protected == reference.protect(packet)
            assert unprotect(protected) == reference_unprotect.unprotect(protected) == packet
        with pytest.raises(pylibsrtp.Error):
            unprotect(protected[:-1] + bytes([protected[-1] ^ 1]))  # tampered: authentication fails
        too_long = bytes([0x80, 96]) + bytes(10) + bytes(1500)
        with pytest.raises(ValueError):
            reference.protect(too_long)
        with pytest.raises(ValueError):
            ours(too_long)
        with pytest.raises(pylibsrtp.Error):  # replayed: libsrtp's own error comes through
            ours(bytes([0x80, 96]) + (5).to_bytes(2, "big") + bytes(8) + b"again")
    monkeypatch.setattr(pylibsrtp, "__version__", "0.0.1")
    with pytest.raises(RuntimeError, match="pylibsrtp"):
        hooks.srtp_protector(Session(Policy(key=bytes(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND)))


async def test_rtp_link_sends_on_the_nominated_pair_and_keeps_asyncios_order():
    """RtpLink writes to the nominated pair's socket itself, except while asyncio holds datagrams
    back for that socket (they would be overtaken); a new nominated pair or SRTP session is followed."""
    import asyncio
    import os
    from types import SimpleNamespace

    from aioice.ice import StunProtocol
    from pylibsrtp import Policy, Session

    loop = asyncio.get_running_loop()
    got: list[bytes] = []

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            got.append(data)

    sink, _ = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    transport, protocol = await loop.create_datagram_endpoint(lambda: StunProtocol(None), local_addr=("127.0.0.1", 0))
    try:
        key = os.urandom(30)
        pair = SimpleNamespace(protocol=protocol, remote_addr=sink.get_extra_info("sockname"))
        dtls = SimpleNamespace(_state=hooks.DTLS_CONNECTED, _tx_srtp=Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)),
                               transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})))
        receiver = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
        link = hooks.RtpLink(dtls)
        packets = [bytes([0x80, 96]) + i.to_bytes(2, "big") + bytes(8) + b"payload %d" % i for i in range(6)]
        assert link.send(packets[0]) is None
        # asyncio holds a datagram back (as it does after EAGAIN): the next ones queue behind it.
        transport._buffer.append((b"held", pair.remote_addr))
        assert link.send(packets[1]) is None
        assert [d for d, _ in transport._buffer][0] == b"held" and len(transport._buffer) == 2
        held_back = transport._buffer[1][0]
        transport._buffer.clear()
        transport._buffer_size = 0
        # A new SRTP session (a DTLS restart) is taken up at once.
        key2 = os.urandom(30)
        dtls._tx_srtp = Session(Policy(key=key2, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        assert link.send(packets[2]) is None
        for _ in range(100):
            if len(got) >= 2:
                break
            await asyncio.sleep(0.01)
        assert receiver.unprotect(got[0]) == packets[0]
        assert receiver.unprotect(held_back) == packets[1]
        assert Session(Policy(key=key2, ssrc_type=Policy.SSRC_ANY_INBOUND)).unprotect(got[1]) == packets[2]
        dtls.transport._connection._nominated.clear()
        with pytest.raises(ConnectionError):
            link.send(packets[3])
        dtls._state = None
        with pytest.raises(ConnectionError):
            link.send(packets[4])
    finally:
        transport.close()
        sink.close()


def test_fast_receive_repeats_what_aioice_and_the_dtls_transport_do_with_an_srtp_datagram():
    """hooks.install_fast_receive takes SRTP datagrams from StunProtocol.datagram_received straight to
    the receiver's packet work; each step it skips or repeats must still be what aiortc and aioice do."""
    import aioice.ice
    from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter

    received = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    assert "message = stun.parse_message(data)" in received
    assert "self.receiver.data_received(data, self.local_candidate.component)" in received
    assert "self._queue.put_nowait((data, component))" in inspect.getsource(aioice.ice.Connection.data_received)
    recv_next = inspect.getsource(RTCDtlsTransport._recv_next)
    for step in ("self.__rx_bytes += len(data)", "self.__rx_packets += 1",
                 "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:", "arrival_time_ms = clock.current_ms()",
                 "if is_rtcp(data):", "data = self._rx_srtp.unprotect(data)"):
        assert step in recv_next, step
    # The fast path tells RTCP apart itself, by aiortc's rule (RFC 5761 section 4).
    from aiortc.rtp import is_rtcp

    assert "return len(msg) >= 2 and msg[1] >= 192 and msg[1] <= 208" in inspect.getsource(is_rtcp)
    handle = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "packet = RtpPacket.parse(data, self._rtp_header_extensions_map)" in handle
    assert "receiver = self._rtp_router.route_rtp(packet)" in handle
    assert callable(RtpRouter.route_rtp)
    assert "self._state = state" in inspect.getsource(RTCDtlsTransport._set_state)


async def test_remb_reaches_the_senders_it_names_and_is_sent_from_the_receiver():
    """hooks.route_remb takes a subscriber's REMB where aiortc routes it (to each sender the FCI names,
    through _handle_rtcp_packet) and leaves other RTCP to the sender; hooks.send_remb builds the REMB
    install_packet_tap used to send from aiortc's estimate."""
    from aiortc.rtcdtlstransport import RtpRouter
    from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_PLI, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        video = pc.addTransceiver("video", direction="sendrecv")
        sender, receiver = video.sender, video.receiver
        router = RtpRouter()
        router.register_sender(sender, sender._ssrc)
        remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(750_000, [sender._ssrc, 99]))
        assert router.route_rtcp(remb) == {sender}
        seen, keyframes = [], []
        sender._send_keyframe = lambda: keyframes.append(True)
        hooks.route_remb(sender, lambda bitrate, ssrcs: seen.append((bitrate, ssrcs)))
        await sender._handle_rtcp_packet(remb)
        assert seen == [(750_000, [sender._ssrc, 99])]
        # A REMB about other streams, and other RTCP, are not ours.
        await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(1, [99])))
        await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=sender._ssrc))
        assert len(seen) == 1 and keyframes == [True]

        sent = []

        async def capture(packet):
            sent.append(packet)

        receiver._send_rtcp = capture
        assert hooks.send_remb(receiver, 500_000) is None  # no stream received yet, no RTCP SSRC
        receiver._set_rtcp_ssrc(1234)
        assert hooks.send_remb(receiver, 500_000) is None
        await hooks.send_remb(receiver, 500_000, [42])
        assert len(sent) == 1 and sent[0].fmt == RTCP_PSFB_APP and sent[0].ssrc == 1234 and sent[0].media_ssrc == 0
        assert unpack_remb_fci(sent[0].fci) == (500_000, [42])
        # What send_remb relies on: the RTCP SSRC the receiver sends with, and _send_rtcp on its transport.
        assert "self.__rtcp_ssrc = ssrc" in inspect.getsource(RTCRtpReceiver._set_rtcp_ssrc)
        assert "await self.transport._send_rtp(bytes(packet))" in inspect.getsource(RTCRtpReceiver._send_rtcp)
    finally:
        await pc.close()
