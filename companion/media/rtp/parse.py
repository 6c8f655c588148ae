"""Parsing one received RTP packet into aiortc's ``RtpPacket``, cheaply.

Every packet a source sends is parsed once on arrival, before routing, so
this is the forwarder's receive-side innermost step.  aiortc's
``RtpPacket.parse`` is general: it lists every header extension, then
compares each id against every negotiated one, and builds its objects
through their constructors.  Here what each extension id means on a
transport is worked out once per negotiation (a 256-entry table), the fixed
header is unpacked in one call, and the values are decoded in place.

The result is exactly what aiortc's parse returns for the same extension
configuration (``tests/test_media_rtp_parse.py`` compares them field by
field): RFC 3550 fixed header, CSRC list, padding (RFC 3550 section 5.1) and
RFC 8285 header extensions in the one-byte (profile 0xBEDE) and two-byte
(0x1000) forms, other profiles ignored.  A packet this parser cannot take
(truncated, not version 2, padding longer than the packet, an extension
value of the wrong size) goes to aiortc's own parse, which then raises its
own error (``ValueError``, or ``struct.error`` for an extension value of
the wrong size), so a receive path drops exactly the packets aiortc would.
"""

from __future__ import annotations

from struct import Struct
from typing import Callable, Mapping

from aiortc.rtp import HeaderExtensions, RtpPacket

# aiortc's HeaderExtensionsMap.get tests the ids in this order: an id negotiated
# for two URIs means the first of them.
EXTENSION_FIELDS = (
    "mid",
    "repaired_rtp_stream_id",
    "rtp_stream_id",
    "abs_send_time",
    "transmission_offset",
    "audio_level",
    "transport_sequence_number",
)
_MID, _RRID, _RID, _ABS_SEND_TIME, _TOFFSET, _AUDIO_LEVEL, _TWCC = range(len(EXTENSION_FIELDS))
_WRONG_SIZE = len(EXTENSION_FIELDS)  # an element whose size its field cannot have: aiortc raises
_FIXED_SIZES = (0, 0, 0, 3, 3, 1, 2)  # bytes per field; 0: any

_FIXED = Struct("!xBHII")  # the first byte is read on its own
_FIXED_EXTENSION = Struct("!xBHIIHH")  # fixed header, then the extension's profile and length (no CSRC)
_EXTENSION_HEAD = Struct("!HH")
_CSRCS = [Struct(f"!{count}I") for count in range(16)]
# RFC 6464: (voice activity, level in -dBov), as aiortc gives it; a tuple, so one shared per byte value.
_AUDIO_LEVELS = tuple((value & 0x80 == 0x80, value & 0x7F) for value in range(256))

Parser = Callable[[bytes], RtpPacket]


def extension_kinds(extension_ids: Mapping[str, int | None]) -> tuple[int | None, ...]:
    """Per extension id 0..255, the index into EXTENSION_FIELDS it decodes as, or None.

    ``extension_ids``: HeaderExtensions field name -> negotiated id (None or
    missing: not negotiated), as aiortc's HeaderExtensionsMap holds them.
    """
    kinds: list[int | None] = [None] * 256
    for kind, name in enumerate(EXTENSION_FIELDS):
        x_id = extension_ids.get(name)
        # An id outside 0..255 never equals a parsed one; the first field wins a shared id.
        if isinstance(x_id, int) and 0 <= x_id < 256 and kinds[x_id] is None:
            kinds[x_id] = kind
    return tuple(kinds)


def _sized(kind: int | None, size: int) -> int | None:
    """``kind``, or _WRONG_SIZE when its field has a fixed size other than ``size``."""
    if kind is not None and _FIXED_SIZES[kind] and _FIXED_SIZES[kind] != size:
        return _WRONG_SIZE
    return kind


def rtp_parser(extension_ids: Mapping[str, int | None], fallback: Parser) -> Parser:
    """``parse(data) -> RtpPacket`` for one transport's extension configuration.

    ``extension_ids``: as for extension_kinds.  ``fallback``: aiortc's parse
    with the same configuration (``lambda data: RtpPacket.parse(data, that_map)``);
    it is called for any packet the fast path does not take, so it raises
    aiortc's own error for a malformed one.  Rebuild the parser when the
    configuration changes (renegotiation).
    """
    kinds = extension_kinds(extension_ids)
    # One-byte form: the kind per element header byte (id << 4 | size - 1), its size checked here.
    one_byte_kinds = tuple(_sized(kinds[byte >> 4], (byte & 0x0F) + 1) for byte in range(256))
    new = object.__new__
    packet_class, extensions_class = RtpPacket, HeaderExtensions
    unpack_fixed, unpack_fixed_extension = _FIXED.unpack_from, _FIXED_EXTENSION.unpack_from
    unpack_extension_head = _EXTENSION_HEAD.unpack_from
    csrcs = [s.unpack_from for s in _CSRCS]
    levels = _AUDIO_LEVELS

    def parse(data: bytes) -> RtpPacket:
        try:
            size = len(data)
            first = data[0]
            mid = rrid = rid = abs_send_time = toffset = audio_level = twcc = None
            if first == 0x90 or first == 0xB0:  # what browsers send: version 2, extension, no CSRC
                second, seq, timestamp, ssrc, profile, words = unpack_fixed_extension(data)
                csrc: list[int] = []
                start = 16
            else:
                second, seq, timestamp, ssrc = unpack_fixed(data)
                if first >> 6 != 2:
                    raise ValueError
                count = first & 0x0F
                csrc = list(csrcs[count](data, 12)) if count else []
                start = 12 + 4 * count
                if first & 0x10:
                    profile, words = unpack_extension_head(data, start)
                    start += 4
            if first & 0x10:
                end = start + 4 * words
                if end > size:
                    raise ValueError
                if profile == 0xBEDE or profile == 0x1000:
                    one_byte = profile == 0xBEDE
                    pos = start
                    while pos < end:
                        byte = data[pos]
                        if not byte:  # padding between elements
                            pos += 1
                            continue
                        if one_byte:
                            kind = one_byte_kinds[byte]
                            pos += 1
                            stop = pos + (byte & 0x0F) + 1
                        else:
                            if pos + 2 > end:
                                raise ValueError
                            kind = _sized(kinds[byte], data[pos + 1])
                            stop = pos + 2 + data[pos + 1]
                            pos += 2
                        if stop > end:
                            raise ValueError
                        if kind is None:
                            pass
                        elif kind == _MID:
                            mid = data[pos:stop].decode("utf8")
                        elif kind == _ABS_SEND_TIME:
                            abs_send_time = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
                        elif kind == _AUDIO_LEVEL:
                            audio_level = levels[data[pos]]
                        elif kind == _TWCC:
                            twcc = (data[pos] << 8) | data[pos + 1]
                        elif kind == _TOFFSET:
                            toffset = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
                            if toffset & 0x800000:
                                toffset -= 0x1000000
                        elif kind == _RID:
                            rid = data[pos:stop].decode("ascii")
                        elif kind == _RRID:
                            rrid = data[pos:stop].decode("ascii")
                        else:
                            raise ValueError
                        pos = stop
                start = end
            if first & 0x20:
                padding = data[-1]
                if not padding or padding > size - start:
                    raise ValueError
                payload = data[start:size - padding]
            else:
                padding = 0
                payload = data[start:]
        except Exception:
            return fallback(data)
        # Attribute by attribute, in the order their __init__ sets them: instances then share
        # their class's key table (assigning __dict__ would end that sharing for every instance).
        extensions = new(extensions_class)
        extensions.abs_send_time = abs_send_time
        extensions.audio_level = audio_level
        extensions.mid = mid
        extensions.repaired_rtp_stream_id = rrid
        extensions.rtp_stream_id = rid
        extensions.transmission_offset = toffset
        extensions.transport_sequence_number = twcc
        packet = new(packet_class)
        packet.version = 2
        packet.marker = second >> 7
        packet.payload_type = second & 0x7F
        packet.sequence_number = seq
        packet.timestamp = timestamp
        packet.ssrc = ssrc
        packet.csrc = csrc
        packet.extensions = extensions
        packet.payload = payload
        packet.padding_size = padding
        return packet

    return parse
