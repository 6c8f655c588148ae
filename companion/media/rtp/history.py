"""Recently sent packets of one outgoing stream, to answer NACKs (RFC 4585 section 6.2.1).

A ring indexed by sequence number: a slot whose packet has since been
overwritten by one 'size' numbers later answers None, so a NACK for a
packet too old to help gets nothing rather than the wrong packet.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")

# About five seconds of 640x360 video at 100 packets per second: longer than any NACK is useful.
HISTORY_SIZE = 512


class PacketHistory(Generic[T]):
    def __init__(self, size: int = HISTORY_SIZE) -> None:
        # A divisor of 2^16 keeps the ring's index continuous where sequence numbers wrap.
        if size <= 0 or size > 0x8000 or 0x10000 % size:
            raise ValueError("size must be a power of two up to 32768")
        self._size = size
        self._seqs: list[int | None] = [None] * size
        self._items: list[T | None] = [None] * size

    def store(self, seq: int, item: T) -> None:
        """Keep ``item`` as the packet sent with sequence number ``seq`` (0..65535)."""
        i = seq % self._size
        self._seqs[i] = seq
        self._items[i] = item

    def get(self, seq: int) -> T | None:
        """The packet sent with ``seq``, or None when it is not (or no longer) held."""
        i = seq % self._size
        return self._items[i] if self._seqs[i] == seq else None

    def clear(self) -> None:
        self._seqs = [None] * self._size
        self._items = [None] * self._size
