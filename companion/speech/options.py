"""What the speech model runs with: engine, weights, threads, decoding."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import default_data_dir

ENGINES = ("faster-whisper", "openai-whisper")
WINDOWS = ("full", "fitted")
# The --asr-window help: what the shortcut costs, measured with `companion bench asr` on the shared
# real recordings (bundled base, int8, beam 5; 36 clips, 12 of them 1.7-3 s).
WINDOW_HELP = (
    "encoder window per utterance: 'full' is Whisper's standard 30 s (default); 'fitted' pads each "
    "utterance only to its own length (at least 10 s), about 2x less compute but more word errors on "
    "real voices: 22%% instead of 13%% of words wrong, 54%% instead of 26%% on utterances under 3 s"
)
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
    # Off by default: on real voices it costs words (WINDOW_COST); an operator may trade them for speed.
    fit_window: bool = False
    # Utterances of one speaker waiting in the queue share one 30 s window (packing.py): the encoder
    # pass is paid once for them.  No cost in words (measured: fewer errors); off only for comparing.
    pack_queued: bool = True
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
        fit_window=getattr(settings, "asr_window", "full") == "fitted",
        data_dir=Path(settings.data_dir),
    )
