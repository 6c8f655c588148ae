"""A source's bandwidth estimate (REMB) on the RTP forwarder comes from its subscribers' own REMB: the lowest
share of those whose gate is open, at most once a second and at once on a drop (rtp/remb.py); the server no
longer runs aiortc's per-packet estimator on what a source sends."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from companion.media import hooks
from companion.media.gates import MediaView
from companion.media.loopback import ROOM, Call, wait_for
from companion.media.rtp import remb
from companion.media.rtp.remb import DECREASE_NOW, MIN_BITRATE, REPORT_AGE, SEND_INTERVAL, SourceRemb
from companion.methods import MediaPolicy

M = 1_000_000


# ---------------------------------------------------------------- remb.py
def test_the_source_is_told_the_lowest_subscriber_figure_and_nothing_without_one():
    budget = SourceRemb()
    assert budget.limit(0.0) is None and budget.due(0.0) is None
    budget.report("b", 2 * M, 0.0)
    budget.report("c", 1 * M, 0.1)
    budget.report("d", 3 * M, 0.2)
    assert budget.limit(0.3) == 1 * M
    assert budget.due(0.3) == 1 * M
    # The latest figure of a subscriber replaces its earlier one.
    budget.report("c", 4 * M, 2.0)
    assert budget.limit(2.0) == 2 * M


def test_a_shut_gate_and_an_old_report_do_not_count():
    budget = SourceRemb()
    budget.report("b", 2 * M, 0.0)
    budget.report("c", 1 * M, 0.0)
    watching = {"b", "c"}
    assert budget.limit(1.0, watching.__contains__) == 1 * M
    watching.discard("c")  # c's gate for this source shut
    assert budget.limit(1.0, watching.__contains__) == 2 * M
    watching.discard("b")
    assert budget.limit(1.0, watching.__contains__) is None
    assert budget.due(1.0, watching.__contains__) is None
    watching |= {"b", "c"}
    budget.report("b", 2 * M, REPORT_AGE - 1.0)
    # c said nothing for longer than REPORT_AGE: only b's fresh figure is left.
    assert budget.limit(REPORT_AGE + 0.5, watching.__contains__) == 2 * M
    assert budget.limit(2 * REPORT_AGE) is None


def test_at_most_once_a_second_but_a_drop_goes_out_at_once():
    budget = SourceRemb()
    budget.report("b", 2 * M, 0.0)
    assert budget.due(0.0) == 2 * M
    # The same figure, or a rise, waits for the interval.
    assert budget.due(0.3) is None
    budget.report("b", 3 * M, 0.5)
    assert budget.due(0.5) is None
    assert budget.due(SEND_INTERVAL) == 3 * M
    # A small dip waits too; one below DECREASE_NOW of what was sent goes out at once.
    budget.report("b", int(3 * M * (DECREASE_NOW + 0.01)), SEND_INTERVAL + 0.1)
    assert budget.due(SEND_INTERVAL + 0.1) is None
    budget.report("c", int(3 * M * (DECREASE_NOW - 0.01)), SEND_INTERVAL + 0.2)
    assert budget.due(SEND_INTERVAL + 0.2) == int(3 * M * (DECREASE_NOW - 0.01))
    assert budget.due(SEND_INTERVAL + 0.3) is None
    # And again once a second while the figures last, so a lost REMB is made good.
    assert budget.due(2 * SEND_INTERVAL + 0.2) == int(3 * M * (DECREASE_NOW - 0.01))


def test_one_very_slow_link_does_not_take_a_source_below_the_floor_and_a_remb_is_shared():
    budget = SourceRemb()
    budget.report("b", 50_000, 0.0)
    assert budget.due(0.0) == MIN_BITRATE
    assert remb.share(1_500_000, 3) == 500_000
    assert remb.share(1_500_000, 0) == 1_500_000


# ---------------------------------------------------------------- the hooks, end to end
def remb_to(log: list, ssrc: int) -> list[int]:
    """Bitrates of the REMBs in ``log`` that name ``ssrc``, oldest first."""
    return [unpack_remb_fci(p.fci)[0] for p in log
            if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP and ssrc in unpack_remb_fci(p.fci)[1]]


def video_receiver(peer, source: str):
    return next(t.receiver for t in peer.pc.getTransceivers() if t.kind == "video" and peer.source_of(t.mid) == source)


def streams(receiver) -> list[int]:
    return [s.source for s in receiver.getSynchronizationSources()]


async def test_a_source_gets_the_lowest_remb_of_the_subscribers_that_see_it():
    call = Call(forwarder="rtp")
    everyone = ("a", "b", "c")
    log: list = []
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        # Test pages that count packets send no REMB of their own: only what the test injects.
        a = await call.join("a", rtcp_log=log, count_packets=True)
        b = await call.join("b", shade=60, count_packets=True)
        c = await call.join("c", shade=120, count_packets=True)
        await wait_for(lambda: all(p.received[(s, "video")] >= 5 for p in (a, b, c) for s in everyone if s != p.pid), 25,
                       explain=lambda: str({p.pid: dict(p.received) for p in (a, b, c)}))
        a_sender = next(t.sender for t in a.pc.getTransceivers() if t.sender.track is a.video)
        a_video = a_sender._ssrc

        b_from_a, c_from_a, c_from_b = video_receiver(b, "a"), video_receiver(c, "a"), video_receiver(c, "b")
        reporting = {"on": True}

        async def report() -> None:
            # As browsers do, about every 0.3 s: b can take 0.9 Mbit/s of a; c 1 Mbit/s for both its videos.
            while reporting["on"]:
                await hooks.send_remb(b_from_a, 900_000)
                await hooks.send_remb(c_from_a, 1_000_000, streams(c_from_a) + streams(c_from_b))
                await asyncio.sleep(0.3)

        task = asyncio.ensure_future(report())
        explain = lambda: f"REMB to a: {remb_to(log, a_video)[-8:]}"  # noqa: E731
        # c's half of its 1 Mbit/s is the lowest.
        await wait_for(lambda: remb_to(log, a_video)[-1:] == [500_000], 10, explain=explain)
        # About a's own streams only (its video, and its RTX if it had to resend).
        latest = next(p for p in reversed(log) if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP)
        assert set(unpack_remb_fci(latest.fci)[1]) <= {a_video, a_sender._rtx_ssrc}

        # c becomes the inbrenger in the roddelfase: a's video no longer reaches c, so only b's figure counts.
        roddel = MediaPolicy(inbrenger_sees_group=False, group_sees_inbrenger=False, inbrenger_heard=False)
        await call.service.apply_view(MediaView(ROOM, participants=everyone, inbrenger_id="c", policy=roddel, running=True))
        await wait_for(lambda: remb_to(log, a_video)[-1:] == [900_000], 10, explain=explain)
        # Back in the group: c's lower figure counts again, and goes out with c's next report.
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await wait_for(lambda: remb_to(log, a_video)[-1:] == [500_000], 10, explain=explain)

        # Nobody reports any more: a is told nothing more (it keeps its own estimate); neither does the server
        # make one of its own from a's packets (aiortc's estimator would send one every 0.5 s).
        reporting["on"] = False
        await task
        await asyncio.sleep(0.5)
        told = len(remb_to(log, a_video))
        await asyncio.sleep(2 * SEND_INTERVAL + 0.5)
        assert len(remb_to(log, a_video)) == told, explain()
    finally:
        await call.close()


@pytest.mark.parametrize("forwarder,estimates", [("rtp", False), ("frames", True)])
async def test_only_the_frame_pass_through_runs_aiortcs_estimator_on_every_packet(monkeypatch, forwarder, estimates):
    calls = {"n": 0}
    add = RemoteBitrateEstimator.add

    def counted(self, *args, **kwargs):
        calls["n"] += 1
        return add(self, *args, **kwargs)

    monkeypatch.setattr(RemoteBitrateEstimator, "add", counted)
    call = Call(forwarder=forwarder)
    try:
        await call.service.apply_view(MediaView(ROOM, participants=("a", "b")))
        # Packet-counting test pages run no estimator themselves: every call is the server's.
        a = await call.join("a", count_packets=True)
        b = await call.join("b", shade=90, count_packets=True)
        await wait_for(lambda: a.received[("b", "video")] >= 10 and b.received[("a", "video")] >= 10, 20)
    finally:
        await call.close()
    assert (calls["n"] > 0) is estimates, calls
