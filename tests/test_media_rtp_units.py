"""The RTP forwarder's small parts: VP8 payload descriptor, stream renumbering, NACK history."""

from __future__ import annotations

import pytest

from companion.media.rtp import vp8
from companion.media.rtp.history import PacketHistory
from companion.media.rtp.rewrite import StreamRewriter, seq_diff


def descriptor(start=True, partition=0, picture_id=None, bits=15, tl0=None, keyidx=False, extended=None):
    """A VP8 payload descriptor built by hand from RFC 7741's layout."""
    x = extended if extended is not None else (picture_id is not None or tl0 is not None or keyidx)
    out = bytearray([(0x80 if x else 0) | (0x10 if start else 0) | partition])
    if x:
        out.append((0x80 if picture_id is not None else 0) | (0x40 if tl0 is not None else 0) | (0x10 if keyidx else 0))
        if picture_id is not None:
            out += bytes([0x80 | (picture_id >> 8), picture_id & 0xFF]) if bits == 15 else bytes([picture_id & 0x7F])
        if tl0 is not None:
            out.append(tl0)
        if keyidx:
            out.append(0x05)
    return bytes(out)


KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A])  # VP8 frame tag with P=0, then the keyframe start code
DELTA = bytes([0x31, 0x02, 0x00])


@pytest.mark.parametrize("bits", [7, 15])
def test_vp8_descriptor_fields(bits):
    payload = descriptor(picture_id=100, bits=bits, tl0=7, keyidx=True) + KEY
    d = vp8.parse(payload)
    assert d is not None and d.starts_frame
    assert (d.picture_id, d.picture_id_bits, d.tl0picidx) == (100, bits, 7)
    assert d.size == len(payload) - len(KEY)
    assert vp8.starts_keyframe(payload)


def test_vp8_keyframe_only_on_the_first_packet_of_a_frame():
    assert vp8.starts_keyframe(descriptor() + KEY)
    assert not vp8.starts_keyframe(descriptor() + DELTA)
    # The same bytes in a continuation packet or a later partition are frame data, not a header.
    assert not vp8.starts_keyframe(descriptor(start=False) + KEY)
    assert not vp8.starts_keyframe(descriptor(partition=1) + KEY)
    # A minimal descriptor (no X byte) works too.
    assert vp8.starts_keyframe(bytes([0x10]) + KEY)
    assert not vp8.starts_keyframe(bytes([0x10]))  # no payload header at all


@pytest.mark.parametrize("cut", [b"", bytes([0x80]), bytes([0x90, 0x80]), bytes([0x90, 0x80, 0x85]), bytes([0x90, 0x40])])
def test_vp8_cut_short_descriptor_is_not_parsed(cut):
    assert vp8.parse(cut) is None
    assert not vp8.starts_keyframe(cut)


@pytest.mark.parametrize("bits", [7, 15])
def test_vp8_renumber_keeps_everything_else(bits):
    payload = descriptor(picture_id=5, bits=bits, tl0=250, keyidx=True) + DELTA
    d = vp8.parse(payload)
    out = vp8.renumber(payload, d, 0x7FFF if bits == 15 else 0x7F, 3)
    e = vp8.parse(out)
    assert (e.picture_id, e.tl0picidx, e.picture_id_bits) == ((0x7FFF if bits == 15 else 0x7F), 3, bits)
    assert len(out) == len(payload) and out[0] == payload[0] and out[1] == payload[1] and out[-len(DELTA):] == DELTA
    assert out[d.size - 1] == payload[d.size - 1]  # the KEYIDX byte


def test_seq_diff_wraps():
    assert seq_diff(0, 65535) == 1
    assert seq_diff(65535, 0) == -1
    assert seq_diff(100, 90) == 10


def test_rewriter_is_continuous_across_a_source_switch_and_a_gap():
    rw = StreamRewriter(90_000, first_seq=65534, first_ts=2**32 - 1000)
    # source A: three packets, one reordered
    assert rw.rewrite("a", 1000, 50_000, now=0.0) == (65534, 2**32 - 1000)
    assert rw.rewrite("a", 1002, 53_000, now=0.03) == (0, 2000)
    assert rw.rewrite("a", 1001, 53_000, now=0.04) == (65535, 2000)  # late packet keeps its place
    # source B after 0.5 s of silence: sequence continues at +1, time advances with the wall clock
    out = rw.rewrite("b", 7, 123, now=0.53)
    assert out == (1, (2000 + 45_000) & 0xFFFFFFFF)
    assert rw.rewrite("b", 8, 3123, now=0.56) == (2, 2000 + 48_000)
    # a packet of B from before B's segment began would reuse a number: dropped
    assert rw.rewrite("b", 6, 0, now=0.57) is None


def test_rewriter_restart_rebases_the_same_source():
    rw = StreamRewriter(48_000, first_seq=10, first_ts=0)
    assert rw.rewrite("a", 500, 960, now=0.0) == (10, 0)
    assert rw.rewrite("a", 501, 1920, now=0.02) == (11, 960)
    rw.restart()  # gate shut for packets 502..599, open again
    assert rw.rewrite("a", 600, 96_960, now=2.0) == (12, 960 + round(1.98 * 48_000))


def test_rewriter_same_timestamp_after_switch_still_advances():
    rw = StreamRewriter(90_000, first_seq=0, first_ts=0)
    rw.rewrite("a", 1, 0, now=5.0)
    assert rw.rewrite("b", 1, 0, now=5.0) == (1, 1)


@pytest.mark.parametrize("bits,top", [(15, 0x7FFF), (7, 0x7F)])
def test_picture_id_and_tl0_continue_across_a_switch(bits, top):
    rw = StreamRewriter(90_000, first_seq=0, first_ts=0)
    rw.rewrite("a", 1, 0, now=0.0)
    # The first segment keeps the source's numbers (the payload need not be rewritten).
    assert rw.picture_id(top - 1, bits) == top - 1
    assert rw.picture_id(top, bits) == top
    assert rw.picture_id(0, bits) == 0  # the source wraps; the output follows
    assert rw.tl0picidx(255) == 255 and rw.tl0picidx(0) == 0
    rw.rewrite("b", 40, 0, now=0.1)
    assert rw.picture_id(77, bits) == 1
    assert rw.picture_id(78, bits) == 2
    assert rw.tl0picidx(9) == 1
    rw.picture_id(77, bits)  # a late packet of an older frame does not move "last" back
    assert rw.last_picture_id == 2


def test_history_answers_only_what_it_still_holds():
    h: PacketHistory[str] = PacketHistory(size=8)
    for seq in range(65530, 65536):
        h.store(seq, f"p{seq}")
    for seq in range(0, 4):
        h.store(seq, f"p{seq}")
    assert h.get(65535) == "p65535" and h.get(0) == "p0"
    assert h.get(65530) is None  # overwritten by 2 (same slot, 8 numbers later)
    assert h.get(65533) == "p65533"
    assert h.get(4) is None
    h.clear()
    assert h.get(0) is None
    with pytest.raises(ValueError):
        PacketHistory(size=100)


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_packet_writer_matches_aiortc_and_parses_back(kind):
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    from companion.media.rtp.packet import PacketWriter

    extensions = HEADER_EXTENSIONS[kind]
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=extensions))
    writer = PacketWriter({e.uri: e.id for e in extensions}, mid="12")
    payload = bytes(range(200))
    level = (True, 33) if kind == "audio" else None
    abs_time = 0xABCDEF if kind == "video" else None
    data = writer.write(97, True, 65535, 2**32 - 1, 0x12345678, payload, abs_send_time=abs_time, audio_level=level)
    reference = RtpPacket(payload_type=97, marker=1, sequence_number=65535, timestamp=2**32 - 1, ssrc=0x12345678, payload=payload)
    reference.extensions.mid = "12"
    reference.extensions.abs_send_time = abs_time
    reference.extensions.audio_level = level
    assert data == reference.serialize(ext_map)
    back = RtpPacket.parse(data, ext_map)
    assert (back.payload_type, back.marker, back.sequence_number, back.timestamp, back.ssrc, back.payload) == (
        97, 1, 65535, 2**32 - 1, 0x12345678, payload)
    assert back.extensions.mid == "12"
    # Nothing negotiated: a bare 12-byte header.
    assert PacketWriter({}, mid=None).write(96, False, 1, 2, 3, b"x") == RtpPacket(96, 0, 1, 2, 3, b"x").serialize()


@pytest.mark.parametrize("kind", ["audio", "video"])
@pytest.mark.parametrize("mid", [None, "0", "12", "abc", "abcd"])
@pytest.mark.parametrize("with_value_extension", [True, False])
def test_packet_writer_header_layouts_match_aiortc(kind, mid, with_value_extension):
    """Every header shape a stream can negotiate (MID of 1..4 bytes or none, the per-packet
    extension or not) is byte for byte what aiortc's serializer makes."""
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    from companion.media.rtp.packet import MID_URI, PacketWriter

    extensions = [e for e in HEADER_EXTENSIONS[kind] if with_value_extension or e.uri == MID_URI]
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=extensions))
    writer = PacketWriter({e.uri: e.id for e in extensions}, mid=mid)
    for i, payload in enumerate((b"", b"a", bytes(range(256)) * 5)):
        marker, seq, ts, ssrc = i % 2, (65534 + i) & 0xFFFF, (2**32 - 2 + i) & 0xFFFFFFFF, 0xDEADBEEF
        reference = RtpPacket(payload_type=111, marker=marker, sequence_number=seq, timestamp=ts, ssrc=ssrc,
                              payload=payload)
        reference.extensions.mid = mid
        if kind == "video":
            value = reference.extensions.abs_send_time = (0xFEDCBA + i) & 0xFFFFFF
            data = writer.video((0x80 if marker else 0) | 111, seq, ts, ssrc, payload, value)
        else:
            reference.extensions.audio_level = (bool(i % 2), 127 - i)
            data = writer.audio((0x80 if marker else 0) | 111, seq, ts, ssrc, payload,
                                (0x80 if i % 2 else 0) | (127 - i))
        assert data == reference.serialize(ext_map)


def test_the_forwarders_clock_reads_what_aiortcs_does():
    from aiortc import clock

    from companion.media import hooks

    assert abs(hooks.ntp_now() - clock.current_ntp_time()) < 0.05 * 2**32
    assert abs(hooks.ms_now() - clock.current_ms()) < 50
