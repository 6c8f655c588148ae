"""Writing the RTP packets a forwarder sends (RFC 3550 section 5.1, one-byte header extensions RFC 8285).

One outgoing packet per subscriber and source packet makes this the
forwarder's innermost loop.  So each outgoing stream gets, once, a
``struct`` format for its whole header as negotiated (extension ids, MID,
padding): a packet is then one ``pack`` call and one concatenation with
the payload.  Extensions written, in the order aiortc writes them: the MID
the subscriber demultiplexes by, then abs-send-time (video) or the
source's audio level (RFC 6464, audio).
"""

from __future__ import annotations

from struct import Struct
from typing import Callable

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

# (marker | payload type, sequence number, timestamp, SSRC, payload, per-packet extension value) -> packet
Write = Callable[[int, int, int, int, bytes, int], bytes]


class PacketWriter:
    """Serializes RTP packets for one negotiated outgoing stream.

    ``extension_ids``: header extension URI -> id as negotiated (ids 1..14, the one-byte form);
    ``mid``: the stream's MID, or None to leave it out.

    ``video(mpt, seq, ts, ssrc, payload, abs_send_time)`` and ``audio(mpt, seq, ts, ssrc, payload,
    level_byte)`` are the per-packet calls: ``mpt`` is the second header byte (marker bit | payload
    type), ``abs_send_time`` 24-bit 6.18 fixed-point seconds, ``level_byte`` RFC 6464's byte (voice
    activity bit | level in -dBov 0..127); ``plain(...)`` takes the same arguments and ignores the last.
    """

    def __init__(self, extension_ids: dict[str, int], mid: str | None) -> None:
        mid_id = extension_ids.get(MID_URI)
        mid_bytes = mid.encode() if mid else b""
        if mid_id and not (0 < len(mid_bytes) <= 16 and 0 < mid_id < 15):
            mid_id = None
        self._mid = bytes([(mid_id << 4) | (len(mid_bytes) - 1)]) + mid_bytes if mid_id else b""
        self._abs_id = _one_byte_id(extension_ids.get(ABS_SEND_TIME_URI))
        self._level_id = _one_byte_id(extension_ids.get(AUDIO_LEVEL_URI))
        abs_id, level_id = self._abs_id, self._level_id
        # abs-send-time: id/length byte and 3 value bytes make one 32-bit word; audio level: one 16-bit word.
        self.video = self._compile("I", ((abs_id << 4) | 2) << 24 if abs_id else None, 0xFFFFFF)
        self.audio = self._compile("H", (level_id << 4) << 8 if level_id else None, 0xFF)
        self.plain = self._compile("I", None, 0)  # MID only: audio whose source sent no level

    def _compile(self, code: str, ext_head: int | None, mask: int) -> Write:
        mid = self._mid
        if ext_head is None:
            if not mid:
                pack0 = Struct("!BBHII").pack
                return lambda mpt, seq, ts, ssrc, payload, value: pack0(0x80, mpt, seq, ts, ssrc) + payload
            body = len(mid)
            pad = -body % 4
            pack1 = Struct(f"!BBHIIHH{len(mid)}s{pad}x").pack
            words = (body + pad) // 4
            return lambda mpt, seq, ts, ssrc, payload, value: pack1(
                0x90, mpt, seq, ts, ssrc, 0xBEDE, words, mid) + payload
        body = len(mid) + Struct("!" + code).size
        pad = -body % 4
        words = (body + pad) // 4
        pack2 = Struct(f"!BBHIIHH{len(mid)}s{code}{pad}x").pack
        return lambda mpt, seq, ts, ssrc, payload, value: pack2(
            0x90, mpt, seq, ts, ssrc, 0xBEDE, words, mid, ext_head | (value & mask)) + payload

    def write(self, payload_type: int, marker: bool, seq: int, timestamp: int, ssrc: int, payload: bytes,
              abs_send_time: int | None = None, audio_level: tuple[bool, int] | None = None) -> bytes:
        """One serialized packet. ``abs_send_time``: 24-bit 6.18 fixed-point seconds;
        ``audio_level``: (voice activity, level in -dBov 0..127)."""
        mpt = (0x80 if marker else 0) | payload_type
        if abs_send_time is not None:
            return self.video(mpt, seq, timestamp, ssrc, payload, abs_send_time)
        if audio_level is not None:
            return self.audio(mpt, seq, timestamp, ssrc, payload, level_byte(audio_level))
        return self.plain(mpt, seq, timestamp, ssrc, payload, 0)


def level_byte(audio_level: tuple[bool, int]) -> int:
    """RFC 6464's extension byte for (voice activity, level in -dBov 0..127)."""
    return (0x80 if audio_level[0] else 0) | (audio_level[1] & 0x7F)


def _one_byte_id(x_id: int | None) -> int | None:
    return x_id if x_id is not None and 0 < x_id < 15 else None
