"""The per-speaker cutter on real Silero VAD and espeak-ng speech, pushed in 20 ms chunks like the media side."""

from __future__ import annotations

import numpy as np
import pytest

from companion.speech.audiofile import espeak
from companion.speech.vad import UtteranceCutter, VadOptions

SR = 16_000


@pytest.fixture(scope="module")
def words():
    return {
        "long": espeak("Ik zou eerst met je leidinggevende gaan praten over de werkdruk."),
        "short": espeak("Ja."),
        "more": espeak("En daarna met een collega."),
    }


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.float32)


def feed(cutter: UtteranceCutter, audio: np.ndarray, t0: float = 50.0, chunk: int = 320):
    cuts = []
    for i in range(0, len(audio), chunk):
        cuts += cutter.push(audio[i : i + chunk], t0 + i / SR)
    return cuts


def test_utterance_ends_after_silence_with_times_of_the_speech(words):
    audio = np.concatenate([silence(1.0), words["long"], silence(1.0), words["more"], silence(1.0)])
    cuts = feed(UtteranceCutter(), audio)
    assert len(cuts) == 2
    first, second = cuts
    speech_end = 1.0 + len(words["long"]) / SR
    # Speech starts 1.0 s in; the cut keeps up to VadOptions.pre_roll (1.0 s) before Silero's first speech window.
    assert 50.0 <= first.start <= 51.05
    assert first.speech_end - 50 == pytest.approx(speech_end, abs=0.35)
    assert first.end < second.start
    offset = round((first.start - 50) * SR)
    assert np.array_equal(first.audio, audio[offset : offset + len(first.audio)])  # the cut's times match its samples


def test_a_short_piece_waits_for_the_same_speaker_and_is_joined(words):
    # "Ja." then 0.9 s pause: longer than end_silence, but the piece is short, so it joins the next.
    audio = np.concatenate([silence(0.5), words["short"], silence(0.9), words["more"], silence(2.0)])
    cuts = feed(UtteranceCutter(), audio)
    assert len(cuts) == 1
    assert cuts[0].duration > (len(words["short"]) + len(words["more"])) / SR


def test_long_speech_is_capped(words):
    audio = np.concatenate([words["long"]] * 4 + [silence(1.0)])  # no pause between repeats
    cuts = feed(UtteranceCutter(VadOptions(max_utterance=5.0)), audio)
    assert len(cuts) >= 2
    assert all(c.duration <= 5.0 + 0.05 for c in cuts)


def test_silence_and_noise_make_no_utterance():
    rng = np.random.default_rng(7)
    assert feed(UtteranceCutter(), silence(4.0)) == []
    noise = (rng.standard_normal(4 * SR) * 0.05).astype(np.float32)
    assert feed(UtteranceCutter(), noise) + UtteranceCutter().flush() == []


def test_flush_and_gaps_end_an_open_utterance(words):
    cutter = UtteranceCutter()
    assert feed(cutter, np.concatenate([silence(0.3), words["long"]])) == []  # still talking
    cuts = cutter.flush()
    assert len(cuts) == 1
    # A jump in the timeline (gate closed, then open again much later) ends what was open.
    cutter = UtteranceCutter()
    feed(cutter, np.concatenate([silence(0.3), words["long"]]), t0=10.0)
    cuts = cutter.push(silence(0.02), 30.0)
    assert len(cuts) == 1 and cuts[0].start < 11
