"""`companion bench asr` runs and reports the figures it promises (a few clips; the live part takes a minute)."""

from __future__ import annotations

import json
import os

import pytest

from companion.speech import realvoices
from companion.speech.bench import BARE, main


def test_bench_reports_rtf_and_wer_per_engine(tmp_path, capsys):
    args = ["--json", "--data-dir", str(tmp_path), "--clips", "2", "--skip", "real", "--skip", "fp32", "--skip", "openai", "--skip", "live"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    int8 = report["engines"]["faster-whisper-int8"]
    assert report["clips"] == 2 and int8["audio_seconds"] > 4
    assert int8["rtf"] > 0 and 0 <= int8["wer"] < 0.8
    assert "live" not in report and "openai-whisper" not in report["engines"] and "real" not in report
    # The fitted-window shortcut is measured in the same run, so its speed-up has something to stand on.
    assert report["engines"]["faster-whisper-int8-fitted-window"]["rtf"] > 0
    assert report["speedup_fitted_window"] > 0
    # What the filters set aside is counted per reason (clean speech: nothing, but the count is there).
    assert isinstance(int8["set_aside"], dict) and all(isinstance(n, int) for n in int8["set_aside"].values())


def test_bench_leads_with_real_voices_against_the_bare_model(tmp_path, capsys):
    if not (realvoices.DEFAULT_DIR / realvoices.MANIFEST).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-voice test set must be there in CI: {realvoices.DEFAULT_DIR}")
        pytest.skip("no real recordings here")
    # Four recordings spread over the set (one of them short); greedy, the fitted window and the default
    # with the recordings waiting together (packed windows) beside the default.
    args = ["--json", "--data-dir", str(tmp_path), "--real-clips", "4", "--skip", "espeak", "--skip", "fp32", "--skip", "openai",
            "--skip", "beams"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    table = report["real"]["configs"]
    assert report["real"]["recordings"] == 4 and report["real"]["short"] == 1 and report["real"]["baseline"] == BARE
    assert set(table) == {
        BARE, "faster-whisper-int8", "faster-whisper-int8-queued", "faster-whisper-int8-greedy", "faster-whisper-int8-greedy-queued",
        "faster-whisper-int8-fitted-window", "faster-whisper-int8-fitted-window-greedy",
    }
    assert table["faster-whisper-int8-queued"]["batch"] == "packed" and table["faster-whisper-int8"]["batch"] == "1"
    # Two of the four recordings are one speaker's in a row: they shared a window.
    assert table["faster-whisper-int8-queued"]["packed_windows"] >= 1
    for row in table.values():
        assert row["rtf"] > 0 and row["cpu_per_audio_second"] > 0 and row["audio_seconds"] > 8
        assert 0 <= row["real_nl_wer"] < 0.6 and row["real_nl_wer_short"] <= 1 and row["batch"] in ("1", "packed")
        assert {"engine", "window", "beam", "batch", "real_nl_wer_short"} <= set(row)
    assert table["faster-whisper-int8-greedy"]["beam"] == 1 and table["faster-whisper-int8-fitted-window"]["window"] == "fitted"
    assert report["real_nl_wer"] == table["faster-whisper-int8"]["real_nl_wer"]
    assert report["real_nl_wer_bare"] == table[BARE]["real_nl_wer"] and report["real_nl_rtf"] > 0
    assert report["default"]["window"] == "30s" and report["default"]["waiting"] == "packed"
    assert report["real_nl_wer_queued"] == table["faster-whisper-int8-queued"]["real_nl_wer"]
    assert "engines" not in report and "live" not in report


def test_speech_sharing_bench_measures_a_model_per_worker_against_one_shared(tmp_path, capsys):
    """Two rooms at once, one deelnemer each: per worker (two models) and shared (one), one pass each."""
    from companion.speech import sharing_bench

    if not (realvoices.DEFAULT_DIR / realvoices.MANIFEST).is_file():
        pytest.skip("the shared real recordings are not here")
    args = ["--json", "--data-dir", str(tmp_path), "--rooms", "2", "--deelnemers", "1", "--workers", "2",
            "--repeat", "1", "--only", "per-worker", "--only", "shared"]
    assert sharing_bench.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    per_worker, shared = report["configurations"]["per-worker"], report["configurations"]["shared"]
    assert set(report["configurations"]) == {"per-worker", "shared"}
    assert per_worker["model_processes"] == 2 and shared["model_processes"] == 1
    for figures in (per_worker, shared):
        assert figures["utterances"] >= 2 and 0 < figures["latency_seconds"]["p50"] <= figures["latency_seconds"]["max"]
        # Each room's words came back under that room and speaker (a mix-up would show as errors here).
        assert set(figures["word_error_rate_per_room"]) == {"room0", "room1"}
        assert all(wer < 0.5 for wer in figures["word_error_rate_per_room"].values()), figures
    # Two models hold about twice the memory of one (each loads Whisper base).
    assert shared["models_peak_pss_mb"] > 100
    assert per_worker["models_peak_pss_mb"] > 1.5 * shared["models_peak_pss_mb"]
