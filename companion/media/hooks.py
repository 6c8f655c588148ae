"""The few private corners of aiortc the pass-through design rests on.

aiortc's receiver always decodes: complete frames leave the jitter buffer
through a private queue to a decoder thread.  We swap that queue for a tap
that hands the *encoded* frame to us and only passes the end-of-stream
marker on, so the decoder thread ends when the receiver stops.  These names
are private, so aiortc is pinned exactly and tests/test_media_hooks.py
checks every one of them.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import time
from typing import Any, Awaitable, Callable

import aioice
import aioice.ice
import aiortc
from aiortc import clock
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aioice.ice import StunProtocol as _StunProtocol
from aiortc.rtcdtlstransport import State as _DtlsState

DTLS_CONNECTED = _DtlsState.CONNECTED

PINNED_AIORTC = "1.16.0"
PINNED_AIOICE = "0.13.0"
# Name-mangled attribute of RTCRtpReceiver holding the decoder thread's input queue.
DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"

# (codec parameters, aiortc JitterFrame with .data and .timestamp)
FrameHandler = Callable[[Any, Any], None]


class FrameTap(queue.Queue):
    """Stands in for the receiver's decoder queue; called on the event loop thread."""

    def __init__(self, original: queue.Queue, on_frame: FrameHandler, also_decode: bool = False):
        super().__init__()
        self._original = original
        self._on_frame = on_frame
        # Test clients may still want decoded frames on the remote track.
        self._also_decode = also_decode

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            # End of stream: the decoder thread reads from whichever queue it
            # was started with; both get the marker so it always exits.
            super().put(None)
            self._original.put(None)
            return
        codec, frame = item
        self._on_frame(codec, frame)
        if self._also_decode:
            super().put(item)


def check_aiortc() -> None:
    """Refuse to run on an aiortc whose private names we have not checked."""
    if aiortc.__version__ != PINNED_AIORTC:
        raise RuntimeError(f"companion.media needs aiortc=={PINNED_AIORTC}, found {aiortc.__version__}")


# aioice gives each ICE consent check (every ~5 s) one try of 0.5 s and drops the
# connection after 6 misses in a row.  With five browsers on a loaded two-core
# machine the answers come late that often: every connection of a five-person
# room was dropped and rebuilt about every 40 s, cutting speech in the advice
# round (tests/test_browser_session.py).  A page that is really gone is noticed
# by its WebSocket (heartbeat 10 s), and a page whose media fails rebuilds it itself.
ICE_CONSENT_FAILURES = 36  # about three minutes


def relax_ice_consent() -> None:
    """Raise aioice's module-level consent limit, read by every connection's consent loop."""
    if aioice.__version__ != PINNED_AIOICE or not isinstance(getattr(aioice.ice, "CONSENT_FAILURES", None), int):
        raise RuntimeError(f"companion.media needs aioice=={PINNED_AIOICE} with ice.CONSENT_FAILURES, found {aioice.__version__}")
    aioice.ice.CONSENT_FAILURES = max(aioice.ice.CONSENT_FAILURES, ICE_CONSENT_FAILURES)


# One event loop reads every participant's packets. While it is held up (a re-offer when
# someone joins, a state push, a machine that is busy for a moment) the kernel queues them;
# aioice asks for 256 KiB per socket, about a hundred packets, and what does not fit is
# dropped. Each lost video packet then freezes that stream in aiortc's jitter buffer until
# a keyframe (tests/test_browser_session.py saw 80 % of packets dropped this way). Four MiB
# rides out seconds; the kernel caps the request at net.core.rmem_max (README: deploy).
RECEIVE_BUFFER = 4 * 1024 * 1024


def widen_receive_buffers(pc: Any, size: int = RECEIVE_BUFFER) -> int:
    """Ask SO_RCVBUF=``size`` bytes on every UDP socket of ``pc``'s ICE connections.

    Call it after setLocalDescription (the sockets exist from then on). Returns the number
    of sockets widened; raises RuntimeError when aioice no longer keeps them where expected.
    """
    widened = 0
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        gatherer = getattr(getattr(dtls, "transport", None), "iceGatherer", None)
        if gatherer is None:
            continue
        connection = getattr(gatherer, "_connection", None)
        protocols = getattr(connection, "_protocols", None)
        if not isinstance(protocols, list):
            raise RuntimeError(f"aioice {aioice.__version__}: RTCIceGatherer._connection._protocols is gone")
        for protocol in protocols:
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None or sock.type != socket.SOCK_DGRAM:
                continue
            try:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < size:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                widened += 1
            except OSError:
                pass
    return widened


def install_frame_tap(receiver: RTCRtpReceiver, on_frame: FrameHandler, also_decode: bool = False) -> FrameTap:
    """Route this receiver's complete encoded frames to ``on_frame`` instead of its decoder.

    Must run before the receiver starts (right after the transceiver is made):
    the decoder thread reads from the queue in place when it starts.
    """
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("install_frame_tap: the receiver has already started")
    original = getattr(receiver, DECODER_QUEUE_ATTR)
    if isinstance(original, FrameTap):
        return original
    if not isinstance(original, queue.Queue):
        raise RuntimeError("aiortc RTCRtpReceiver has no decoder queue where companion.media expects it")
    tap = FrameTap(original, on_frame, also_decode)
    setattr(receiver, DECODER_QUEUE_ATTR, tap)
    return tap


async def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI upstream for every stream this receiver got packets from lately."""
    sent = False
    for source in receiver.getSynchronizationSources():
        await receiver._send_rtcp_pli(source.source)
        sent = True
    return sent


def route_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """A subscriber's PLI/FIR reaches the sender's ``_send_keyframe``, which on the
    packet path does nothing; send it on to the source instead."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise RuntimeError("aiortc RTCRtpSender._send_keyframe is gone")
    sender._send_keyframe = on_request  # type: ignore[method-assign]


def is_vp8_keyframe(data: bytes) -> bool:
    """VP8 frame header: the lowest bit of the first byte is 0 on a keyframe (RFC 6386 9.1)."""
    return bool(data) and (data[0] & 0x01) == 0


# ---------------------------------------------------------------- RTP-level forwarding
# The receiver's own per-packet work before it depayloads: these private
# attributes of RTCRtpReceiver are dicts and objects made once in __init__
# and filled in place by receive(), so a tap can hold on to them.
RECEIVER_STATE_ATTRS = (
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__active_ssrc",
    "_RTCRtpReceiver__remote_streams",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__nack_generator",
    "_RTCRtpReceiver__remote_bitrate_estimator",
)
# The sender's figures its RTCP loop puts in each sender report (SR).
SENDER_REPORT_ATTRS = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)

# (codec parameters, RtpPacket with the original SSRC/sequence number, RTX already unwrapped); called
# synchronously on the event loop, once per packet: it must not block.
PacketHandler = Callable[[Any, Any], None]
# Seconds from the NTP epoch (1900) to the Unix epoch (1970), RFC 868.
NTP_UNIX_OFFSET = 2_208_988_800


def ntp_now() -> int:
    """64-bit NTP time (32.32 fixed point), as aiortc.clock.current_ntp_time, from time.time() without
    building datetimes (once per forwarded packet)."""
    t = time.time() + NTP_UNIX_OFFSET
    return (int(t) << 32) | int((t % 1.0) * 4294967296.0)


def ms_now() -> int:
    """Milliseconds since the NTP epoch, as aiortc.clock.current_ms."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


# A source's "last seen" (RTCRtpReceiver.getSynchronizationSources, 10 s window) is refreshed at most this often.
ACTIVE_REFRESH_MS = 250

# Where install_packet_tap leaves the receiver's synchronous per-packet work for install_fast_receive.
PACKET_WORK_ATTR = "_companion_packet_work"

# Coroutines the synchronous packet path starts (RTCP it owes the source): held so they are not collected.
_BACKGROUND: set[asyncio.Future] = set()


def _background(coro: Awaitable[None]) -> None:
    task = asyncio.ensure_future(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def install_packet_tap(receiver: RTCRtpReceiver, on_packet: PacketHandler, feedback: bool = True,
                       estimate: bool = True) -> None:
    """Hand each decrypted RTP packet of this receiver to ``on_packet(codec, packet)`` instead of
    aiortc's depayloader, jitter buffer and decoder.

    What aiortc does per packet before that stays as it was, so the source
    sees the same RTCP from us as before: receiver reports (loss, jitter),
    NACKs for packets that did not arrive (its retransmissions, unwrapped from
    RTX, come through ``on_packet`` like any packet) and REMB bandwidth estimates;
    the RTCP goes out in a task of its own, so the packet's own work never waits.
    Call it before the receiver starts.  ``feedback=False`` leaves out the NACKs and REMB
    (simulated participants that only count what arrives); ``estimate=False`` leaves out only
    aiortc's per-packet bandwidth estimate and its REMB (the RTP forwarder sends the source its
    subscribers' own REMB instead, rtp/remb.py).
    """
    from aiortc.codecs import is_rtx
    from aiortc.rtcrtpreceiver import StreamStatistics
    from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unwrap_rtx

    started = getattr(receiver, "_RTCRtpReceiver__started", None)
    if started is None:
        raise RuntimeError(f"aiortc {aiortc.__version__}: RTCRtpReceiver.__started is gone")
    if started:
        raise RuntimeError("install_packet_tap: the receiver has already started")
    try:
        codecs, active, streams, rtx_ssrc, nack, estimator = (getattr(receiver, a) for a in RECEIVER_STATE_ATTRS)
    except AttributeError as exc:
        raise RuntimeError(f"aiortc {aiortc.__version__}: RTCRtpReceiver state moved ({exc})") from None
    if not feedback:
        nack = estimator = None
    if not estimate:
        estimator = None
    current_datetime = clock.current_datetime
    seen_ms: dict[int, int] = {}
    # Payload type -> (codec, is it RTX): is_rtx reads the codec's MIME type apart on every call.
    kinds: dict[int, tuple[Any, bool]] = {}

    def packet_work(packet: Any, arrival_time_ms: int) -> None:
        if not receiver._enabled:
            return
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time, arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size, ssrc=packet.ssrc,
            )
            rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc
            if rtcp_ssrc is not None and remb is not None:
                _background(receiver._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                                                               fci=pack_remb_fci(*remb))))
        ssrc = packet.ssrc
        if arrival_time_ms - seen_ms.get(ssrc, 0) >= ACTIVE_REFRESH_MS:
            seen_ms[ssrc] = arrival_time_ms
            active[ssrc] = current_datetime()
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        stats = streams.get(ssrc)
        if stats is None:
            stats = streams[ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        known = kinds.get(packet.payload_type)
        if known is None or known[0] is not codec:  # new, or renegotiated
            known = kinds[packet.payload_type] = (codec, is_rtx(codec))
        if known[1]:
            original = rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original is None or len(packet.payload) < 2 or apt not in codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original)
            codec = codecs[apt]
        if nack is not None and nack.add(packet):
            _background(receiver._send_rtcp_nack(packet.ssrc, sorted(nack.missing)))
        on_packet(codec, packet)

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        packet_work(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]
    setattr(receiver, PACKET_WORK_ATTR, packet_work)


# RFC 7983 section 7: a datagram whose first byte is 128..191 is RTP or RTCP (STUN starts 0..3, DTLS 20..63).
def _is_srtp(first_byte: int) -> bool:
    return 127 < first_byte < 192


def install_fast_receive(pc: Any) -> int:
    """Take this connection's SRTP packets straight from the socket to the receivers' packet work.

    aiortc reads every datagram through a chain of coroutines: aioice tries
    to parse it as STUN, queues it, RTCDtlsTransport's loop takes it off the
    queue, unprotects, parses and awaits the receiver.  A forwarder receives
    one packet per source per few milliseconds, and that chain cost more than
    sending the packet on.  Here, once DTLS is up, an RTP datagram is
    unprotected, parsed (aiortc's RtpPacket), routed (the transport's own
    RtpRouter) and handed to the packet tap's work in the socket's callback;
    RTCP, STUN and DTLS keep aiortc's path.  A receiver without a packet tap
    still gets its packet through its own ``_handle_rtp_packet``.

    Call after setLocalDescription (the sockets exist from then on); returns
    the number of sockets hooked (hooking one twice keeps the first hook).
    Raises RuntimeError when aioice or aiortc no longer keep what this uses
    where expected.
    """
    hooked = 0
    for dtls in _dtls_transports(pc):
        gatherer = getattr(getattr(dtls, "transport", None), "iceGatherer", None)
        protocols = getattr(getattr(gatherer, "_connection", None), "_protocols", None)
        if not isinstance(protocols, list):
            raise RuntimeError(f"aioice {aioice.__version__}: RTCIceGatherer._connection._protocols is gone")
        for name in ("_rx_srtp", "_state", "_rtp_router", "_rtp_header_extensions_map", DTLS_RX_BYTES, DTLS_RX_PACKETS):
            if not hasattr(dtls, name):
                raise RuntimeError(f"aiortc {aiortc.__version__}: RTCDtlsTransport.{name} is gone")
        receive = _srtp_receiver(dtls)
        for protocol in protocols:
            original = protocol.datagram_received
            if getattr(original, "_companion_fast", False):
                continue

            def datagram_received(data: bytes, addr: Any, original: Any = original) -> None:
                if data and _is_srtp(data[0]) and receive(data):
                    return
                original(data, addr)

            datagram_received._companion_fast = True  # type: ignore[attr-defined]
            protocol.datagram_received = datagram_received
            hooked += 1
    return hooked


DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"


def _srtp_receiver(dtls: Any) -> Callable[[bytes], bool]:
    """``receive(datagram)``: handle one SRTP datagram of ``dtls``; False to leave it to aiortc
    (not connected yet, or RTCP)."""
    import logging
    import struct

    import pylibsrtp
    from aiortc.rtcdtlstransport import State
    connected = State.CONNECTED
    current_ms = ms_now
    parser = fast_rtp_parser(dtls._rtp_header_extensions_map)
    unprotector: list[Any] = [None, None]  # the SRTP session in use, and its unprotect
    failures = [0]

    def receive(data: bytes) -> bool:
        srtp = dtls._rx_srtp
        # RTCP (RFC 5761 section 4: packet type 192..208 in the second byte) keeps aiortc's path.
        if srtp is None or dtls._state is not connected or (len(data) >= 2 and 192 <= data[1] <= 208):
            return False
        counters = dtls.__dict__
        counters[DTLS_RX_BYTES] += len(data)
        counters[DTLS_RX_PACKETS] += 1
        arrival_time_ms = current_ms()
        if srtp is not unprotector[0]:
            unprotector[:] = [srtp, srtp_unprotector(srtp)]
        try:
            packet = parser[0](unprotector[1](data))
        except (pylibsrtp.Error, ValueError, struct.error):
            # What aiortc does too: a packet that does not decrypt or parse is dropped.  (aiortc lets
            # struct.error, an extension value of the wrong size, escape; here it would reach the loop.)
            return True
        receiver = dtls._rtp_router.route_rtp(packet)
        if receiver is None:
            return True
        work = receiver.__dict__.get(PACKET_WORK_ATTR)
        if work is None:
            _background(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))
            return True
        try:
            work(packet, arrival_time_ms)
        except Exception:
            # Called from the socket's callback: one bad packet must not take the loop's reader down.
            failures[0] += 1
            if failures[0] in (1, 10, 100, 1000):
                logging.getLogger(__name__).exception("forwarding an RTP packet failed (%d so far)", failures[0])
        return True

    return receive


HEADER_EXTENSION_IDS = "_HeaderExtensionsMap__ids"  # aiortc's HeaderExtensions of negotiated ids
RTP_PARSER_ATTR = "_companion_rtp_parser"


def fast_rtp_parser(extensions_map: Any) -> list[Callable[[bytes], Any]]:
    """``[parse]``: companion.media.rtp.parse's parser for the ids ``extensions_map`` (an aiortc
    HeaderExtensionsMap) holds, replaced in the list each time aiortc configures the map again.

    aiortc configures a transport's one map from every transceiver that starts on it, so a
    renegotiation can move an extension to another id; the parser follows.  One list per map,
    however often this is called.  Raises RuntimeError when the map no longer keeps its ids where
    expected.
    """
    cell = extensions_map.__dict__.get(RTP_PARSER_ATTR)
    if cell is not None:
        return cell
    from aiortc.rtp import HeaderExtensions, RtpPacket

    from .rtp.parse import rtp_parser

    if not isinstance(getattr(extensions_map, HEADER_EXTENSION_IDS, None), HeaderExtensions):
        raise RuntimeError(f"aiortc {aiortc.__version__}: HeaderExtensionsMap.{HEADER_EXTENSION_IDS} is gone")

    def build() -> Callable[[bytes], Any]:
        ids = dict(vars(getattr(extensions_map, HEADER_EXTENSION_IDS)))
        return rtp_parser(ids, lambda data: RtpPacket.parse(data, extensions_map))

    cell = [build()]
    configure = extensions_map.configure

    def configure_and_follow(parameters: Any) -> None:
        try:
            configure(parameters)
        finally:
            cell[0] = build()

    extensions_map.configure = configure_and_follow
    setattr(extensions_map, RTP_PARSER_ATTR, cell)
    return cell


def on_send_parameters(sender: RTCRtpSender, callback: Callable[[Any], None]) -> None:
    """Call ``callback(RTCRtpSendParameters)`` when negotiation starts this sender (its
    payload types, header extension ids and mid are known from then on)."""
    original = sender.send

    async def send(parameters: Any) -> None:
        callback(parameters)
        await original(parameters)

    sender.send = send  # type: ignore[method-assign]


_NACK_CHECKED: list[bool] = []  # reading aiortc's source costs ~10 ms: once per process


def route_retransmissions(sender: RTCRtpSender, on_nack: Callable[[int], Awaitable[None]]) -> None:
    """A subscriber's NACK calls the sender's ``_retransmit(seq)`` per lost packet; its own
    history is empty on the packet path, so answer from ours."""
    if not _NACK_CHECKED:
        if not inspect_has(RTCRtpSender._handle_rtcp_packet, "await self._retransmit(seq)"):
            raise RuntimeError("aiortc RTCRtpSender no longer answers NACKs through _retransmit")
        _NACK_CHECKED.append(True)
    sender._retransmit = on_nack  # type: ignore[method-assign]


_REMB_CHECKED: list[bool] = []


def route_remb(sender: RTCRtpSender, on_remb: Callable[[int, list[int]], None]) -> None:
    """Call ``on_remb(bitrate, ssrcs)`` (bit/s; the SSRCs the REMB lists) for each REMB
    (draft-alvestrand-rmcat-remb) a subscriber sends about this sender's stream, instead of
    aiortc's use of it (setting its encoder's target, which the packet path does not have).
    Other RTCP goes to the sender as before.  Synchronous, on the event loop: must not block."""
    from aiortc.rtcdtlstransport import RtpRouter, RTCDtlsTransport
    from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

    if not _REMB_CHECKED:
        # REMB carries media_ssrc 0: the router finds its senders in the FCI, and the transport calls
        # each recipient's _handle_rtcp_packet by name (an instance attribute wins).
        if not (inspect_has(RtpRouter.route_rtcp, "rtp.unpack_remb_fci(packet.fci)[1]")
                and inspect_has(RTCDtlsTransport._handle_rtcp_data, "await recipient._handle_rtcp_packet(packet)")
                and inspect_has(RTCRtpSender._handle_rtcp_packet, "packet.fmt == RTCP_PSFB_APP")):
            raise RuntimeError(f"aiortc {aiortc.__version__}: REMB no longer reaches RTCRtpSender._handle_rtcp_packet")
        _REMB_CHECKED.append(True)
    original = sender._handle_rtcp_packet

    async def handle_rtcp_packet(packet: Any) -> None:
        if type(packet) is RtcpPsfbPacket and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return  # not a REMB (another application-layer message): aiortc ignores it too
            if sender._ssrc in ssrcs:
                on_remb(bitrate, ssrcs)
            return
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]


def send_remb(receiver: RTCRtpReceiver, bitrate: int, ssrcs: list[int] | None = None) -> Awaitable[None] | None:
    """The coroutine that sends a REMB of ``bitrate`` bit/s on this receiver's transport, naming
    ``ssrcs`` (by default every stream the receiver got packets from lately: its source's media and
    RTX SSRCs); None when there is nothing to name yet or the receiver has no RTCP SSRC."""
    from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

    rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    if ssrcs is None:
        ssrcs = [source.source for source in receiver.getSynchronizationSources()]
    if rtcp_ssrc is None or not ssrcs:
        return None
    return receiver._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                                              fci=pack_remb_fci(bitrate, ssrcs)))


PINNED_PYLIBSRTP = "1.0.0"


def srtp_protector(session: Any) -> Callable[[bytes], bytes]:
    """``protect(packet) -> SRTP packet`` for a pylibsrtp Session, the same as
    ``session.protect`` (ValueError for a packet too long, pylibsrtp.Error when libsrtp fails).

    pylibsrtp's own protect allocates an out-length cell and checks its
    arguments on every packet, about a third of a protect's cost here; this
    calls libsrtp's ``srtp_protect(srtp_t, void *, int *)`` (libsrtp 2) through
    pylibsrtp's binding with both kept from call to call.  Raises RuntimeError
    when pylibsrtp no longer has what this uses.
    """
    import pylibsrtp

    return _srtp_call(session, "srtp_protect", pylibsrtp.SRTP_MAX_TRAILER_LEN)


def srtp_unprotector(session: Any) -> Callable[[bytes], bytes]:
    """``unprotect(SRTP packet) -> packet``, the same as ``session.unprotect``; see srtp_protector."""
    return _srtp_call(session, "srtp_unprotect", 0)


def _srtp_call(session: Any, name: str, trailer: int) -> Callable[[bytes], bytes]:
    import pylibsrtp
    from pylibsrtp import _binding

    if pylibsrtp.__version__ != PINNED_PYLIBSRTP:
        raise RuntimeError(f"companion.media needs pylibsrtp=={PINNED_PYLIBSRTP}, found {pylibsrtp.__version__}")
    ffi, lib = _binding.ffi, _binding.lib
    handle = getattr(session, "_srtp", None)
    call = getattr(lib, name, None)
    if handle is None or call is None or ffi.typeof(call).cname != "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)":
        raise RuntimeError(f"pylibsrtp {pylibsrtp.__version__}: Session._srtp or {name} moved")
    srtp = handle[0]
    cdata = ffi.new("char[]", 1500)
    buffer = ffi.buffer(cdata)
    limit = 1500 - trailer
    length = ffi.new("int *")
    check = pylibsrtp._srtp_assert

    def process(data: bytes) -> bytes:
        n = len(data)
        if n > limit:
            raise ValueError("packet is too long")
        buffer[0:n] = data
        length[0] = n
        err = call(srtp, cdata, length)
        if err:
            check(err)
        return buffer[0 : length[0]]

    process.session = session  # type: ignore[attr-defined]  # keeps the libsrtp context alive with us
    return process


class RtpLink:
    """Sends serialized RTP packets on one subscriber's DTLS transport (BUNDLE: all its streams).

    What RTCDtlsTransport._send_rtp does, without its four nested coroutines per
    packet (a forwarder sends one packet per subscriber per packet it receives):
    SRTP-protect, then hand the datagram to the nominated ICE pair's socket.  The
    SRTP session and the socket are looked up again only when the transport's
    SRTP session or nominated pair changes (DTLS or ICE restart).
    """

    __slots__ = ("dtls", "_srtp", "_pair", "_protect", "_sock_sendto", "_transport", "_addr")

    def __init__(self, dtls: Any) -> None:
        self.dtls = dtls
        self._srtp: Any = None
        self._pair: Any = None

    def send(self, data: bytes) -> Awaitable[None] | None:
        """Protect and send one packet; returns None when sent, or an awaitable that sends it
        (a relayed pair: aioice's TURN client may have to wait for its channel).
        ConnectionError while the transport is not connected."""
        dtls = self.dtls
        if dtls._state is not DTLS_CONNECTED:
            raise ConnectionError("not connected")
        pair = dtls.transport._connection._nominated.get(1)
        if pair is not self._pair or dtls._tx_srtp is not self._srtp:
            self._resolve(pair)
        data = self._protect(data)
        sock_sendto = self._sock_sendto
        if sock_sendto is not None:
            transport = self._transport
            # Straight to the socket unless asyncio holds datagrams back (full buffer): its order first.
            if not transport._buffer and not transport._conn_lost:
                try:
                    sock_sendto(data, self._addr)
                    return None
                except OSError:
                    pass  # asyncio's own sendto below retries, buffers or reports it as it always does
            transport.sendto(data, self._addr)
            return None
        return pair.protocol.send_data(data, pair.remote_addr)

    def _resolve(self, pair: Any) -> None:
        dtls = self.dtls
        if pair is None:
            raise ConnectionError("no nominated ICE pair")
        self._srtp = dtls._tx_srtp
        self._protect = srtp_protector(self._srtp)
        self._pair = pair
        self._addr = pair.remote_addr
        protocol = pair.protocol
        transport = protocol.transport if type(protocol) is _StunProtocol else None
        sock = getattr(transport, "_sock", None)
        if transport is not None and sock is not None and hasattr(transport, "_buffer") and not transport.get_extra_info("peername"):
            self._transport, self._sock_sendto = transport, sock.sendto
        else:
            self._transport, self._sock_sendto = None, None


def send_rtp(sender: RTCRtpSender, data: bytes) -> Awaitable[None] | None:
    """Protect and send one serialized RTP packet on the sender's transport (see RtpLink)."""
    return rtp_link(sender).send(data)


def rtp_link(sender: RTCRtpSender) -> RtpLink:
    """The RtpLink of the sender's DTLS transport (one per transport, made on first use)."""
    dtls = sender.transport
    link = dtls.__dict__.get(RTP_LINK_ATTR)
    if link is None:
        link = RtpLink(dtls)
        setattr(dtls, RTP_LINK_ATTR, link)
    return link


RTP_LINK_ATTR = "_companion_rtp_link"


def note_sent(sender: RTCRtpSender, ntp_time: int, rtp_timestamp: int, octets: int) -> None:
    """Count one packet we sent past the sender, so that its RTCP sender reports tell the
    subscriber the truth (packet and octet counts; NTP/RTP time of the latest packet)."""
    sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count += octets  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]


def inspect_has(function: Any, text: str) -> bool:
    import inspect

    try:
        return text in inspect.getsource(function)
    except (OSError, TypeError):
        return False


# ---------------------------------------------------------------- test peers
def _dtls_transports(pc: Any) -> list[Any]:
    seen: list[Any] = []
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None and all(dtls is not d for d in seen):
            seen.append(dtls)
    return seen


def drop_incoming_rtp(pc: Any, should_drop: Callable[[bytes], bool]) -> int:
    """Make ``pc`` lose the decrypted incoming RTP packets (not RTCP) for which ``should_drop`` is
    true, as a lossy link would.  For test peers; call after setLocalDescription.  Returns the
    number of transports hooked (hooking one twice keeps the first hook)."""
    hooked = 0
    for dtls in _dtls_transports(pc):
        original = dtls._handle_rtp_data
        if getattr(original, "_companion_loss", False):
            continue

        async def handle(data: bytes, arrival_time_ms: int, original=original) -> None:
            if not should_drop(data):
                await original(data, arrival_time_ms=arrival_time_ms)

        handle._companion_loss = True  # type: ignore[attr-defined]
        dtls._handle_rtp_data = handle
        hooked += 1
    return hooked


def record_incoming_rtcp(pc: Any, packets: list[Any]) -> int:
    """Append every RTCP packet ``pc`` receives (parsed, aiortc's RtcpPacket classes) to ``packets``.
    For test peers; call after setLocalDescription."""
    from aiortc.rtp import RtcpPacket

    hooked = 0
    for dtls in _dtls_transports(pc):
        original = dtls._handle_rtcp_data
        if getattr(original, "_companion_record", False):
            continue

        async def handle(data: bytes, original=original) -> None:
            try:
                packets.extend(RtcpPacket.parse(data))
            except ValueError:
                pass
            await original(data)

        handle._companion_record = True  # type: ignore[attr-defined]
        dtls._handle_rtcp_data = handle
        hooked += 1
    return hooked
