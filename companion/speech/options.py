"""What the speech model runs with: engine, weights, threads, decoding."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import default_data_dir

ENGINES = ("faster-whisper", "openai-whisper")
DEFAULT_LANGUAGE = "nl"


@dataclass(frozen=True)
class AsrOptions:
    engine: str = "faster-whisper"
    # None: the bundled Whisper base; otherwise a faster-whisper model name or a local folder
    # (openai-whisper: a checkpoint name or a .pt path).
    model: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    threads: int = 2
    beam_size: int = 5
    # faster-whisper only: encode each utterance in a window of its own length, not 30 s (window.py).
    fit_window: bool = True
    language: str = DEFAULT_LANGUAGE
    # The operator's data folder, never the working directory: the model is unpacked there.
    data_dir: Path = field(default_factory=default_data_dir)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown speech engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        if self.beam_size < 1:
            raise ValueError("beam_size must be at least 1")

    def with_(self, **changes: Any) -> "AsrOptions":
        return replace(self, **changes)


def options_from_settings(settings: Any) -> AsrOptions:
    return AsrOptions(
        engine=getattr(settings, "asr_engine", None) or "faster-whisper",
        model=getattr(settings, "whisper_model", None) or None,
        threads=int(getattr(settings, "asr_threads", 2) or 2),
        data_dir=Path(settings.data_dir),
    )
