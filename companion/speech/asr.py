"""One speech model, loaded once: float32 16 kHz audio in, filtered text out.

Used inside the transcription worker process, by ``companion transcribe``
and by the benchmark.  Nothing here writes audio anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import packing
from .filters import PHRASE_LIST, SegmentScores, collapse_loops, normalise, score_reason, split_phrases
from .options import AsrOptions
from .weights import WeightsError, resolve_model
from .window import encoder_window


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True)
class SetAside:
    """Words the filters kept out of the text, with why (a filters reason code); times in seconds from the audio start."""

    start: float
    end: float
    text: str
    reason: str


@dataclass(frozen=True)
class Transcript:
    text: str
    # exp(mean token log-probability) over the kept segments, weighted by length; 0 for no text.
    confidence: float
    language: str
    segments: tuple[Segment, ...] = field(default=())
    # Never dropped: what the filters took out, for the advice list's "niet opgenomen" part.
    set_aside: tuple[SetAside, ...] = field(default=())
    # Repetition loops collapsed to one copy (the words are in ``text`` once).
    collapsed: int = 0

    @property
    def dropped(self) -> int:
        return len(self.set_aside)


# Generous for speech (fast Dutch is about 5 tokens a second) yet far below the 224 tokens a
# repetition loop on noise runs to; a segment that hits the cap is taken for a loop.
TOKENS_PER_SECOND = 12
TOKENS_BASE = 10
MAX_NEW_TOKENS = 220


def token_cap(samples: np.ndarray) -> int:
    return int(min(MAX_NEW_TOKENS, TOKENS_BASE + TOKENS_PER_SECOND * len(samples) / 16_000))


class Transcriber(Protocol):
    # ``prompt``: text Whisper takes as what was said just before (bench pauses measures it), or None.
    def transcribe(self, samples: np.ndarray, language: str, prompt: str | None = None) -> Transcript: ...


def _assemble(segments: list[Segment], language: str) -> Transcript:
    """The kept text of Whisper's segments; every piece taken out is returned with its reason.

    A segment the model's own scores call silence or guesswork is set aside
    whole; a sentence that is wholly a known phrase is set aside alone; a
    repetition loop is collapsed to one copy (in a segment, and across
    segments that repeat each other), never dropped.
    """
    kept: list[Segment] = []
    aside: list[SetAside] = []
    collapsed = 0
    for s in segments:
        text = s.text.strip()
        if not text:
            continue
        reason = score_reason(SegmentScores(text, s.no_speech_prob, s.avg_logprob, s.compression_ratio))
        if reason is not None:
            aside.append(SetAside(s.start, s.end, text, reason))
            continue
        text, phrases = split_phrases(text)
        aside.extend(SetAside(s.start, s.end, p, PHRASE_LIST) for p in phrases)
        once = collapse_loops(text)
        collapsed += once != text
        if not once:
            continue
        if kept and normalise(kept[-1].text) == normalise(once):
            collapsed += 1  # the same words as the segment before: a loop across segments
            continue
        kept.append(Segment(s.start, s.end, once, s.avg_logprob, s.no_speech_prob, s.compression_ratio))
    if not kept:
        return Transcript("", 0.0, language, (), tuple(aside), collapsed)
    joined = " ".join(s.text for s in kept)
    text = collapse_loops(joined)
    collapsed += text != joined
    weights = [max(1, len(s.text)) for s in kept]
    mean = sum(w * s.avg_logprob for w, s in zip(weights, kept)) / sum(weights)
    return Transcript(text, round(math.exp(mean), 3), language, tuple(kept), tuple(aside), collapsed)


def _loop_ratio(ratio: float, tokens: int, cap: int) -> float:
    """The segment's compression ratio, or infinity when it ran into the token cap (a loop cut short)."""
    return math.inf if tokens >= cap - 2 else ratio


class FasterWhisper:
    def __init__(self, options: AsrOptions):
        from faster_whisper import WhisperModel

        self.options = options
        self.last_window: dict[str, int] | None = None
        # Windows several utterances shared (transcribe_packed), for tests and the bench.
        self.packed_windows = 0
        self.model = WhisperModel(
            resolve_model(options.model, options.data_dir),
            device=options.device,
            compute_type=options.compute_type,
            cpu_threads=options.threads,
            num_workers=1,
        )

    def transcribe(self, samples: np.ndarray, language: str, prompt: str | None = None) -> Transcript:
        if not self.options.fit_window:
            return self._transcribe(samples, language, prompt)
        with encoder_window(len(samples)) as window:
            transcript = self._transcribe(samples, language, prompt)
        # Read by tests/test_speech_window.py: zero padded windows means the hook went dead (slower, not wrong).
        self.last_window = window
        return transcript

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        """Whisper's probability per language code for this audio (one encoder pass; language.py decides)."""
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        if not self.options.fit_window:
            return dict(self.model.detect_language(audio)[2])
        with encoder_window(len(samples)):
            return dict(self.model.detect_language(audio)[2])

    def transcribe_packed(self, pieces: list[np.ndarray], language: str) -> list[Transcript]:
        """One speaker's utterances decoded in one window, each with its own words (packing.py); same order.

        The pieces with their gaps must fit ``packing.MAX_SECONDS``.  A piece
        left without any word is decoded again on its own.
        """
        audio, bounds = packing.layout(pieces)
        if self.options.fit_window:
            with encoder_window(len(audio)):
                segments, cap = self._decode(audio, language, None, word_timestamps=True)
        else:
            segments, cap = self._decode(audio, language, None, word_timestamps=True)
        out = []
        for piece, parts in zip(pieces, packing.split(segments, bounds)):
            found = [
                Segment(
                    p.start, p.end, p.text, p.segment.avg_logprob, p.segment.no_speech_prob,
                    _loop_ratio(p.segment.compression_ratio, len(p.segment.tokens), cap),
                )
                for p in parts
            ]
            transcript = _assemble(found, language)
            if not transcript.text and not transcript.set_aside:
                # Whisper can pass over a short remark between others: heard alone it may have words.
                transcript = self.transcribe(piece, language)
            out.append(transcript)
        self.packed_windows += 1
        return out

    def _decode(self, samples: np.ndarray, language: str, prompt: str | None, word_timestamps: bool = False) -> tuple[list[Any], int]:
        cap = token_cap(samples)
        segments, _info = self.model.transcribe(
            np.ascontiguousarray(samples, dtype=np.float32),
            language=language,
            beam_size=self.options.beam_size,
            # Each utterance stands alone: carrying text over is what feeds repetition loops.
            condition_on_previous_text=False,
            # One decode per utterance: no re-decoding at higher temperatures on low-confidence audio
            # (robotic or quiet speech would cost up to six passes); filters.py judges the result.
            temperature=0.0,
            vad_filter=False,
            without_timestamps=False,
            word_timestamps=word_timestamps,
            max_new_tokens=cap,
            initial_prompt=prompt or None,
        )
        return list(segments), cap

    def _transcribe(self, samples: np.ndarray, language: str, prompt: str | None = None) -> Transcript:
        segments, cap = self._decode(samples, language, prompt)
        found = [
            Segment(s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob, _loop_ratio(s.compression_ratio, len(s.tokens), cap))
            for s in segments
        ]
        return _assemble(found, language)


class OpenAIWhisper:
    def __init__(self, options: AsrOptions):
        try:
            import torch
            import whisper
        except ImportError as exc:  # the optional extra
            raise WeightsError("the openai-whisper engine needs: pip install 'companion[openai-whisper]'") from exc
        torch.set_num_threads(options.threads)
        self.options = options
        self.whisper = whisper
        name = options.model
        if not name:
            from .convert import bundled_openai_checkpoint

            name = str(bundled_openai_checkpoint(options.data_dir))
        elif Path(name).suffix == ".pt" and not Path(name).is_file():
            raise WeightsError(f"openai-whisper checkpoint {name} does not exist")
        self.model = whisper.load_model(name, device="cpu")

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        """Whisper's probability per language code for this audio (its encoder always takes 30 s)."""
        audio = self.whisper.pad_or_trim(np.ascontiguousarray(samples, dtype=np.float32))
        mel = self.whisper.log_mel_spectrogram(audio, n_mels=self.model.dims.n_mels).to(self.model.device)
        _tokens, probs = self.model.detect_language(mel)
        return {code: float(p) for code, p in probs.items()}

    def transcribe(self, samples: np.ndarray, language: str, prompt: str | None = None) -> Transcript:
        cap = token_cap(samples)
        result = self.model.transcribe(
            np.ascontiguousarray(samples, dtype=np.float32),
            language=language,
            beam_size=self.options.beam_size,
            fp16=False,
            temperature=0.0,
            condition_on_previous_text=False,
            verbose=None,
            sample_len=cap,
            initial_prompt=prompt or None,
        )
        found = [
            Segment(s["start"], s["end"], s["text"], s["avg_logprob"], s["no_speech_prob"], _loop_ratio(s["compression_ratio"], len(s["tokens"]), cap))
            for s in result["segments"]
        ]
        return _assemble(found, language)


def load_transcriber(options: AsrOptions) -> Transcriber:
    if options.engine == "openai-whisper":
        return OpenAIWhisper(options)
    return FasterWhisper(options)
