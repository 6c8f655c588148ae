"""Writing the RTP packets a forwarder sends (RFC 3550 section 5.1, one-byte header extensions RFC 8285).

One outgoing packet per subscriber and source packet makes this the
forwarder's innermost loop, so the header is packed in one go from what
the subscriber's stream negotiated (extension ids, payload type) rather
than through a general packet object.  Extensions written: the MID the
subscriber demultiplexes by, abs-send-time (video) and the source's audio
level (RFC 6464, audio).
"""

from __future__ import annotations

from struct import Struct

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

_HEADER = Struct("!BBHII")
_EXTENSION_HEADER = Struct("!HH")


class PacketWriter:
    """Serializes RTP packets for one negotiated outgoing stream.

    ``extension_ids``: header extension URI -> id as negotiated (ids 1..14, the one-byte form);
    ``mid``: the stream's MID, or None to leave it out.
    """

    def __init__(self, extension_ids: dict[str, int], mid: str | None) -> None:
        mid_id = extension_ids.get(MID_URI)
        mid_bytes = mid.encode() if mid else b""
        if mid_id and not (0 < len(mid_bytes) <= 16 and 0 < mid_id < 15):
            mid_id = None
        self._mid = bytes([(mid_id << 4) | (len(mid_bytes) - 1)]) + mid_bytes if mid_id else b""
        self._abs_id = _one_byte_id(extension_ids.get(ABS_SEND_TIME_URI))
        self._level_id = _one_byte_id(extension_ids.get(AUDIO_LEVEL_URI))

    def write(self, payload_type: int, marker: bool, seq: int, timestamp: int, ssrc: int, payload: bytes,
              abs_send_time: int | None = None, audio_level: tuple[bool, int] | None = None) -> bytes:
        """One serialized packet. ``abs_send_time``: 24-bit 6.18 fixed-point seconds;
        ``audio_level``: (voice activity, level in -dBov 0..127)."""
        ext = self._mid
        if abs_send_time is not None and self._abs_id:
            ext += bytes([(self._abs_id << 4) | 2]) + (abs_send_time & 0xFFFFFF).to_bytes(3, "big")
        if audio_level is not None and self._level_id:
            ext += bytes([self._level_id << 4, (0x80 if audio_level[0] else 0) | (audio_level[1] & 0x7F)])
        if not ext:
            return _HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, seq, timestamp, ssrc) + payload
        ext += b"\x00" * (-len(ext) % 4)
        return (_HEADER.pack(0x90, (0x80 if marker else 0) | payload_type, seq, timestamp, ssrc)
                + _EXTENSION_HEADER.pack(0xBEDE, len(ext) // 4) + ext + payload)


def _one_byte_id(x_id: int | None) -> int | None:
    return x_id if x_id is not None and 0 < x_id < 15 else None
