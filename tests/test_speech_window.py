"""The encoder window sized to the utterance (speech/window.py, opt-in): the hook reaches faster-whisper, and the words stay on espeak."""

from __future__ import annotations

import faster_whisper
import faster_whisper.transcribe
import numpy as np
import pytest

from companion.speech import window
from companion.speech.asr import load_transcriber
from companion.speech.audiofile import espeak
from companion.speech.options import AsrOptions
from companion.speech.wer import wer

SENTENCE = "Ik zou beginnen met een open vraag over de planning."


def test_faster_whisper_is_the_pinned_release():
    assert faster_whisper.__version__ == window.PINNED_FASTER_WHISPER, (
        "faster-whisper moved: check that transcribe.pad_or_trim still pads every window, then update the pin"
    )


def test_window_is_the_utterance_plus_margin_between_ten_and_thirty_seconds():
    assert window.window_frames(0) == 1000
    assert window.window_frames(3 * 16000) == 1000
    assert window.window_frames(int(12.2 * 16000)) == 1400
    assert window.window_frames(29 * 16000) == 3000
    assert window.window_frames(90 * 16000) == 3000


def test_install_refuses_a_padding_function_it_does_not_know(monkeypatch):
    monkeypatch.setattr(faster_whisper.transcribe, "pad_or_trim", lambda array, length=3000, axis=-1: array)
    with pytest.raises(window.WindowHookError):
        window.install()


def test_padding_outside_a_window_block_stays_thirty_seconds():
    window.install()
    features = np.zeros((80, 420), dtype=np.float32)
    assert faster_whisper.transcribe.pad_or_trim(features).shape == (80, 3000)
    with window.encoder_window(5 * 16000) as report:
        assert faster_whisper.transcribe.pad_or_trim(features).shape == (80, 1000)
        # An explicit length (language detection, other callers) is left alone.
        assert faster_whisper.transcribe.pad_or_trim(features, 2000).shape == (80, 2000)
    assert report["padded"] == 1
    assert faster_whisper.transcribe.pad_or_trim(features).shape == (80, 3000)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    return load_transcriber(AsrOptions(data_dir=tmp_path_factory.mktemp("asr"), fit_window=True))


def test_a_real_transcription_encodes_the_short_window_with_the_same_words(fitted):
    clip = espeak(SENTENCE)
    short = fitted.transcribe(clip, "nl")
    # Zero here means faster-whisper no longer pads through the hook: every utterance pays 30 s again.
    assert fitted.last_window == {"frames": 1000, "padded": 1}
    full = load_transcriber(fitted.options.with_(fit_window=False)).transcribe(clip, "nl")
    assert wer(SENTENCE, short.text) <= wer(SENTENCE, full.text) + 0.1, (short.text, full.text)
    assert wer(SENTENCE, short.text) < 0.7, short.text  # espeak Dutch is rough; a broken window gives near 1
