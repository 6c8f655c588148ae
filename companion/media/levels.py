"""Who is speaking, from the audio level each sender writes into its own RTP packets.

RFC 6464 section 3: the one-byte header extension
``urn:ietf:params:rtp-hdrext:ssrc-audio-level`` carries a flag V (voice
activity, as the sender judged it) and a 7-bit level: the level of the audio
in the packet in -dBov, 0 the loudest a system can represent and 127 silence
(or anything quieter than -127 dBov).  Browsers and aiortc send it when the
answer negotiated it; aiortc parses it into ``packet.extensions.audio_level``
= ``(voice_activity, level)``, or None when the packet has none.  Nothing is
decoded: the RTP forwarder hands each audio packet's level to ``note``.

Per source this keeps
- a level for meters, 0..1 on the room page's own scale (-50 dBov and
  quieter is 0, -10 dBov and louder is 1): the loudest packet, falling off
  by ``RELEASE_PER_S`` per second of audio;
- a speaking decision with an onset and a hangover: a source starts speaking
  once its packets were loud (``ACTIVE_LEVEL`` or louder) for ``ONSET_S`` more
  than they were quiet (a click or one loud packet does not count), and stops
  ``HANGOVER_S`` after its last loud packet (the pauses between words do not
  flicker).  Time is the audio's own (RTP timestamps at 48 kHz), so network
  jitter does not bend it.

The V flag is not used: aiortc never sets it and a browser sets it only where
its own voice detection runs.

``reports`` says what each page should be told, for the service to send at
most every ``REPORT_INTERVAL`` seconds: per subscriber, the sources whose
audio reaches it (the caller's gate), only when that differs from what it was
told last.  A source whose packets carry no level (not negotiated), or whose
packets stopped for ``STALE_S``, is left out: the page does not know it from
the server and measures it itself.
"""

from __future__ import annotations

from typing import Callable, Iterable

CLOCK = 48_000  # Opus' RTP clock (RFC 7587 section 4.1)
# Loud enough to count as speech: the room page's own threshold was 0.04 of its scale (-48.4 dBFS).
ACTIVE_LEVEL = 48
ONSET_S = 0.12
HANGOVER_S = 0.6
# The meter's fall-off: from full to nothing in half a second of audio.
RELEASE_PER_S = 2.0
# A packet later than this (in audio time) after the previous one counts as this long: a gap
# (DTX, a lost burst, a new stream) is not speech or silence the source sent.
MAX_STEP_S = 0.06
# No level for this long (seconds, the server's clock): the source is unknown again.
STALE_S = 1.0
REPORT_INTERVAL = 0.2
# Meter levels are sent in steps of 1/LEVEL_STEPS: smaller changes are not worth a message.
LEVEL_STEPS = 20

_MAX_STEP = int(MAX_STEP_S * CLOCK)
_ONSET = int(ONSET_S * CLOCK)
_HANGOVER = int(HANGOVER_S * CLOCK)
_RELEASE = RELEASE_PER_S / CLOCK  # meter fall per RTP tick
# RFC 6464 level (-dBov, 0..127) -> the page's 0..1 scale, computed once.
LOUDNESS = tuple(max(0.0, min(1.0, (50 - level) / 40)) for level in range(128))

Report = dict[str, dict[str, object]]  # source -> {"level": 0..1, "speaking": bool}


class SourceLevel:
    """One source's level and speaking decision, fed packet by packet."""

    __slots__ = ("level", "speaking", "packets", "_ts", "_score", "_loud_ts", "_seen", "_fresh_at")

    def __init__(self) -> None:
        self.level = 0.0
        self.speaking = False
        self.packets = 0  # packets with a level
        self._ts: int | None = None  # RTP timestamp of the last packet
        self._score = 0  # onset: loud minus quiet audio, in RTP ticks, 0.._ONSET
        self._loud_ts = 0  # RTP timestamp of the last loud packet
        self._seen = -1  # ``packets`` when ``fresh`` last looked
        self._fresh_at = 0.0

    def note(self, level: int, timestamp: int) -> None:
        """One packet: RFC 6464 ``level`` (-dBov, 0..127) at RTP ``timestamp`` (48 kHz)."""
        self.packets += 1
        last = self._ts
        if last is None:
            step = 960  # one 20 ms frame
        else:
            step = (timestamp - last) & 0xFFFFFFFF
            if step >= 0x80000000:  # reordered: an older packet, no time passed
                step = 0
                timestamp = last
            elif step > _MAX_STEP:
                step = _MAX_STEP
        self._ts = timestamp
        loud = LOUDNESS[level & 0x7F]
        fallen = self.level - step * _RELEASE
        self.level = loud if loud > fallen else (fallen if fallen > 0.0 else 0.0)
        if level <= ACTIVE_LEVEL:
            self._loud_ts = timestamp
            score = self._score + step
            self._score = score if score < _ONSET else _ONSET
            if score >= _ONSET:
                self.speaking = True
        else:
            score = self._score - step
            self._score = score if score > 0 else 0
            if self.speaking and ((timestamp - self._loud_ts) & 0xFFFFFFFF) >= _HANGOVER:
                self.speaking = False

    def fresh(self, now: float) -> bool:
        """Have levels come in within ``STALE_S`` (``now``: monotonic seconds, asked every report)?"""
        if self.packets != self._seen:
            self._seen, self._fresh_at = self.packets, now
            return True
        if now - self._fresh_at < STALE_S:
            return True
        # What comes next (the source's microphone back, a new stream) starts from silence.
        self.level, self.speaking, self._ts, self._score = 0.0, False, None, 0
        return False

    def report(self) -> dict[str, object]:
        return {"level": round(self.level * LEVEL_STEPS) / LEVEL_STEPS, "speaking": self.speaking}


class RoomLevels:
    """The levels of one room's sources, and what each of its pages was told last."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceLevel] = {}
        self._told: dict[str, Report] = {}

    def note(self, source: str, audio_level: tuple[bool, int] | None, timestamp: int) -> None:
        """One audio packet of ``source``: aiortc's ``packet.extensions.audio_level`` and the RTP timestamp.

        Runs for every audio packet (about 50 a second per source): no allocation once the source is known.
        """
        if audio_level is None:
            return
        state = self.sources.get(source)
        if state is None:
            state = self.sources[source] = SourceLevel()
        state.note(audio_level[1], timestamp)

    def forget(self, participant: str) -> None:
        """``participant`` left or reconnected: their level starts over, and their page is told everything again."""
        self.sources.pop(participant, None)
        self._told.pop(participant, None)

    def reports(self, now: float, subscribers: Iterable[str], hears: Callable[[str, str], bool]) -> list[tuple[str, Report]]:
        """``(subscriber, report)`` for each subscriber whose report changed since it was last told.

        ``hears(source, subscriber)``: does the source's audio reach that subscriber now (its gate)?  A
        report holds every source the subscriber hears whose level is known; a source missing from
        it is not known from the server (any more).  ``now``: monotonic seconds.
        """
        current = {source: state.report() for source, state in self.sources.items() if state.fresh(now)}
        out: list[tuple[str, Report]] = []
        wanted = set()
        for subscriber in subscribers:
            wanted.add(subscriber)
            report = {source: value for source, value in current.items() if source != subscriber and hears(source, subscriber)}
            if report == self._told.get(subscriber, {}):
                continue
            self._told[subscriber] = report
            out.append((subscriber, report))
        for gone in [s for s in self._told if s not in wanted]:
            del self._told[gone]
        return out
