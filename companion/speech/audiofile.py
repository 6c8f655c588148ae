"""Any audio file or in-memory WAV to 16 kHz mono float32, with PyAV, never through a temporary file."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import BinaryIO, Callable

import av
import numpy as np

from ..audio import SAMPLE_RATE


def decode_audio(
    source: str | Path | bytes | BinaryIO,
    progress: Callable[[float, float], None] | None = None,
) -> np.ndarray:
    """Decode the first audio stream; ``progress(done_seconds, total_seconds)`` is called as it goes."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        container = av.open(source if not isinstance(source, Path) else str(source), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"kan dit audiobestand niet lezen / cannot read this audio: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise ValueError("geen audiospoor in dit bestand / no audio stream in this file")
        stream = container.streams.audio[0]
        total = float(container.duration / av.time_base) if container.duration else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        done = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                done += out.samples
            if progress is not None:
                progress(done / SAMPLE_RATE, total)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def espeak(text: str, voice: str = "nl", speed: int | None = None) -> np.ndarray:
    """Synthetic speech (tests, benchmarks): espeak-ng's WAV from stdout, decoded in memory."""
    cmd = ["espeak-ng", "-v", voice, "--stdout"]
    if speed:
        cmd += ["-s", str(speed)]
    wav = subprocess.run(cmd + [text], check=True, capture_output=True).stdout
    return decode_audio(wav)
