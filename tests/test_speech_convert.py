"""`companion model export-openai`: the bundled CTranslate2 base as an openai-whisper checkpoint, same words."""

from __future__ import annotations

import struct

import pytest

from companion.speech.asr import FasterWhisper, OpenAIWhisper
from companion.speech.audiofile import espeak
from companion.speech.cli import model_main
from companion.speech.convert import read_ct2
from companion.speech.filters import normalise
from companion.speech.options import AsrOptions
from companion.speech.weights import WeightsError

pytest.importorskip("whisper")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("convert")
    out = data_dir / "base.pt"
    assert model_main(["export-openai", str(out), "--data-dir", str(data_dir)]) == 0
    return data_dir, out


def test_checkpoint_has_the_dims_and_every_weight(exported):
    import whisper

    _, out = exported
    checkpoint = torch.load(out, map_location="cpu")
    assert checkpoint["dims"] == {
        "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8, "n_audio_layer": 6,
        "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512, "n_text_head": 8, "n_text_layer": 6,
    }
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    # strict: no weight missing, none left over
    model.load_state_dict(checkpoint["model_state_dict"], strict=True)
    assert "encoder.blocks.0.attn.key.bias" not in checkpoint["model_state_dict"]


def test_both_engines_give_the_same_words_on_the_same_clip(exported):
    data_dir, out = exported
    # English: espeak-ng's Dutch scores so low (avg_logprob near -1) that both engines fall back to
    # sampling at temperature > 0, and sampled words cannot be compared; this clip decodes at -0.38.
    clip = espeak("My advice is to talk to your manager before the meeting.", "en")
    # Greedy decoding keeps the openai-whisper pass short; fp32 on both sides so only the engine differs.
    # Whisper's own 30 s window on both sides: openai-whisper cannot encode a shorter one (speech/window.py).
    ct2 = FasterWhisper(AsrOptions(data_dir=data_dir, compute_type="float32", beam_size=1, fit_window=False))
    openai = OpenAIWhisper(AsrOptions(engine="openai-whisper", model=str(out), data_dir=data_dir, beam_size=1))
    a = ct2.transcribe(clip, "en").text
    b = openai.transcribe(clip, "en").text
    assert normalise(a) and normalise(a) == normalise(b), (a, b)


def test_other_format_versions_are_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<I", 5) + b"\0" * 16)
    with pytest.raises(WeightsError, match="format 5"):
        read_ct2(path)


def test_export_reports_a_folder_that_is_no_model(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert model_main(["export-openai", str(tmp_path / "x.pt"), "--model-dir", str(tmp_path / "empty")]) == 1
    assert "model.bin" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
