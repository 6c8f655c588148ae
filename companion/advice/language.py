"""A language's advice cues, read from ``prompts/advice/<code>.toml``.

The splitter (``splitter.py``) holds only the mechanism; what Dutch or
English speakers say when they open, close, hedge or enumerate an advice is
data, one file per language, so that a group can adapt it without touching
code.  The file's own comments describe each key.

Phrases may hold ``{slot}`` placeholders, filled with every word of that slot
(``[slots]`` in the same file): ``"{modal} {you}"`` with ``modal = ["zou",
"kun"]`` and ``you = ["je", "u"]`` stands for "zou je", "zou u", "kun je" and
"kun u".  One line names a family of openers instead of listing each.

Errors: :class:`LanguageFileError` (a ``ValueError``) for a file that is not
valid TOML, misses a key, or holds a pattern that is not a regular
expression; the message names the file and the key.
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
from dataclasses import dataclass

from ..shipped import PROMPTS

ADVICE_PROMPTS = PROMPTS / "advice"

_SLOT = re.compile(r"\{(\w+)\}")


class LanguageFileError(ValueError):
    pass


@dataclass(frozen=True)
class AdviceLanguage:
    """Everything the splitter knows about one language (see ``prompts/advice/nl.toml``)."""

    code: str
    hints: frozenset[str]
    fillers: str  # regular expression of one filler word ("eh", "uhm")
    keep_doubled: frozenset[str]
    abbreviations: frozenset[str]
    leading_noise: tuple[str, ...]
    openers: dict[str, tuple[str, ...]]  # family -> phrases; a segment starting with one opens an advice
    imperatives: tuple[str, ...]
    enumeration_numbers: tuple[str, ...]  # "Eén, ..." / "Twee: ..." opens an advice
    weak: tuple[str, ...]
    continuation: tuple[str, ...]
    elaboration_words: frozenset[str]
    back_pointers: frozenset[str]
    determiners: frozenset[str]  # back pointers that may also introduce a new noun ("dat boek")
    subject_pronouns: frozenset[str]
    adverbs: frozenset[str]
    additive_words: frozenset[str]
    mid_sentence: tuple[str, ...]  # regular expressions
    closed_mid: tuple[str, ...]  # regular expressions
    question_starts: tuple[str, ...]  # regular expressions: a question starting so proposes something
    hedges: tuple[str, ...]  # regular expressions of a clause that only softens what follows it
    lead_in_tails: tuple[str, ...]
    lead_in_words: frozenset[str]
    backchannel: frozenset[str]
    talk: tuple[str, ...]  # regular expressions of a whole sentence that is talk around the advice
    no_advice: tuple[str, ...]  # regular expressions of a clause saying there is no advice
    phrase_list: tuple[str, ...]  # regular expressions of what Whisper writes over silence
    conjunctions: tuple[str, ...]

    @property
    def all_openers(self) -> tuple[str, ...]:
        return tuple(itertools.chain.from_iterable(self.openers.values()))


def expand(phrases: list[str], slots: dict[str, list[str]], where: str) -> tuple[str, ...]:
    """Every phrase with its ``{slot}`` placeholders filled in every way, in order, without repeats."""
    out: list[str] = []
    for phrase in phrases:
        names = _SLOT.findall(phrase)
        missing = [n for n in names if n not in slots]
        if missing:
            raise LanguageFileError(f"{where}: unknown slot {{{missing[0]}}} in {phrase!r}")
        parts = _SLOT.split(phrase)  # literal, name, literal, name, ...
        for combo in itertools.product(*(slots[n] for n in names)):
            text = "".join(p if i % 2 == 0 else combo[i // 2] for i, p in enumerate(parts))
            out.append(re.sub(r"\s+", " ", text).strip())
    return tuple(dict.fromkeys(o for o in out if o))


def available() -> tuple[str, ...]:
    """The language codes with a file in ``prompts/advice/``."""
    return tuple(sorted(p.stem for p in ADVICE_PROMPTS.glob("*.toml")))


def check_all() -> list[str]:
    """Load every language file; raise :class:`LanguageFileError` for the first with a mistake."""
    codes = list(available())
    if not codes:
        raise LanguageFileError(f"no advice cue files in {ADVICE_PROMPTS}")
    for code in codes:
        load(code)
    return codes


@functools.lru_cache(maxsize=None)
def load(code: str) -> AdviceLanguage:
    path = ADVICE_PROMPTS / f"{code}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LanguageFileError(f"no advice cues for language {code!r} ({path})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LanguageFileError(f"{path}: {exc}") from exc
    return parse(code, data, str(path))


def parse(code: str, data: dict, where: str = "<advice language>") -> AdviceLanguage:
    slots = {k: [str(w) for w in v] for k, v in data.get("slots", {}).items()}

    def get(key: str, table: dict | None = None) -> list[str]:
        source = data if table is None else table
        if key not in source:
            raise LanguageFileError(f"{where}: missing key {key!r}")
        value = source[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LanguageFileError(f"{where}: {key!r} must be a list of strings")
        return value

    def words(key: str) -> tuple[str, ...]:
        return expand([w.lower() for w in get(key)], slots, f"{where} [{key}]")

    def patterns(key: str) -> tuple[str, ...]:
        found = expand(get(key), slots, f"{where} [{key}]")
        for pattern in found:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise LanguageFileError(f"{where}: {key!r}: {pattern!r} is no regular expression ({exc})") from exc
        return found

    openers_table = data.get("openers")
    if not isinstance(openers_table, dict) or not openers_table:
        raise LanguageFileError(f"{where}: missing table [openers]")
    openers = {
        family: expand([w.lower() for w in get(family, openers_table)], slots, f"{where} [openers.{family}]")
        for family in openers_table
    }
    fillers = data.get("fillers")
    if not isinstance(fillers, str):
        raise LanguageFileError(f"{where}: 'fillers' must be a regular expression")
    return AdviceLanguage(
        code=code,
        hints=frozenset(words("hints")),
        fillers=fillers,
        keep_doubled=frozenset(words("keep_doubled")),
        abbreviations=frozenset(words("abbreviations")),
        leading_noise=words("leading_noise"),
        openers=openers,
        imperatives=words("imperatives"),
        enumeration_numbers=words("enumeration_numbers"),
        weak=words("weak"),
        continuation=words("continuation"),
        elaboration_words=frozenset(words("elaboration_words")),
        back_pointers=frozenset(words("back_pointers")),
        determiners=frozenset(words("determiners")),
        subject_pronouns=frozenset(words("subject_pronouns")),
        adverbs=frozenset(words("adverbs")),
        additive_words=frozenset(words("additive_words")),
        mid_sentence=patterns("mid_sentence"),
        closed_mid=patterns("closed_mid"),
        question_starts=patterns("question_starts"),
        hedges=patterns("hedges"),
        lead_in_tails=words("lead_in_tails"),
        lead_in_words=frozenset(words("lead_in_words")),
        backchannel=frozenset(words("backchannel")),
        talk=patterns("talk"),
        no_advice=patterns("no_advice"),
        phrase_list=patterns("phrase_list"),
        conjunctions=words("conjunctions"),
    )
