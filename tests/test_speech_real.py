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
from companion.speech.cli import cut_utterances, transcribe_with
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


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from faster_whisper import WhisperModel

    data_dir = tmp_path_factory.mktemp("data")
    options = AsrOptions(data_dir=data_dir)
    bare = WhisperModel(
        resolve_model(None, data_dir), device="cpu", compute_type=options.compute_type, cpu_threads=options.threads
    )
    return load_transcriber(options), bare


@pytest.fixture(scope="module")
def bare_texts(recordings, models):
    # faster-whisper's own defaults (beam 5), whatever the product's options are.
    return [(recording, realvoices.bare_text(models[1], recording.audio, "nl", 5)) for recording in recordings]


def check_no_added_errors(ours, theirs):
    got, base = realvoices.score(ours), realvoices.score(theirs)
    print(f"\nreal voices: product {got}, bare {base}")
    worse = [(r.name, a, b) for (r, a), (_, b) in zip(ours, theirs) if realvoices.score([(r, a)])["wer"] > realvoices.score([(r, b)])["wer"]]
    assert len(ours) == 36 and got["words"] > 300
    assert base["wer"] < 0.4, base  # sanity: the bare model on these voices is far from noise
    assert got["wer"] <= base["wer"] + TOLERANCE, (got, base, worse)
    assert got["wer_short"] <= base["wer_short"] + TOLERANCE, (got, base, worse)


def test_product_word_error_rate_on_real_voices_is_the_bare_models(recordings, models, bare_texts):
    product = models[0]
    ours = [(recording, " ".join(u.text for u in transcribe_with(product, recording.audio, "spreker", "nl"))) for recording in recordings]
    check_no_added_errors(ours, bare_texts)


def test_waiting_utterances_sharing_windows_lose_no_words_and_keep_each_its_own(recordings, models, bare_texts):
    """What the live queue does when one speaker's utterances wait: packed per speaker, cut as live."""
    from companion.speech.bench import speaker_rounds
    from companion.speech.packing import transcribe_queued

    product = models[0]
    before = product.packed_windows
    ours = []
    for round_ in speaker_rounds(recordings):
        cuts = [[audio for _s, _e, audio in cut_utterances(r.audio)] for r in round_]
        heard = transcribe_queued(product, [piece for pieces in cuts for piece in pieces], "nl")
        i = 0
        for recording, pieces in zip(round_, cuts):
            ours.append((recording, " ".join(t.text for t in heard[i : i + len(pieces)] if t.text)))
            i += len(pieces)
    # 36 recordings of two speakers in about eight windows, not 36.
    assert product.packed_windows - before <= 12
    check_no_added_errors(ours, bare_texts)
    # Each recording's words stayed with it: no sentence is better matched by a neighbour's text.
    for k, (recording, text) in enumerate(ours):
        own = realvoices.score([(recording, text)])["wer"]
        for other, _ in ours[max(0, k - 1) : k + 2]:
            if other is not recording:
                assert own < realvoices.score([(other, text)])["wer"], (recording.name, text, other.name)
