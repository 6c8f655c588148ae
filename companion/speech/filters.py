"""Whisper's known inventions on silence and noise, and how to spot them.

Whisper was trained on subtitled video: on silence or noise it writes the
credits and captions it saw there.  A segment is set aside (never dropped:
the caller keeps it with the reason) when the model's own scores say it
heard no speech or only guessed, and a *sentence* is set aside when the
whole of it is one of the known phrases.  A phrase inside a real sentence
("... niet uitstellen tot de volgende keer.") is speech and stays.  A
repetition loop is collapsed to one copy of the phrase, the words before
the loop kept.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

# Reason codes, as the advice list's set-aside entries carry them (advice/aside.py).
SILENCE = "silence"
LOW_CONFIDENCE = "low_confidence"
PHRASE_LIST = "phrase_list"

# Whisper's own defaults: no_speech over 0.6 *and* a low log-probability means silence.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# Below this the words are guesses even if the model thinks there was speech.
VERY_LOW_LOGPROB = -1.5
MAX_COMPRESSION_RATIO = 2.4

# Whole sentences Whisper writes on silence, as regular expressions over the
# normalised sentence (lower case, no punctuation).  A sentence is set aside only
# when it is made of these alone (joined by "en"/"and"); see ``phrase_sentence``.
CREDIT_OPENERS = (
    r"ondertiteld door",
    r"ondertiteling door",
    r"ondertitels (?:ingediend )?door",
    r"ondertiteling ingediend door",
    r"subtitles by",
    r"subtitled by",
    r"captions by",
    r"transcribed by",
    r"transcription by",
)
# A credit line names someone after its opener: at most this many words.
CREDIT_NAME_WORDS = 6
WHOLE_PHRASES = (
    r"(?:de )?amara org(?: gemeenschap| community)?",
    r"(?:ondertiteling )?(?:tv gelderland|npo|nicam)(?: \d+)?",
    r"(?:thanks|thank you) (?:so much )?for watching",
    r"(?:hartelijk )?(?:bedankt|dank je wel|dank u wel|dankjewel|dank je|dank u) voor het (?:kijken|luisteren)",
    r"abonneer je(?: nu)? op (?:het|ons|mijn|dit|onze) kanaal",
    r"vergeet (?:je )?niet (?:om )?te abonneren",
    r"(?:please )?(?:like and )?subscribe(?: to (?:the|my|our) channel)?",
    r"like and subscribe",
    r"tot de volgende keer",
    r"tot (?:de )?volgende week",
    r"see you (?:next time|in the next video)",
)
# Whole-segment texts that are only ever noise labels.
NOISE_LABELS = {"muziek", "music", "applaus", "applause", "gelach", "laughter", "stilte", "silence", "geluid", "noise"}
_BRACKETED = re.compile(r"^[\[\(\*♪].*[\]\)\*♪]$")
# Words that may join two phrases in one sentence ("Bedankt voor het kijken en tot de volgende keer").
_JOINERS = r"(?:en|and|allemaal|iedereen|everyone|weer|dan)"
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def _units() -> str:
    credits = "|".join(rf"{opener}(?: \w+){{0,{CREDIT_NAME_WORDS}}}" for opener in CREDIT_OPENERS)
    return rf"(?:{credits}|{'|'.join(WHOLE_PHRASES)})"


_PHRASE_SENTENCE = re.compile(rf"(?:{_JOINERS} )*{_units()}(?: (?:{_JOINERS} )*{_units()})*(?: {_JOINERS})*")


def phrase_sentence(sentence: str) -> bool:
    """Whether the whole sentence is made of Whisper's known inventions (credits, "bedankt voor het kijken")."""
    stripped = sentence.strip()
    if not stripped or _BRACKETED.match(stripped):
        return bool(stripped)
    norm = normalise(stripped)
    if not norm:
        return True  # only marks ("♪", "..."): no words to keep
    return norm in NOISE_LABELS or _PHRASE_SENTENCE.fullmatch(norm) is not None


def sentences(text: str) -> list[str]:
    """Whisper's sentences: split after . ! ? (and the closing ♪ of a caption)."""
    return [p.strip() for p in re.split(r"(?<=[.!?♪\]\)])\s+", text.strip()) if p.strip()]


def split_phrases(text: str) -> tuple[str, list[str]]:
    """``text`` without its sentences that are wholly known phrases, and those sentences.

    Besides whole sentences, a sentence's tail from a credit opener onwards is
    cut when that tail is a whole credit ("Dat helpt. Ondertiteling door ..."
    without the full stop Whisper sometimes leaves out).
    """
    kept: list[str] = []
    removed: list[str] = []
    for sentence in sentences(text):
        if phrase_sentence(sentence):
            removed.append(sentence)
            continue
        head, tail = _credit_tail(sentence)
        if tail:
            removed.append(tail)
        if head:
            kept.append(head)
    return " ".join(kept), removed


_OPENER_START = re.compile(rf"\b(?:{'|'.join(CREDIT_OPENERS)})\b", re.IGNORECASE)


def _credit_tail(sentence: str) -> tuple[str, str]:
    for match in _OPENER_START.finditer(sentence):
        if match.start() == 0:
            continue
        tail = sentence[match.start():]
        if phrase_sentence(tail):
            return sentence[: match.start()].rstrip(" ,;:-"), tail
    return sentence, ""


def is_repetition_loop(text: str, min_repeats: int = 4) -> bool:
    """One word or short phrase over and over, anywhere in the text ("Zeg dat je dat je dat je dat je ...")."""
    words = normalise(text).split()
    for n in range(1, 5):
        for offset in range(min(n, len(words))):
            run = best = 1
            for i in range(offset + n, len(words) - n + 1, n):
                if words[i : i + n] == words[i - n : i]:
                    run += 1
                    best = max(best, run)
                else:
                    run = 1
            if best >= min_repeats and best * n >= 0.5 * len(words):
                return True
    return False


# A phrase of this many words or more repeated twice in a row is a loop; shorter
# phrases need three copies ("heel heel goed" is speech, "dat je dat je dat je" is not).
LONG_PHRASE_WORDS = 4
SHORT_PHRASE_COPIES = 3
WORD_COPIES = 4  # "dat dat dat" is a stutter the splitter tidies; four of a word is a loop


def _find_loop(keys: list[str]) -> tuple[int, int, int] | None:
    """The loop covering most words: (start, phrase length, full copies)."""
    best: tuple[int, int, int] | None = None
    best_cover = 0
    count = len(keys)
    for n in range(1, count // 2 + 1):
        i = 0
        while i + 2 * n <= count:
            copies = 1
            while i + (copies + 1) * n <= count and keys[i + copies * n : i + (copies + 1) * n] == keys[i : i + n]:
                copies += 1
            needed = 2 if n >= LONG_PHRASE_WORDS else SHORT_PHRASE_COPIES if n > 1 else WORD_COPIES
            if copies >= needed and any(keys[i : i + n]) and copies * n > best_cover:
                best, best_cover = (i, n, copies), copies * n
            i += 1
    return best


def collapse_loops(text: str) -> str:
    """Each run of a repeated phrase once: "Zoek een maatje en zoek een maatje en zoek een maatje." ->
    "Zoek een maatje."; the words before a loop stay ("Praat met haar dat je dat je dat je" -> "Praat met haar dat je")."""
    words = text.split()
    ending = text.rstrip()[-1:] if text.rstrip()[-1:] in ".!?" else ""
    changed = False
    for _ in range(len(words)):
        keys = [normalise(w) for w in words]
        loop = _find_loop(keys)
        if loop is None:
            break
        start, n, copies = loop
        end = start + copies * n
        # A last copy cut short ("... en zoek een maatje in het team.") is the copy that ends the
        # sentence: it is kept instead of the first, so no "en" dangles at the end.
        partial = 0
        while partial < n and end + partial < len(words) and keys[end + partial] == keys[start + partial]:
            partial += 1
        if partial == len(words) - end and partial >= n / 2:
            kept = words[end : end + partial]
            if start == 0 and words[start][:1].isupper():
                kept = [kept[0][:1].upper() + kept[0][1:]] + kept[1:]
            words = words[:start] + kept
        else:
            words = words[: start + n] + words[end:]
        changed = True
    if not changed:
        return text
    out = " ".join(words)
    if ending and out[-1:] not in ".!?":
        out = out.rstrip(",;:") + ending
    return out


def is_known_hallucination(text: str) -> bool:
    """Whether the whole text is Whisper's invention (every sentence a known phrase, or no words at all)."""
    stripped = text.strip()
    if not stripped:
        return True
    return not split_phrases(stripped)[0]


@dataclass(frozen=True)
class SegmentScores:
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def score_reason(seg: SegmentScores) -> str | None:
    """Why the model's own scores say this segment is no speech (a reason code), or None."""
    if seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < LOW_LOGPROB:
        return SILENCE
    # A loop where the model itself doubts there was speech is what Whisper writes on hiss
    # ("Zeg dat je dat je ..." on 3 s of noise): set aside, not collapsed into an item.
    if seg.no_speech_prob > NO_SPEECH_PROB and seg.compression_ratio > MAX_COMPRESSION_RATIO:
        return SILENCE
    if seg.avg_logprob < VERY_LOW_LOGPROB:
        return LOW_CONFIDENCE
    return None


def keep_segment(seg: SegmentScores) -> bool:
    """Whether anything of the segment stays in the text (loops are collapsed, not refused)."""
    return score_reason(seg) is None and not is_known_hallucination(seg.text)
