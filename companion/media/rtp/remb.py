"""The bandwidth estimate a video source is sent: the lowest of its subscribers' own REMB.

A forwarder passes packets on unchanged, so what a source sends reaches every
subscriber at the same bitrate; the source must fit the slowest link its
packets go out on.  Each subscriber's browser estimates its own downlink and
says so in RTCP REMB (draft-alvestrand-rmcat-remb-03: the receiver's
estimate of the total bitrate it can take on the path, for the streams it
lists).  The server keeps, per source, the latest figure each subscriber
reported for the stream carrying that source, and tells the source the
minimum, as Galene does (rtpconn.go, ``maxUpBitrate``): not an estimate of
its own made from the packets the source sends (the frame pass-through keeps
aiortc's RemoteBitrateEstimator, the RTP forwarder leaves it out).

The numbers and where they come from:

- ``SEND_INTERVAL`` = 1 s: at most one REMB per source a second, the
  cadence of Galene's ``rtcpUpSender`` and the draft-ietf-rmcat-gcc-02
  (section 3) "at least once per second";
- ``DECREASE_NOW`` = 0.97: a value below 97 % of the last one sent goes out
  at once, as a congested receiver's own does (gcc-02 section 3: "as soon
  as congestion is detected"; the 3 % is libwebrtc's original REMB
  threshold, ``VieRemb::kSendThresholdPercent``);
- ``REPORT_AGE`` = 5 s: a subscriber whose last REMB is older no longer
  counts.  A receiver that estimates sends one at least once a second
  (gcc-02 section 3; browsers add it to their RTCP reports, which for video
  come every 0.5-1.5 s), so five seconds is several missed reports: a subscriber that left, whose page
  stopped estimating, or whose gate was shut long enough for its browser
  to drop the stream.  Galene waits 30 s; a departed slow subscriber
  would hold a whole group's video down that long;
- ``MIN_BITRATE`` = 204 800 bit/s: no subscriber pulls a source below
  Galene's ``group.MinBitrate`` (2 x 100 x 1024 bit/s), so one very bad link
  cannot turn everyone's picture of that person into mush; that page's
  browser copes by freezing, as it would with any source too fast for it.

A subscriber whose gate for the source is shut does not count (it receives
nothing of that source, whatever its browser still says).  A REMB covers
every stream it lists, so a subscriber's figure for one source is its share:
the bitrate divided by the number of the server's video streams to it that
the REMB names (Galene gives each stream the whole figure; with five
videos into one page that lets five sources each take all of its downlink).

Not covered: loss.  A browser's REMB is its delay-based estimate
(draft-ietf-rmcat-gcc-02 section 5); random loss does not lower it (measured:
behind a Chromium subscriber losing 2 % of its packets both ways, its source
was told 204 kbit/s, the floor, rising to 485 over a minute).  In a call without a server the sender's own
loss-based controller (gcc-02 section 6) sees the receiver's loss in its
receiver reports; behind this forwarder the source sees only the server's
reports about its own clean uplink.  Under 2-10 % loss that controller would
hold the rate anyway, so it matters only on links losing more than 10 %:
there a loss-based figure per subscriber from its receiver reports' fraction
lost (as Galene's ``updateRate``) would lower the source, which this module
does not do yet.

When no subscriber counts (nobody receives the source, or no page sends
REMB), nothing is sent: the source keeps its own send-side estimate
(from our receiver reports) and the last REMB it got.  A cap sent then
would be a guess about links no packet of this source is on, and the
browser's estimate climbs only slowly (8 % a second) from a low one when a
gate opens again.
"""

from __future__ import annotations

from typing import Callable, Hashable

SEND_INTERVAL = 1.0  # seconds
DECREASE_NOW = 0.97
REPORT_AGE = 5.0  # seconds
MIN_BITRATE = 204_800  # bit/s


def share(bitrate: int, listed: int) -> int:
    """A subscriber's figure for one stream: ``bitrate`` (bit/s, the REMB's total) over the
    ``listed`` streams it covers (at least one)."""
    return bitrate // max(1, listed)


class SourceRemb:
    """What one video source is told.  Times are ``time.monotonic()`` seconds, bitrates bit/s;
    subscribers are any hashable key (the server uses participant ids)."""

    def __init__(self) -> None:
        self._reports: dict[Hashable, tuple[int, float]] = {}
        self.sent: int | None = None  # the last value handed out by due()
        self._sent_at = 0.0

    def report(self, subscriber: Hashable, bitrate: int, now: float) -> None:
        """``subscriber``'s latest figure for the stream that carries this source."""
        self._reports[subscriber] = (bitrate, now)

    def limit(self, now: float, counts: Callable[[Hashable], bool] = lambda s: True) -> int | None:
        """The lowest fresh figure of the subscribers ``counts`` accepts (their gate is open), at
        least MIN_BITRATE; None when there is none.  Reports older than REPORT_AGE are dropped."""
        lowest = None
        for subscriber, (bitrate, at) in list(self._reports.items()):
            if now - at > REPORT_AGE:
                del self._reports[subscriber]
                continue
            if counts(subscriber) and (lowest is None or bitrate < lowest):
                lowest = bitrate
        return None if lowest is None else max(lowest, MIN_BITRATE)

    def due(self, now: float, counts: Callable[[Hashable], bool] = lambda s: True) -> int | None:
        """The value to send the source now, or None: the current limit, when a second has passed
        since the last one sent or it is a decrease below DECREASE_NOW of it.  A value returned
        counts as sent."""
        value = self.limit(now, counts)
        if value is None:
            return None
        if self.sent is not None and now - self._sent_at < SEND_INTERVAL and value >= self.sent * DECREASE_NOW:
            return None
        self.sent, self._sent_at = value, now
        return value
