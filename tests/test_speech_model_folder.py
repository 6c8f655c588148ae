"""A model folder the operator installed (``--whisper-model /path``) is what gets loaded, offline.

The bundled base, copied to a folder of its own, stands in for a bigger
CTranslate2 model downloaded once (README, "A bigger model").
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from companion.speech import realvoices
from companion.speech.cli import transcribe_main
from companion.speech.wer import wer
from companion.speech.weights import assemble_bundled


def test_companion_transcribe_loads_a_model_from_another_folder(tmp_path, capsys):
    recording = realvoices.DEFAULT_DIR / "nathalie_p0068.flac"
    if not recording.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-voice test set must be there in CI: {recording}")
        pytest.skip("no real recordings here")
    folder = tmp_path / "elsewhere" / "whisper-mine"
    shutil.copytree(assemble_bundled(tmp_path / "install"), folder)
    data_dir = tmp_path / "data"
    code = transcribe_main([str(recording), "--json", "--whisper-model", str(folder), "--data-dir", str(data_dir)])
    assert code == 0
    utterances = json.loads(capsys.readouterr().out)
    text = " ".join(u["text"] for u in utterances)
    assert wer("Ik maakte mijn melding en moest vervolgens mijn naam en adres opgeven.", text) < 0.3, text
    # The bundled model was never unpacked into this data folder: the words came from the copy.
    assert not (data_dir / "models").exists()


def test_a_folder_without_the_tokenizer_is_refused_before_anything_downloads(tmp_path, capsys):
    recording = realvoices.DEFAULT_DIR / "nathalie_p0068.flac"
    if not recording.is_file():
        pytest.skip("no real recordings here")
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0" * 16)
    code = transcribe_main([str(recording), "--whisper-model", str(folder), "--data-dir", str(tmp_path / "data")])
    assert code == 1
    assert "tokenizer.json" in capsys.readouterr().err
