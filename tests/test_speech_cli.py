"""`python -m companion transcribe FILE`: a recording through the same VAD, model and filters."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import numpy as np

from companion.speech.audiofile import espeak
from companion.speech.wer import wer

FIRST = "Mijn advies is om het gesprek met je teamleider goed voor te bereiden."
SECOND = "Misschien kun je een collega vragen om mee te denken."


def write_wav(path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "companion", "transcribe", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_transcribes_a_recording_to_json_per_utterance(tmp_path):
    pause = np.zeros(24000, dtype=np.float32)
    recording = tmp_path / "sessie.wav"
    write_wav(recording, np.concatenate([pause, espeak(FIRST), pause, espeak(SECOND), pause]))
    done = run(recording, "--json", "--speaker", "Anna", "--language", "nl", "--data-dir", tmp_path / "data", "--progress")
    assert done.returncode == 0, done.stderr
    utterances = json.loads(done.stdout)
    assert len(utterances) == 2, utterances  # the 1.5 s pause ends the first utterance
    assert [u["speaker"] for u in utterances] == ["Anna", "Anna"]
    assert utterances[0]["end"] <= utterances[1]["start"]
    assert 0.4 <= utterances[0]["start"] <= 1.6  # speech at 1.5 s, less the VAD's 1 s pre-roll
    assert all(u["language"] == "nl" and 0 < u["confidence"] <= 1 for u in utterances)
    assert wer(f"{FIRST} {SECOND}", " ".join(u["text"] for u in utterances)) < 0.5
    assert "transcribing" in done.stderr and "100.0%" in done.stderr


def test_unreadable_and_missing_files_get_a_clear_error(tmp_path):
    junk = tmp_path / "kapot.wav"
    junk.write_bytes(b"dit is geen audio" * 10)
    done = run(junk, "--data-dir", tmp_path / "data")
    assert done.returncode == 2
    assert "cannot read this audio" in done.stderr and "Traceback" not in done.stderr
    done = run(tmp_path / "weg.wav")
    assert done.returncode == 2 and "file not found" in done.stderr
