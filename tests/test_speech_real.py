"""On real voices the product adds no word errors to the model's own.

The 36 shared Dutch recordings go through the product's path (the same VAD
cutting and transcriber as ``companion transcribe`` and the live step, with
the default options) and through faster-whisper called bare on the same
weights (standard 30 s window, no VAD, no filters), in the same run.
"""

from __future__ import annotations

import os

import pytest

from companion.cli import serve_parser
from companion.config import Settings
from companion.speech import realvoices
from companion.speech.asr import load_transcriber
from companion.speech.cli import transcribe_with
from companion.speech.options import AsrOptions, options_from_settings
from companion.speech.weights import resolve_model

# Allowed excess of the product's word error rate over the bare model's.
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def recordings():
    try:
        return realvoices.load()
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-voice test set must be there in CI: {exc}")
        pytest.skip(str(exc))


def test_the_server_decodes_with_the_same_options_as_companion_transcribe(tmp_path):
    # The live step's worker loads options_from_settings(settings); companion transcribe builds AsrOptions().
    live = options_from_settings(Settings(data_dir=tmp_path))
    assert live == AsrOptions(data_dir=tmp_path)
    assert live.fit_window is False
    # The shortcut stays an operator's explicit choice, with its cost in --help.
    assert options_from_settings(Settings(data_dir=tmp_path, asr_window="fitted")).fit_window is True
    help_text = " ".join(serve_parser().format_help().split())
    assert "--asr-window {full,fitted}" in help_text and "more word errors on real voices" in help_text


def test_product_word_error_rate_on_real_voices_is_the_bare_models(recordings, tmp_path):
    from faster_whisper import WhisperModel

    options = AsrOptions(data_dir=tmp_path)
    product = load_transcriber(options)
    bare = WhisperModel(
        resolve_model(None, tmp_path), device="cpu", compute_type=options.compute_type, cpu_threads=options.threads
    )
    ours, theirs = [], []
    for recording in recordings:
        utterances = transcribe_with(product, recording.audio, "spreker", "nl")
        ours.append((recording, " ".join(u.text for u in utterances)))
        theirs.append((recording, realvoices.bare_text(bare, recording.audio, "nl", options.beam_size)))
    got, base = realvoices.score(ours), realvoices.score(theirs)
    print(f"\nreal voices: product {got}, bare {base}")
    worse = [(r.name, a, b) for (r, a), (_, b) in zip(ours, theirs) if realvoices.score([(r, a)])["wer"] > realvoices.score([(r, b)])["wer"]]
    assert len(recordings) == 36 and got["words"] > 300
    assert base["wer"] < 0.4, base  # sanity: the bare model on these voices is far from noise
    assert got["wer"] <= base["wer"] + TOLERANCE, (got, base, worse)
    assert got["wer_short"] <= base["wer_short"] + TOLERANCE, (got, base, worse)
