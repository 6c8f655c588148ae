"""The RTP forwarder: packets from a source go to each subscriber as packets.

The frame pass-through (media/service.py) lets aiortc reassemble every
incoming frame in its jitter buffer and packetize it again once per
subscriber.  Here each packet, as it arrives decrypted from the source's
receiver (hooks.install_packet_tap), is renumbered per subscriber
(rewrite.py: SSRC, sequence number, timestamp, payload type, VP8 picture id
and TL0PICIDX), SRTP-protected on the subscriber's transport and sent.  The
gates, slots and signalling are the pass-through's own: only how media
moves differs.

RTCP stays per link, as a forwarder should keep it:
- a subscriber's PLI or FIR becomes a keyframe request to the source,
  at most one per source per ``service.PLI_INTERVAL``;
- a subscriber's NACK is answered from that outgoing stream's history
  (RTX when negotiated), never passed on;
- receiver reports end at the server: each side sees only reports about
  its own streams (the server reports on what it received itself);
- a source's bandwidth estimate (REMB) is the lowest its subscribers report
  for it (remb.py), not one the server makes from the packets it receives.

A gate that opens, or a subscriber that is not connected yet, waits for
the start of a keyframe (asking the source with a PLI) before its first
video packet; so does every subscriber of a source whose video fell silent
for seconds (``RESUME_AFTER_SILENCE``).
"""

from __future__ import annotations

import random
import time
import weakref
from typing import Any, Awaitable, Callable

from .. import hooks
from ..gates import Kind
from ..service import MediaService, PathStats, _Peer, _Room, _Slot
from . import remb, vp8
from .history import PacketHistory
from .packet import PacketWriter, level_byte
from .rewrite import StreamRewriter

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
# A source's video silent this long (seconds) resumes for its subscribers at a keyframe: what comes
# first after such a gap is usually old, e.g. what a TCP relay held back while the link was down,
# delivered at once; forwarded, its late timestamps set the subscribers' playout seconds behind.
RESUME_AFTER_SILENCE = 2.0


class OutStream:
    """One subscriber slot's outgoing RTP stream: its numbering, what it negotiated, its history."""

    def __init__(self, kind: Kind, sender: Any) -> None:
        self.kind = kind
        self.sender = sender
        self.rewriter = StreamRewriter(VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK)
        # Only video is NACKed (aiortc offers nack feedback for video alone): (marker, timestamp, payload) by seq.
        self.history: PacketHistory[tuple[bool, int, bytes]] | None = PacketHistory() if kind == "video" else None
        self.writer = PacketWriter({}, None)
        self.payload_type: int | None = None
        self.rtx_payload_type: int | None = None
        self.rtx_seq = random.randrange(0x8000)
        self.mid: str | None = None
        self.ssrc: int = sender._ssrc
        # How packets leave: the RtpLink of the transport the sender had when it was negotiated.
        self.link: Any = None

    def configure(self, parameters: Any) -> None:
        """From the sender's negotiated RTCRtpSendParameters."""
        from aiortc.codecs import is_rtx

        codecs = parameters.codecs
        self.payload_type = codecs[0].payloadType
        self.rtx_payload_type = next(
            (c.payloadType for c in codecs if is_rtx(c) and c.parameters.get("apt") == self.payload_type), None
        )
        self.mid = parameters.muxId
        self.writer = PacketWriter({e.uri: e.id for e in parameters.headerExtensions}, self.mid)
        self.link = hooks.rtp_link(self.sender)

    def current_link(self) -> Any:
        """The link to send on, or None before negotiation; follows the sender to a new transport."""
        link = self.link
        if link is not None and link.dtls is not self.sender.transport:
            link = self.link = hooks.rtp_link(self.sender)
        return link


class RtpForwarder(MediaService):
    """MediaService that forwards RTP packets; same API, gates and signalling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per source's video receiver (gone with the source's connection): what its subscribers' REMB say.
        self._remb_budgets: weakref.WeakKeyDictionary[Any, remb.SourceRemb] = weakref.WeakKeyDictionary()

    def _tap_upstream(self, transceiver: Any, room_id: str, pid: str, kind: Kind) -> None:
        hooks.install_packet_tap(transceiver.receiver, self._packet_handler(room_id, pid, kind, transceiver), estimate=False)

    def _slot_created(self, sub: _Peer, slot: _Slot) -> None:
        sender = slot.transceiver.sender
        slot.out = OutStream(slot.kind, sender)
        hooks.on_send_parameters(sender, slot.out.configure)
        hooks.route_retransmissions(sender, self._nack_handler(sub.room_id, sub.pid, slot))
        if slot.kind == "video":
            hooks.route_remb(sender, self._remb_handler(sub, slot))

    def _sockets_ready(self, pc: Any) -> None:
        hooks.install_fast_receive(pc)

    def _fanout(self, room: _Room, source: str, kind: Kind) -> list[tuple[_Slot, OutStream, PathStats, str]]:
        """The slots that carry ``source``'s ``kind`` in the other peers' connections, with their
        outgoing streams, path statistics and subscriber ids; built again when the room's slots change (its epoch)."""
        key = (source, kind)
        cached = room.fanout.get(key)
        if cached is not None and cached[0] == room.epoch:
            return cached[1]
        targets = []
        for sub in room.peers.values():
            slot = sub.slot_for.get(key)
            if slot is None or sub.pid == source or slot.out is None:
                continue
            targets.append((slot, slot.out, room.path(source, sub.pid, kind), sub.pid))
        room.fanout[key] = (room.epoch, targets)
        return targets

    def _packet_handler(self, room_id: str, source: str, kind: Kind, upstream: Any) -> Callable[[Any, Any], None]:
        """``upstream``: the transceiver this handler taps; its packets count only while it is
        the source's current connection (see on_packet)."""
        video = kind == "video"
        monotonic = time.monotonic
        current_ntp_time = hooks.ntp_now
        note_sent = hooks.note_sent
        connected = hooks.DTLS_CONNECTED
        parse_vp8 = vp8.parse
        starts_keyframe = vp8.starts_keyframe
        renumber = vp8.renumber
        fanout = self._fanout
        last_arrival: float | None = None

        def on_packet(codec: Any, packet: Any) -> None:
            nonlocal last_arrival
            room = self._rooms.get(room_id)
            src = room.peers.get(source) if room else None
            if src is None or src.closed:
                return
            if src.upstream.get(kind) is not upstream:
                # A connection the source has replaced (its page joined again after its link dropped):
                # what still arrives on it is old (video a TCP relay held back while the link was down)
                # and would be interleaved with the new connection's stream, levels and speech.
                return
            payload: bytes = packet.payload
            descriptor = None
            renumbered = leveled = False
            if video:
                descriptor = parse_vp8(payload)
                if descriptor is None:
                    return
                frame_start = descriptor.start and descriptor.partition == 0
                keyframe = frame_start and starts_keyframe(payload, descriptor)
                # Counted per frame, as the pass-through counts.
                frame_end = bool(packet.marker)
                renumbered = descriptor.picture_id is not None or descriptor.tl0picidx is not None
            else:
                frame_start = frame_end = True
                keyframe = False
                audio_level = packet.extensions.audio_level
                room.levels.note(source, audio_level, packet.timestamp)
                ext_value = 0 if audio_level is None else level_byte(audio_level)
                leveled = audio_level is not None
                if src.decoder is not None and self._sink is not None:
                    self._transcribe(room_id, src, payload, packet.timestamp)
            if frame_start:
                room.received[source] = room.received.get(source, 0) + 1
            src.keyframes += keyframe
            now = monotonic()
            resumed = video and last_arrival is not None and now - last_arrival > RESUME_AFTER_SILENCE
            last_arrival = now
            ntp = current_ntp_time()
            if video:
                ext_value = (ntp >> 14) & 0x00FFFFFF  # abs-send-time: 6.18 fixed-point seconds
            segment = (source, packet.ssrc)
            marker = 0x80 if packet.marker else 0
            seq_in = packet.sequence_number
            ts_in = packet.timestamp
            want_keyframe = False
            for slot, out, path, subscriber in fanout(room, source, kind):
                if slot.source != source:
                    continue  # the slot moved on since the list was made
                rewriter = out.rewriter
                if resumed:
                    rewriter.restart()
                    slot.waiting_keyframe = True
                if not slot.open:
                    rewriter.restart()
                    path.dropped_closed += frame_start
                    continue
                if video and slot.waiting_keyframe:
                    if not keyframe:
                        rewriter.restart()
                        if frame_start:
                            path.dropped_waiting += 1
                            want_keyframe = True
                            self._note_waiting(path, room_id, source, subscriber, src)
                        continue
                    slot.waiting_keyframe = False
                    path.waiting_since = None
                payload_type = out.payload_type
                link = out.current_link()
                if payload_type is None or link is None or link.dtls._state is not connected:
                    # Not negotiated or not connected (yet or any more): start at a keyframe once it is,
                    # without using up sequence numbers the subscriber would then NACK.
                    rewriter.restart()
                    slot.waiting_keyframe = True
                    continue
                numbers = rewriter.rewrite(segment, seq_in, ts_in, now)
                if numbers is None:
                    continue
                seq, ts = numbers
                body = payload
                if renumbered:
                    picture_id, tl0picidx = rewriter.vp8(descriptor.picture_id, descriptor.picture_id_bits,
                                                         descriptor.tl0picidx)
                    if picture_id != descriptor.picture_id or tl0picidx != descriptor.tl0picidx:
                        body = renumber(payload, descriptor, picture_id, tl0picidx)
                writer = out.writer
                write = writer.video if video else writer.audio if leveled else writer.plain
                data = write(marker | payload_type, seq, ts, out.ssrc, body, ext_value)
                try:
                    pending = link.send(data)
                except ConnectionError:
                    # Not connected (yet or any more): start over at a keyframe once it is.
                    rewriter.restart()
                    if video:
                        slot.waiting_keyframe = True
                    continue
                if pending is not None:
                    self._spawn(pending)
                if out.history is not None:
                    out.history.store(seq, (marker, ts, body))
                note_sent(out.sender, ntp, ts, len(body))
                path.packets += frame_end
                path.keyframes += keyframe
                if path.resumed_at is None:
                    path.resumed_at = now
            if want_keyframe:
                self._want_keyframe(room_id, source)

        return on_packet

    def _nack_handler(self, room_id: str, subscriber: str, slot: _Slot) -> Callable[[int], Awaitable[None]]:
        from aiortc import clock

        async def retransmit(seq: int) -> None:
            out: OutStream = slot.out
            room = self._rooms.get(room_id)
            if room is None or slot.source is None or not slot.open:
                # A shut gate sends nothing, not even what the page lost from before it shut.
                return
            path = room.path(slot.source, subscriber, slot.kind)
            sent = out.history.get(seq) if out.history is not None else None
            if sent is None or out.payload_type is None:
                path.nack_missed += 1
                return
            marker, ts, body = sent
            abs_send_time = (clock.current_ntp_time() >> 14) & 0x00FFFFFF
            if out.rtx_payload_type is not None:
                # RFC 4588: the original sequence number ahead of the payload, on the RTX stream.
                data = out.writer.write(out.rtx_payload_type, marker, out.rtx_seq, ts, out.sender._rtx_ssrc,
                                        seq.to_bytes(2, "big") + body, abs_send_time=abs_send_time)
                out.rtx_seq = (out.rtx_seq + 1) & 0xFFFF
            else:
                data = out.writer.write(out.payload_type, marker, seq, ts, out.sender._ssrc, body, abs_send_time=abs_send_time)
            try:
                pending = hooks.send_rtp(out.sender, data)
                if pending is not None:
                    await pending
            except ConnectionError:
                return
            path.retransmitted += 1

        return retransmit

    def _remb_handler(self, sub: _Peer, slot: _Slot) -> Callable[[int, list[int]], None]:
        """A REMB from ``sub`` naming this slot's stream: note its share for the slot's source, and
        send the source the lowest share of those watching it when that is due (remb.py)."""
        budgets = self._remb_budgets

        def on_remb(bitrate: int, ssrcs: list[int]) -> None:
            room = self._rooms.get(sub.room_id)
            source = slot.source
            src = room.peers.get(source) if room is not None and source is not None else None
            if src is None or src.closed or sub.closed:
                return
            listed = sum(1 for s in sub.slots if s.kind == "video" and s.out is not None and s.out.ssrc in ssrcs)
            receiver = src.upstream["video"].receiver
            budget = budgets.get(receiver)
            if budget is None:
                budget = budgets[receiver] = remb.SourceRemb()
            now = time.monotonic()
            budget.report(sub.pid, remb.share(bitrate, listed), now)
            value = budget.due(now, lambda pid: _sees(room, source, pid))
            if value is not None:
                pending = hooks.send_remb(receiver, value)
                if pending is not None:
                    self._spawn(pending)

        return on_remb


def _sees(room: _Room, source: str, subscriber: str) -> bool:
    """Is ``source``'s video forwarded to ``subscriber`` now (their slot for it is open)?"""
    peer = room.peers.get(subscriber)
    slot = peer.slot_for.get((source, "video")) if peer is not None else None
    return slot is not None and slot.open
