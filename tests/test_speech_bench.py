"""`companion bench asr` runs and reports the figures it promises (engine part only: the live part takes a minute)."""

from __future__ import annotations

import json

from companion.speech.bench import main


def test_bench_reports_rtf_and_wer_per_engine(tmp_path, capsys):
    assert main(["--json", "--data-dir", str(tmp_path), "--clips", "2", "--skip", "fp32", "--skip", "openai", "--skip", "live"]) == 0
    report = json.loads(capsys.readouterr().out)
    int8 = report["engines"]["faster-whisper-int8"]
    assert report["clips"] == 2 and int8["audio_seconds"] > 4
    assert int8["rtf"] > 0 and 0 <= int8["wer"] < 0.8
    assert "live" not in report and "openai-whisper" not in report["engines"]
    # The fixed-window baseline is measured in the same run, so the speed-up has something to stand on.
    assert report["engines"]["faster-whisper-int8-30s-window"]["rtf"] > 0
    assert report["speedup_fitted_window"] > 0
    # What the filters set aside is counted per reason (clean speech: nothing, but the count is there).
    assert isinstance(int8["set_aside"], dict) and all(isinstance(n, int) for n in int8["set_aside"].values())
