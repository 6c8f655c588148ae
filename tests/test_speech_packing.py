"""One speaker's waiting utterances share a window: the layout, and each word back to its utterance.

The real model on real voices is in test_speech_real.py (accuracy) and
test_speech_service.py (the live queue packs, speakers stay apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from companion.speech import packing
from companion.speech.packing import GAP_SECONDS, MAX_SECONDS

SR = 16_000


@dataclass
class Word:
    start: float
    end: float
    word: str


@dataclass
class Seg:
    words: list[Word]
    avg_logprob: float = -0.2


def tone(seconds: float, value: float = 0.1) -> np.ndarray:
    return np.full(int(seconds * SR), value, dtype=np.float32)


def test_layout_puts_a_gap_of_silence_around_every_piece_and_says_where_each_lies():
    audio, bounds = packing.layout([tone(2.0, 0.1), tone(3.0, 0.2)])
    assert len(audio) == int((2.0 + 3.0 + 3 * GAP_SECONDS) * SR)
    assert bounds == [(GAP_SECONDS, GAP_SECONDS + 2.0), (2 * GAP_SECONDS + 2.0, 2 * GAP_SECONDS + 5.0)]
    for (a, b), value in zip(bounds, (0.1, 0.2)):
        assert np.all(audio[int(a * SR) : int(b * SR)] == np.float32(value))
    assert not audio[: int(GAP_SECONDS * SR)].any() and not audio[int(bounds[0][1] * SR) : int(bounds[1][0] * SR)].any()


def test_groups_fill_windows_in_order_and_a_long_utterance_stands_alone():
    assert packing.groups([3.0, 3.0, 3.0]) == [[0, 1, 2]]
    # 5 x 4 s with 6 gaps is 26 s; a sixth would make 31 s.
    assert packing.groups([4.0] * 6) == [[0, 1, 2, 3, 4], [5]]
    assert packing.groups([2.0, 27.5, 2.0]) == [[0], [1], [2]]
    assert all(packing.packed_seconds([4.0] * len(g)) <= MAX_SECONDS for g in packing.groups([4.0] * 20))
    assert [i for g in packing.groups([1.0, 9.0, 20.0, 3.0]) for i in g] == [0, 1, 2, 3]


def test_each_word_goes_to_the_utterance_it_was_said_in():
    bounds = [(1.0, 3.0), (4.0, 6.5), (7.5, 9.0)]
    # Whisper ran the first two utterances into one segment, and the third stands alone.
    first = Seg([Word(1.1, 1.5, " Zorg"), Word(1.5, 2.9, " goed,"), Word(4.1, 4.6, " en"), Word(4.6, 6.3, " rust.")])
    third = Seg([Word(7.6, 8.8, " Klaar.")], avg_logprob=-0.9)
    parts = packing.split([first, third], bounds)
    assert [[p.text for p in ps] for ps in parts] == [["Zorg goed,"], ["en rust."], ["Klaar."]]
    # Times count from the utterance's own start; each part keeps the segment whose scores judge it.
    assert (parts[0][0].start, parts[0][0].end) == (pytest.approx(0.1), pytest.approx(1.9))
    assert (parts[1][0].start, parts[1][0].end) == (pytest.approx(0.1), pytest.approx(2.3))
    assert parts[1][0].segment is first and parts[2][0].segment is third


def test_a_word_timed_in_the_silence_goes_to_the_nearer_utterance_and_none_is_lost():
    bounds = [(1.0, 3.0), (4.0, 6.0)]
    # "en" timed at 3.6-3.8 s: in the gap, nearer the second utterance; "dus" at 3.1-3.3 nearer the first.
    seg = Seg([Word(2.5, 2.9, " klaar"), Word(3.1, 3.3, " dus"), Word(3.6, 3.8, " en"), Word(4.2, 4.8, " verder")])
    parts = packing.split([seg], bounds)
    assert [p.text for p in parts[0]] == ["klaar dus"] and [p.text for p in parts[1]] == ["en verder"]
    assert parts[0][0].end <= 2.0 and parts[1][0].start == 0.0  # clamped inside the utterance
    # A segment with no words (silence) gives nothing; an utterance nobody's words fell in gets no part.
    assert packing.split([Seg([])], bounds) == [[], []]


class OneByOne:
    """A transcriber that cannot pack: transcribe_queued decodes each piece alone, in order."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def transcribe(self, samples, language, prompt=None):
        from companion.speech.asr import Transcript

        self.calls.append(len(samples) / SR)
        return Transcript(f"stuk van {len(samples) / SR:.1f} s", 0.9, language)


def test_a_transcriber_that_cannot_pack_gets_the_pieces_one_by_one():
    engine = OneByOne()
    got = packing.transcribe_queued(engine, [tone(1.0), tone(2.0), tone(3.0)], "nl")
    assert [t.text for t in got] == ["stuk van 1.0 s", "stuk van 2.0 s", "stuk van 3.0 s"]
    assert engine.calls == [1.0, 2.0, 3.0]


class Pipe:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def _service(**options):
    from companion.speech.options import AsrOptions
    from companion.speech.service import TranscriptionService, _Step

    service = TranscriptionService(AsrOptions(**options), lambda u: None)
    service._conn = Pipe()
    service._steps["r"] = _Step("advice", "nl", 100.0)
    service._steps["s"] = _Step("advice", "nl", 100.0)
    return service


def _cut(start, end):
    from companion.speech.vad import Cut

    return Cut(100.0 + start, 100.0 + end, np.zeros(int((end - start) * SR), dtype=np.float32), 100.0 + end)


def _sent_ids(message):
    return [message[1]] if message[0] == "job" else [job_id for job_id, _audio in message[2]]


def test_the_queue_sends_one_speakers_waiting_utterances_together_and_never_mixes_speakers_or_rooms():
    service = _service()
    # Seconds apart enough (more than TURN_PAUSE) that nobody's pieces make a turn to decode again.
    said = [("r", "anna", 0), ("r", "bram", 5), ("s", "anna", 6), ("r", "anna", 11), ("r", "bram", 17), ("r", "anna", 23)]
    ids = {}
    for room, who, t in said:
        service._enqueue(room, who, service._steps[room], _cut(t, t + 3.0))
        ids.setdefault((room, who), []).append(service.pending_ids[-1])
    service._send_next()
    # The oldest waiting one leads; the later ones of the same speaker in the same room join it, in order.
    message = service._conn.sent[-1]
    assert message[0] == "jobs" and message[1] == "nl"
    assert _sent_ids(message) == ids[("r", "anna")]
    assert service._in_flight == set(ids[("r", "anna")])
    for job_id in ids[("r", "anna")]:
        service._handle(("result", job_id, "tekst", 0.8, [], None, {"packed": 3}))
    assert not service._in_flight and service.packed == 3
    service._send_next()
    assert _sent_ids(service._conn.sent[-1]) == ids[("r", "bram")]
    for job_id in ids[("r", "bram")]:
        service._handle(("result", job_id, "tekst", 0.8, [], None, {"packed": 2}))
    service._send_next()
    # Anna in the other room is someone else's window: alone.
    assert service._conn.sent[-1][0] == "job" and _sent_ids(service._conn.sent[-1]) == ids[("s", "anna")]


def test_a_window_holds_no_more_than_whisper_takes_and_retried_or_turn_jobs_go_alone():
    service = _service()
    for k in range(8):  # eight 5 s utterances of one speaker, 10 s apart: five fit a window (5 x 5 + 6 gaps = 31 > 28)
        service._enqueue("r", "anna", service._steps["r"], _cut(10.0 * k, 10.0 * k + 5.0))
    service._send_next()
    first = _sent_ids(service._conn.sent[-1])
    assert len(first) == 4 and packing.packed_seconds([5.0] * 4) <= MAX_SECONDS
    # The worker died on that window: each of its utterances is then tried on its own.
    service._in_flight = set()
    service._send_next()
    assert service._conn.sent[-1][0] == "job" and _sent_ids(service._conn.sent[-1]) == first[:1]


def test_packing_can_be_switched_off():
    service = _service(pack_queued=False)
    for k in range(3):
        service._enqueue("r", "anna", service._steps["r"], _cut(10.0 * k, 10.0 * k + 2.0))
    service._send_next()
    assert service._conn.sent[-1][0] == "job"


class BrokenWindow(OneByOne):
    """Packing fails (say, a word-timing corner in the model's code); single decodes work."""

    def transcribe_packed(self, pieces, language):
        raise RuntimeError("kapot venster")


def test_a_shared_window_that_fails_costs_nobody_their_words(caplog):
    from companion.speech.worker import _decode

    engine = BrokenWindow()
    results, shared = _decode(engine, "nl", [("a", tone(1.0)), ("b", tone(2.0))])
    assert not shared and [t.text for t in results] == ["stuk van 1.0 s", "stuk van 2.0 s"]
    assert "shared window failed" in caplog.text
