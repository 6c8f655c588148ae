"""Speech hand-over: a transcribed speaker's Opus decoded to 16 kHz mono float32."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import numpy as np
import pytest

from companion.audio import SAMPLE_RATE
from companion.media.gates import MediaView
from companion.media.loopback import ROOM, Call, wait_for
from companion.methods import MediaPolicy

TRANSCRIBED = MediaPolicy(transcribe=True)
RODDEL_TRANSCRIBED = MediaPolicy(
    inbrenger_sees_group=False, group_sees_inbrenger=False, inbrenger_heard=False, transcribe=True
)


class RecordingSink:
    def __init__(self) -> None:
        self.chunks: dict[str, list[tuple[np.ndarray, float, float]]] = defaultdict(list)
        self.flushes: list[str] = []

    def push(self, room_id: str, participant_id: str, samples: np.ndarray, start: float) -> None:
        assert room_id == ROOM
        self.chunks[participant_id].append((samples, start, time.monotonic()))

    def flush(self, room_id: str, participant_id: str) -> None:
        self.flushes.append(participant_id)

    def seconds(self, pid: str) -> float:
        return sum(len(s) for s, _, _ in self.chunks[pid]) / SAMPLE_RATE


def dominant_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


@pytest.fixture
async def recorded():
    sink = RecordingSink()
    call = Call(audio_sink=sink)
    yield call, sink
    await call.close()


async def test_transcribed_speakers_reach_the_sink_as_16k_float(recorded):
    call, sink = recorded
    await call.join("a", frequency=440.0)
    await call.join("b", frequency=660.0)
    await wait_for(lambda: call.packets("a", "b", "audio") > 10 and call.packets("b", "a", "audio") > 10)
    assert not sink.chunks  # the open plain call is not transcribed

    await call.service.apply_view(MediaView(ROOM, ("a", "b"), policy=TRANSCRIBED, running=True, inbrenger_id="a"))
    await wait_for(lambda: sink.seconds("a") > 1.5 and sink.seconds("b") > 1.5)
    for pid, tone in (("a", 440.0), ("b", 660.0)):
        chunks = sink.chunks[pid]
        samples = np.concatenate([s for s, _, _ in chunks])
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert np.abs(samples).max() <= 1.0
        assert 0.2 < np.abs(samples[SAMPLE_RATE // 2 :]).max() < 0.4  # the peers send amplitude 0.3
        assert abs(dominant_frequency(samples[-SAMPLE_RATE:]) - tone) < 10
        starts = [start for _, start, _ in chunks]
        assert starts == sorted(starts)
        # Start times follow the audio: consecutive chunks sit one chunk apart
        # (a packet arriving very late re-anchors the clock, hence "most").
        spans = np.diff(starts[5:])
        durations = np.array([len(s) / SAMPLE_RATE for s, _, _ in chunks[5:-1]])
        assert np.mean(np.isclose(spans, durations, atol=0.03)) > 0.5
        for _, start, pushed in chunks:
            assert pushed - 1.0 < start <= pushed


async def test_sink_is_flushed_when_a_speaker_stops_being_transcribed(recorded):
    call, sink = recorded
    pids = ("inb", "b", "c")
    for pid in pids:
        await call.join(pid)
    await call.service.apply_view(MediaView(ROOM, pids, inbrenger_id="inb", policy=TRANSCRIBED, running=True))
    await wait_for(lambda: all(sink.seconds(pid) > 0.5 for pid in pids))

    # Roddelfase: the inbrenger's microphone is not forwarded, so not transcribed either.
    await call.service.apply_view(MediaView(ROOM, pids, inbrenger_id="inb", policy=RODDEL_TRANSCRIBED, running=True))
    assert sink.flushes == ["inb"]
    held = sink.seconds("inb")
    b_then = sink.seconds("b")
    await asyncio.sleep(1.0)
    assert sink.seconds("inb") == held
    assert sink.seconds("b") > b_then + 0.5

    # The facilitator mutes c: flushed, nothing more from c.
    await call.service.apply_view(
        MediaView(ROOM, pids, inbrenger_id="inb", policy=RODDEL_TRANSCRIBED, running=True, mic_muted=frozenset({"c"}))
    )
    assert sink.flushes == ["inb", "c"]

    # b leaves mid-step: flushed.
    await call.leave("b")
    assert sink.flushes == ["inb", "c", "b"]

    # The session ends: nobody is transcribed any more.
    await call.service.apply_view(MediaView(ROOM, pids, inbrenger_id="inb", policy=RODDEL_TRANSCRIBED, running=False))
    counts = {pid: len(sink.chunks[pid]) for pid in pids}
    await asyncio.sleep(0.5)
    assert {pid: len(sink.chunks[pid]) for pid in pids} == counts
