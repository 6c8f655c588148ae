"""Who speaks, told to the pages by the RTP forwarder from the RFC 6464 levels in the audio packets (no
decoding), with real aiortc peers: the others' pages learn it, the speaker's own page does not, and a page
is told nothing about a source whose audio does not reach it."""

from __future__ import annotations

import asyncio

import numpy as np

from companion.media.gates import MediaView
from companion.media.loopback import ROOM, Call, wait_for
from companion.media.peer import SpeakingTrack


def tone(seconds: float) -> np.ndarray:
    """A loud 300 Hz tone at 16 kHz (about -13 dBov), for SpeakingTrack.say."""
    t = np.arange(int(seconds * 16_000)) / 16_000
    return 0.3 * np.sin(2 * np.pi * 300 * t)


def latest(peer, source: str):
    """What ``peer``'s page last heard about ``source``: {"level", "speaking"}, or None (not known)."""
    return peer.levels[-1][1].get(source) if peer.levels else None


def told(peer, source: str, since: float) -> list[bool]:
    """The speaking flags ``peer``'s page was told for ``source`` after monotonic time ``since``, in order."""
    return [report[source]["speaking"] for at, report in peer.levels if at > since and source in report]


def spoke_and_stopped(flags: list[bool]) -> bool:
    return True in flags and False in flags[flags.index(True):]


async def test_the_group_is_told_who_speaks_and_a_shut_gate_tells_nothing():
    call = Call(forwarder="rtp")
    everyone = ("a", "b", "c")
    mics = {pid: SpeakingTrack() for pid in everyone}
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        peers = {pid: await call.join(pid, shade=60 * n, audio=mics[pid]) for n, pid in enumerate(everyone)}
        explain = lambda: f"{ {pid: list(p.levels)[-3:] for pid, p in peers.items()} }"  # noqa: E731

        # Everyone silent: each page knows the two others from the server, as not speaking.
        await wait_for(lambda: all(latest(peers[d], s) == {"level": 0.0, "speaking": False}
                                   for d in everyone for s in everyone if s != d), 20, explain=explain)
        assert all(pid not in report for pid, p in peers.items() for _, report in p.levels), "a page was told its own level"

        # a speaks: b and c hear so within a second, a loud level with it.
        mics["a"].say(tone(6.0))
        # Within a second on a quiet machine; the time is the loaded event loop's as much as ours.
        took = await wait_for(lambda: all((latest(peers[d], "a") or {}).get("speaking") for d in ("b", "c")), 15, explain=explain)
        print(f"\nthe group heard a speak {took:.2f} s after the tone started")
        assert latest(peers["b"], "a")["level"] >= 0.8
        assert latest(peers["b"], "c") == {"level": 0.0, "speaking": False}

        # The facilitator closes a's microphone while a goes on: the group is told a is not known any more
        # (their pages hear nothing of a) and learns nothing of a after that. a's own page still learns who
        # else speaks: c starts, and stops one hangover after c's tone, all while a's tone goes on.
        await call.service.apply_view(MediaView(ROOM, participants=everyone, mic_muted=frozenset({"a"})))
        await wait_for(lambda: all(latest(peers[d], "a") is None for d in ("b", "c")), 10, explain=explain)
        shut = asyncio.get_running_loop().time()
        mics["c"].say(tone(1.0))
        await wait_for(lambda: all(spoke_and_stopped(told(peers[d], "c", shut)) for d in ("a", "b")), 20, explain=explain)
        assert mics["a"].speaking, "a's tone ended before the check: nothing was held back"
        for d in ("b", "c"):
            told_after = [report for at, report in peers[d].levels if at > shut]
            assert all("a" not in report for report in told_after), (d, told_after)

        # The gate opens again: a is known again, and the speaking ends one hangover after the tone.
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        await wait_for(lambda: latest(peers["b"], "a") is not None, 10, explain=explain)
        # The hangover runs in the audio's own time: a starved event loop stretches it.
        await wait_for(lambda: latest(peers["b"], "a") == {"level": 0.0, "speaking": False}
                       and not latest(peers["b"], "c")["speaking"], 20, explain=explain)
        # At most one message per report interval per page (never one per packet): about 5 a second.
        times = [at for at, _ in peers["b"].levels]
        rate = len(times) / max(0.5, times[-1] - times[0])
        assert rate <= 5.5, rate
    finally:
        await call.close()


async def test_a_source_without_levels_is_left_to_the_pages():
    """An audio stream whose packets carry no level (the extension not negotiated) is never reported."""
    call = Call(forwarder="rtp")
    everyone = ("a", "b")
    try:
        await call.service.apply_view(MediaView(ROOM, participants=everyone))
        a = await call.join("a", audio=SpeakingTrack())
        b = await call.join("b", audio=SpeakingTrack())
        room = call.service._rooms[ROOM]
        await wait_for(lambda: latest(b, "a") is not None and latest(a, "b") is not None, 20)
        # Pretend b's browser had not negotiated it: b's level comes in as None from now on.
        room.levels.sources.pop("b")
        note = room.levels.note
        room.levels.note = lambda source, level, ts: note(source, None if source == "b" else level, ts)
        await wait_for(lambda: latest(a, "b") is None, 10)
        await asyncio.sleep(1.0)
        assert latest(a, "b") is None and latest(b, "a") is not None
    finally:
        await call.close()
