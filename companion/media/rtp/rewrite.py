"""Renumbering one outgoing RTP stream so that it stays continuous.

A subscriber's slot carries one source after another (people leave and
join) and falls silent while its gate is shut.  The subscriber must see one
unbroken stream: sequence numbers that only ever advance by one (a jump
looks like loss, and it NACKs packets that never existed), a timestamp that
keeps pace with the wall clock across the silence, and a VP8 picture id and
TL0PICIDX that continue, or its decoder takes the new frames for stale ones.

Each segment (from a source's first forwarded packet until the source
changes or the gate reopens) maps source numbers to outgoing numbers by
fixed offsets, so reordered packets keep their order.  Arithmetic is modulo
2^16 (sequence), 2^32 (timestamp), 2^15 or 2^7 (picture id) and 2^8 (TL0PICIDX).
"""

from __future__ import annotations

import random
from typing import Hashable


def seq_diff(a: int, b: int) -> int:
    """``a - b`` for 16-bit sequence numbers, in -32768..32767 (RFC 3550 serial order)."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


class StreamRewriter:
    """Outgoing numbers for one (subscriber, slot) stream.

    ``clock_rate``: RTP clock in Hz (90000 video, 48000 Opus).  ``first_seq`` and
    ``first_ts`` default to random values, as RFC 3550 asks of a new stream.
    """

    def __init__(self, clock_rate: int, first_seq: int | None = None, first_ts: int | None = None) -> None:
        self.clock_rate = clock_rate
        self._first_seq = random.randrange(0x8000) if first_seq is None else first_seq
        self._first_ts = random.getrandbits(32) if first_ts is None else first_ts
        self._segment: Hashable = None  # source of the current segment; None: the next packet starts one
        self._seq_off = self._ts_off = 0
        self._seq0 = 0  # source sequence number that began the segment
        self._pid_off = self._tl0_off = 0
        self._pid_bits = 0
        self._pid_ready = self._tl0_ready = False
        # Highest outgoing packet so far: its sequence number, timestamp and when it went out.
        self.last_seq: int | None = None
        self.last_ts = 0
        self.last_time = 0.0
        self.last_picture_id: int | None = None
        self.last_tl0picidx: int | None = None

    def restart(self) -> None:
        """The next packet begins a new segment (the gate reopened, the slot changed source)."""
        self._segment = None

    def rewrite(self, source: Hashable, seq: int, ts: int, now: float) -> tuple[int, int] | None:
        """Outgoing (sequence number, timestamp) for a source packet, or None for a packet
        older than the segment's first (it would collide with numbers already used).

        ``source``: anything naming the incoming stream (a new value starts a new
        segment); ``now``: monotonic seconds, used to carry the timestamp across a gap.
        """
        if source != self._segment or self._segment is None:
            self._begin(source, seq, ts, now)
        elif ((seq - self._seq0 + 0x8000) & 0xFFFF) < 0x8000:  # seq_diff(seq, seq0) < 0, inlined: once per packet
            return None
        out_seq = (seq + self._seq_off) & 0xFFFF
        out_ts = (ts + self._ts_off) & 0xFFFFFFFF
        last = self.last_seq
        if last is None or ((out_seq - last + 0x8000) & 0xFFFF) > 0x8000:  # seq_diff(out_seq, last) > 0
            self.last_seq, self.last_ts, self.last_time = out_seq, out_ts, now
        return out_seq, out_ts

    def _begin(self, source: Hashable, seq: int, ts: int, now: float) -> None:
        if self.last_seq is None:
            out_seq, out_ts = self._first_seq, self._first_ts
        else:
            out_seq = (self.last_seq + 1) & 0xFFFF
            # At least one tick, so that the new first frame is never "the same time" as the last one.
            elapsed = max(1, round((now - self.last_time) * self.clock_rate))
            out_ts = (self.last_ts + elapsed) & 0xFFFFFFFF
        self._segment = source
        self._seq0 = seq
        self._seq_off = (out_seq - seq) & 0xFFFF
        self._ts_off = (out_ts - ts) & 0xFFFFFFFF
        self._pid_ready = self._tl0_ready = False

    def vp8(self, picture_id: int | None, bits: int, tl0: int | None) -> tuple[int | None, int | None]:
        """Outgoing (picture id, TL0PICIDX) of a VP8 packet from the current segment; None where
        the packet carries none.  ``bits``: the picture id's width, 7 or 15."""
        return (None if picture_id is None else self.picture_id(picture_id, bits),
                None if tl0 is None else self.tl0picidx(tl0))

    def picture_id(self, picture_id: int, bits: int) -> int:
        """Outgoing VP8 picture id (``bits`` 7 or 15) for one from the current segment."""
        mask = (1 << bits) - 1
        if not self._pid_ready or bits != self._pid_bits:
            # The stream's first segment keeps the source's numbers: a subscriber that only ever sees
            # one source gets its payloads untouched (the forwarder then copies nothing).
            nxt = picture_id if self.last_picture_id is None else self.last_picture_id + 1
            self._pid_off = (nxt - picture_id) & mask
            self._pid_bits = bits
            self._pid_ready = True
        out = (picture_id + self._pid_off) & mask
        if self.last_picture_id is None or ((out - self.last_picture_id) & mask) < (mask + 1) // 2:
            self.last_picture_id = out
        return out

    def tl0picidx(self, tl0: int) -> int:
        """Outgoing VP8 TL0PICIDX for one from the current segment."""
        if not self._tl0_ready:
            nxt = tl0 if self.last_tl0picidx is None else self.last_tl0picidx + 1
            self._tl0_off = (nxt - tl0) & 0xFF
            self._tl0_ready = True
        out = (tl0 + self._tl0_off) & 0xFF
        if self.last_tl0picidx is None or ((out - self.last_tl0picidx) & 0xFF) < 0x80:
            self.last_tl0picidx = out
        return out
