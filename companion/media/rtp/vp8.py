"""The VP8 RTP payload descriptor (RFC 7741 section 4.2) as a forwarder needs it.

A forwarder reads three things from it: whether a packet starts a keyframe
(a subscriber that begins mid-stream must begin there), and the picture id
and TL0PICIDX, which it renumbers so that a subscriber sees them continue
across a change of source or a reopened gate.
"""

from __future__ import annotations

from dataclasses import dataclass


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and one is made per packet.
@dataclass(slots=True)
class Vp8Descriptor:
    start: bool  # S: first packet of a partition
    partition: int  # PID: partition index
    # Picture id and its width in bits (7 or 15; 0 when absent), at byte ``picture_id_at``.
    picture_id: int | None
    picture_id_bits: int
    picture_id_at: int
    tl0picidx: int | None  # at byte ``tl0picidx_at``
    tl0picidx_at: int
    size: int  # bytes of descriptor before the VP8 payload

    @property
    def starts_frame(self) -> bool:
        return self.start and self.partition == 0


def parse(payload: bytes) -> Vp8Descriptor | None:
    """The descriptor at the start of ``payload``; None when it is cut short."""
    n = len(payload)
    if n < 1:
        return None
    b0 = payload[0]
    i = 1
    picture_id = tl0 = None
    bits = 0
    pid_at = tl0_at = 0
    if b0 & 0x80:  # X: extension byte follows
        if n < 2:
            return None
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: picture id
            if n <= i:
                return None
            pid_at = i
            if payload[i] & 0x80:  # M: 15 bits
                if n <= i + 1:
                    return None
                picture_id = ((payload[i] & 0x7F) << 8) | payload[i + 1]
                bits = 15
                i += 2
            else:
                picture_id = payload[i] & 0x7F
                bits = 7
                i += 1
        if ext & 0x40:  # L: TL0PICIDX
            if n <= i:
                return None
            tl0, tl0_at = payload[i], i
            i += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX byte
            i += 1
        if n < i:
            return None
    return Vp8Descriptor(
        start=bool(b0 & 0x10), partition=b0 & 0x0F, picture_id=picture_id, picture_id_bits=bits,
        picture_id_at=pid_at, tl0picidx=tl0, tl0picidx_at=tl0_at, size=i,
    )


def starts_keyframe(payload: bytes, descriptor: Vp8Descriptor | None = None) -> bool:
    """Does this packet carry the first bytes of a keyframe?

    Only the first packet of a frame (S set, partition 0) holds the VP8 payload
    header, whose lowest bit (P, "inverse key frame") is 0 on a keyframe
    (RFC 7741 section 4.3; RFC 6386 section 9.1).
    """
    d = descriptor or parse(payload)
    if d is None or not d.starts_frame or len(payload) <= d.size:
        return False
    return payload[d.size] & 0x01 == 0


def renumber(payload: bytes, d: Vp8Descriptor, picture_id: int | None, tl0picidx: int | None) -> bytes:
    """``payload`` with the picture id and TL0PICIDX replaced (kept at their widths)."""
    if (picture_id is None or d.picture_id is None) and (tl0picidx is None or d.tl0picidx is None):
        return payload
    out = bytearray(payload)
    if picture_id is not None and d.picture_id is not None:
        if d.picture_id_bits == 15:
            picture_id &= 0x7FFF
            out[d.picture_id_at] = 0x80 | (picture_id >> 8)
            out[d.picture_id_at + 1] = picture_id & 0xFF
        else:
            out[d.picture_id_at] = picture_id & 0x7F
    if tl0picidx is not None and d.tl0picidx is not None:
        out[d.tl0picidx_at] = tl0picidx & 0xFF
    return bytes(out)
