"""From the advice step's utterances to advice items: one item per advice.

Pure rules, no model: Whisper's punctuation gives sentences, openers tell
where a new advice begins, and pauses tell where a sentence that Whisper cut
in two goes on.  What a language's speakers say to open, close, hedge or
enumerate an advice is data in ``prompts/advice/<language>.toml`` (read by
``language.py``); this module holds only the mechanism.  A wrong split is
fixed by editing that file and adding a round to ``tests/data/advice/``.

The unit the rules work on is a *segment*: a sentence, or the part of a
sentence after an additive opener ("..., en daarnaast zou je ook ...").  A
segment either opens a new advice (it starts with an opener) or goes on with
the one before it (it refers back, explains, or carries no opener at all).

Nothing said is dropped.  What is no advice comes back as an item with
``aside`` set to a reason code, in spoken order, for the caller to keep
apart from the list:

- ``"no_advice"``: talk around the advice ("Dank je, Tom.") or a statement
  that there is none ("Ik heb eigenlijk geen advies.");
- ``"phrase_list"``: a sentence (or the whole rest of one) that is entirely
  a known Whisper invention over silence ("Bedankt voor het kijken!");
- ``"repetition"``: a sentence Whisper wrote twice in a row.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from . import language as languages
from .language import AdviceLanguage

# A pause this long between two utterances of one speaker ends a sentence
# even when Whisper left it open; shorter, an open sentence goes on.
JOIN_PAUSE = 1.5
# After a pause this long a speaker's next sentence opens a new advice unless
# it plainly refers back (a continuation).
NEW_ADVICE_PAUSE = 4.0
# Longest phrase (in words) a repetition loop is searched for.
MAX_LOOP_WORDS = 16

# Opener families after which "dan", "daarna", "eerst" ... do not make an
# elaboration: "Wat als je daarna evalueert?" is a proposal of its own.
_NO_ELABORATION = frozenset({"question", "closer", "enumeration", "building_on", "experience"})
_ADDITIVE_FAMILIES = frozenset({"closer", "enumeration", "building_on", "addition"})
# Families that say an advice came before them: words before one are an advice of their own.
_FOLLOWS_AN_ADVICE = frozenset({"closer", "addition"})


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class Utterance:
    """One stretch of one speaker's speech, as the transcription hands it over."""

    id: str
    speaker_id: str | None
    start: float  # seconds since the step began
    end: float
    text: str


@dataclass
class AdviceItem:
    speaker_id: str | None
    start: float
    end: float
    text: str
    utterance_ids: list[str] = field(default_factory=list)
    # True when the item's first words carry no opener: a live builder may
    # append it to the same speaker's previous item.
    continues: bool = False
    # Opens with a bare imperative that adds nothing ("Vraag wat zij wil."): it
    # spells out the speaker's previous item if that was a proposal.
    may_spell_out: bool = False
    # Not advice: the reason code ("no_advice", "phrase_list", "repetition").
    # The caller keeps such an item apart from the list, never drops it.
    aside: str | None = None


@dataclass
class _Segment:
    text: str
    start: float
    end: float
    utterance_id: str
    opens: bool  # starts a new advice
    refers_back: bool  # plainly goes on with the advice before
    has_cue: bool  # an opener, even if it elaborates ("Ik zou dan ...")
    after_long_pause: bool = False
    imperative: bool = False
    additive: bool = False
    lead_in: bool = False  # only announces ("Mijn tip.", "Ik heb er twee."): the advice follows
    family: str | None = None  # the opener's family
    no_advice: bool = False  # says there is no advice ("Ik heb eigenlijk geen advies.")
    aside: str | None = None  # set aside before any rule looks at it (phrase list, repetition)
    glued: bool = False  # holds words of a later utterance too (Whisper cut the sentence)


@dataclass(frozen=True)
class Cue:
    opens: bool  # starts a new advice
    refers_back: bool  # plainly goes on with the advice before
    has_cue: bool  # carries an opener, even a weak or elaborating one
    imperative: bool = False  # the opener is a bare imperative ("Vraag ...")
    additive: bool = False  # says it adds another advice ("ook", "daarnaast", "ten slotte")
    family: str | None = None  # the opener's family ("closer", "enumeration", ...)


# ------------------------------------------------------------------ language
def _language(code: str | None) -> AdviceLanguage:
    if code not in languages.available():
        code = "nl"
    return languages.load(code)


def detect_language(texts: Iterable[str]) -> str:
    """The language with a cue file whose common words occur most in ``texts`` (ties: Dutch)."""
    words = re.findall(r"[a-zà-ÿ']+", " ".join(texts).lower())
    best, best_score = "nl", -1
    for code in sorted(languages.available(), key=lambda c: c != "nl"):
        hints = languages.load(code).hints
        score = sum(w in hints for w in words)
        if score > best_score:
            best, best_score = code, score
    return best


# ------------------------------------------------------------------ cleaning
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[\w'’-]+")


def collapse_loops(text: str, keep_doubled: frozenset[str] = frozenset()) -> str:
    """A phrase said (or written by Whisper) twice or more in a row, kept once.

    "Zoek een maatje in het team en zoek een maatje in het team." gives "Zoek
    een maatje in het team."; "ik zou, ik zou eerst" gives "ik zou eerst".  A
    joining "en"/"and" or comma between the copies goes with them.  Single
    words in ``keep_doubled`` stay doubled ("dat dat").
    """
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(text)]
    words = [t[2] for t in tokens]
    kept: list[int] = []  # indices of the words that stay
    cuts: list[tuple[int, int]] = []  # character ranges that go
    i = 0
    while i < len(words):
        skip = 0
        for size in range(min(MAX_LOOP_WORDS, len(kept)), 0, -1):
            tail = [words[k] for k in kept[-size:]]
            if size == 1 and tail[0] in keep_doubled:
                continue
            j = i + 1 if size > 1 and words[i] in ("en", "and") else i
            if words[j : j + size] != tail:
                continue
            if re.search(r"[.!?;:]", text[tokens[kept[-size]][0] : tokens[j + size - 1][1]]):
                continue  # across a sentence's end: sentences said twice are handled per sentence
            skip = j + size - i
            cuts.append((tokens[kept[-1]][1], tokens[j + size - 1][1]))
            break
        if skip:
            i += skip
        else:
            kept.append(i)
            i += 1
    if not cuts:
        return text
    out, last = [], 0
    for start, end in sorted(cuts):
        start = max(start, last)
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    return "".join(out)


def clean_text(text: str, language: str = "nl") -> str:
    """Fillers, stutters and repeated words out; the words as said otherwise."""
    lang = _language(language)
    text = text.replace("\u2026", "...").replace("...", ", ")
    text = re.sub(rf"(?<![\w'])(?:{lang.fillers})(?![\w'])[,.]?", " ", text, flags=re.IGNORECASE)
    # Whisper marks stutters with a dash: "ik w- wil" -> "ik wil".
    text = re.sub(r"(?<![\w])\w{1,4}-\s+(?=\w)", "", text)
    for _ in range(4):  # a loop with a stutter inside each copy needs a second pass
        collapsed = collapse_loops(text, lang.keep_doubled)
        if collapsed == text:
            break
        text = collapsed
    text = _WS.sub(" ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by a removed filler
    text = re.sub(r"^[\s,.;:]+", "", text)
    text = re.sub(r",\s*([.!?])", r"\1", text)
    return text.strip()


def _strip_noise(words: str, lang: AdviceLanguage) -> str:
    lowered = words.lower()
    changed = True
    while changed:
        changed = False
        for noise in lang.leading_noise:
            if lowered.startswith(noise + " ") or lowered.startswith(noise + ","):
                lowered = lowered[len(noise) + 1 :].lstrip(" ,")
                changed = True
    return lowered


@functools.lru_cache(maxsize=256)
def _longest_first(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(phrases, key=len, reverse=True))


def _starts_with(lowered: str, phrases: Sequence[str]) -> str | None:
    for phrase in _longest_first(tuple(phrases)):
        if lowered == phrase or (lowered.startswith(phrase) and not lowered[len(phrase)].isalnum()
                                 and lowered[len(phrase)] not in "'’-"):
            return phrase
    return None


def _opener(lowered: str, lang: AdviceLanguage) -> tuple[str, str] | None:
    """The longest opener ``lowered`` starts with, and its family."""
    best: tuple[str, str] | None = None
    for family, phrases in lang.openers.items():
        found = _starts_with(lowered, phrases)
        if found and (best is None or len(found) > len(best[0])):
            best = (found, family)
    return best


def _without_inserts(lowered: str, lang: AdviceLanguage) -> str:
    """The words with additive adverbs among the second to fourth taken out:
    "wat je daarnaast kunt doen" reads as the opener "wat je kunt"."""
    words = lowered.split(" ")
    kept = words[:1] + [w for w in words[1:4] if w.strip(",") not in lang.additive_words] + words[4:]
    return " ".join(kept)


def _normal(text: str, lang: AdviceLanguage, keep: str = "") -> str:
    """Lower case, leading noise words off, punctuation (but ``keep``) as spaces."""
    kept = re.escape(keep)
    lowered = _strip_noise(re.sub(rf"[^\w\s'’,{kept}-]", " ", text).strip(), lang)
    return _WS.sub(" ", lowered).strip(" ,")


def _hedge_rest(text: str, lang: AdviceLanguage) -> str | None:
    """What follows "maar" after a clause that only softens it ("Ik weet niet of het helpt, maar ...")."""
    match = re.search(r",\s*(?:\w+,\s*)?(?:maar|but)\s+", text, re.IGNORECASE)
    if not match:
        return None
    clause = _normal(text[: match.start()], lang)
    clause = re.sub(r",", "", clause)
    if any(re.fullmatch(h, clause) for h in lang.hedges):
        return text[match.end() :]
    return None


def classify(text: str, language: str) -> Cue:
    """What one segment's first words say about where an advice begins."""
    lang = _language(language)
    rest = _hedge_rest(text, lang)
    if rest is not None:
        # A hedge before "maar" marks what follows as a proposal, whatever its words.
        inner = classify(rest, language)
        # Never a mere spelling-out of the advice before: a hedge announces a proposal of its own.
        return Cue(True, False, True, False, inner.additive, inner.family or "hedge")
    lowered = _normal(text, lang)
    words = re.findall(r"[\w']+", lowered)
    additive = any(w in lang.additive_words for w in words[:4])
    # "Eén, plan ..." / "Twee: schrijf ..." / "1. ..."
    numbered = re.match(r"^\s*([\w]+)\s*[,:.]\s*\S", _strip_noise(text.strip(), lang))
    if numbered and numbered.group(1).lower() in lang.enumeration_numbers and words[1:]:
        return Cue(True, False, True, additive=True, family="enumeration")
    if _starts_with(lowered, lang.continuation):
        return Cue(False, True, False)
    found = _opener(lowered, lang)
    if found is None:
        reduced = _without_inserts(lowered, lang)
        if reduced != lowered and _opener(reduced, lang) is not None:
            lowered, found, additive = reduced, _opener(reduced, lang), True
    imperative = False
    family = None
    if found is not None:
        cue, family = found
    else:
        cue = _starts_with(lowered, lang.imperatives)
        imperative = cue is not None
    if cue is None and text.rstrip().endswith("?"):
        match = next((m for m in (re.match(q, lowered) for q in lang.question_starts) if m), None)
        cue = match.group(0) if match else None
        family = "question" if cue else None
    if cue is None:
        weak = _starts_with(lowered, lang.weak) is not None
        return Cue(False, False, weak)
    additive = additive or family in _ADDITIVE_FAMILIES
    following = re.findall(r"[\w']+", lowered[len(cue):])
    # "Geef ze een rol" points back; "Lees dat boek" (a determiner before its noun) does not.
    points_back = bool(following) and following[0] in lang.back_pointers and not (
        imperative and following[0] in lang.determiners and len(following) > 1 and following[1] not in lang.adverbs
    )
    if family not in _NO_ELABORATION and (any(w in lang.elaboration_words for w in following[:3]) or points_back):
        return Cue(False, True, True, imperative, additive, family)
    if family == "question" and points_back and cue.split()[-1] in lang.subject_pronouns:
        return Cue(False, True, True, False, additive, family)  # "Heb je dat al geprobeerd?"
    return Cue(True, False, True, imperative, additive, family)


def opens_as_proposal(text: str, language: str) -> bool:
    """Whether an item begins as a proposal ("Ik zou ...", "My advice ..."), not an imperative."""
    lang = _language(language)
    first = _sentences(clean_text(text, language), lang)[:1]
    if not first:
        return False
    cue = classify(first[0], language)
    return cue.has_cue and not cue.imperative


def is_lead_in(text: str, language: str) -> bool:
    """A sentence that only announces an advice: "Mijn tip.", "Ik zou het anders doen.", "Ik heb er twee."."""
    lang = _language(language)
    lowered = _normal(text, lang).replace(",", " ")
    lowered = _WS.sub(" ", lowered).strip()
    words = re.findall(r"[\w'’-]+", lowered)
    if not words:
        return False
    found = _opener(lowered, lang)
    if found is not None and len(found[0].split()) >= 2 and lowered[len(found[0]):].strip() in lang.lead_in_tails:
        return True  # a one-word opener ("Probeer.") is itself the advice
    return len(words) <= 10 and all(w in lang.lead_in_words for w in words)


def has_cue(text: str, language: str) -> bool:
    """Whether any sentence of ``text`` carries an opener."""
    utt = Utterance("probe", None, 0.0, 1.0, text)
    return any(seg.has_cue for seg in _segments([utt], language))


def _is_backchannel(text: str, lang: AdviceLanguage, names: frozenset[str] = frozenset()) -> bool:
    """Talk around the advice: only words of thanks, agreement and turn-giving (and names), or a talk pattern."""
    words = re.findall(r"[\w'é]+", text.lower())
    allowed = lang.backchannel | names
    if bool(words) and len(words) <= 12 and all(w in allowed for w in words):
        return True
    lowered = _WS.sub(" ", _strip_noise(re.sub(r"[^\w\s'’?-]", " ", text).strip(), lang)).strip()
    return bool(lowered) and any(re.fullmatch(p, lowered) for p in lang.talk)


def _says_no_advice(text: str, lang: AdviceLanguage) -> bool:
    """A clause from the sentence's start to a comma or its end says there is no advice."""
    lowered = _normal(text, lang, keep=".;:!?")
    for pattern in lang.no_advice:
        match = re.match(rf"(?:{pattern})(?=\s*(?:$|[,.;:!?]))", lowered)
        if match:
            rest = lowered[match.end():].lstrip(" ,.;:!?")
            # "..., maar misschien kun je ..." or "..., wel een vraag: heb je ...?" still holds an advice.
            clauses = [c.strip() for c in re.split(r"[,;:]", rest) if c.strip()]
            return not any(classify(re.sub(r"^(?:maar|but)\s+", "", c), lang.code).opens for c in clauses)
    return False


# ------------------------------------------------------------------ phrase list
def _phrase_text(text: str) -> str:
    return _WS.sub(" ", re.sub(r"[^\w\s.'’-]", " ", text.lower())).strip(" .")


def _phrase_list_cut(sentence: str, lang: AdviceLanguage) -> int | None:
    """Where the part of ``sentence`` that is entirely a listed phrase begins (0: all of it), or None.

    Only the whole sentence or its whole remainder after a comma counts: a
    real advice that contains the words is never cut.
    """
    starts = [0] + [m.end() for m in re.finditer(r"[,;:]\s*", sentence)]
    for start in starts:
        tail = _phrase_text(sentence[start:])
        if tail and any(re.fullmatch(p, tail) for p in lang.phrase_list):
            return start
    return None


# ------------------------------------------------------------------ splitting
def _sentences(text: str, lang: AdviceLanguage) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in re.split(r"(?<=[.!?])\s+", text):
        if current:
            last_word = re.findall(r"([\w.]+)\.$", current)
            if last_word and last_word[0].lower() in lang.abbreviations:
                current = f"{current} {piece}"
                continue
            parts.append(current)
        current = piece
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _mid_sentence_parts(sentence: str, lang: AdviceLanguage) -> list[str]:
    cues = "|".join(lang.mid_sentence)
    if not cues:
        return [sentence]
    conj = "(?:" + "|".join(re.escape(c) for c in lang.conjunctions) + ")" if lang.conjunctions else "(?!)"
    # A split needs a comma, semicolon or a conjunction before the opener, and
    # real words on both sides.  Whisper sometimes puts the comma after the
    # opener instead ("... immediately in addition, keep notes"): an opener
    # closed by a comma needs nothing before it.
    closed = "|".join(lang.closed_mid) or "(?!)"
    pattern = re.compile(
        rf"(?:[,;]\s*(?:{conj}\s+)?|\s{conj}\s+)(?=(?:{cues})(?![\w]))|\s(?=(?:{closed}),)", re.IGNORECASE
    )
    parts, last = [], 0
    for match in pattern.finditer(sentence):
        head = sentence[last : match.start()].strip()
        if len(re.findall(r"\w+", head)) < 3:
            continue
        if not parts and _is_intro(head, lang):
            continue  # "Aansluitend op wat Anne zei, zou je ook ...": one advice
        parts.append(head)
        last = match.end()
    parts.append(sentence[last:].strip())
    return [p for p in parts if p]


def _is_intro(clause: str, lang: AdviceLanguage) -> bool:
    """A clause that only builds on another speaker ("Aansluitend op wat Anne zei")."""
    found = _opener(_normal(clause, lang), lang)
    return found is not None and found[1] == "building_on"


def _tidy(text: str, lang: AdviceLanguage) -> str:
    text = text.strip(" ,;")
    # The conjunction that joined two advices belongs to neither.
    if lang.conjunctions:
        text = re.sub(rf"^(?:{lang.conjunctions[0]})\s+(?=\w)", "", text, flags=re.IGNORECASE)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return default


def as_utterance(obj: Any) -> Utterance:
    """Accept our dataclass, the speech module's utterance or a dict."""
    if isinstance(obj, Utterance):
        return obj
    return Utterance(
        id=str(_get(obj, "id", "utterance_id", default="")),
        speaker_id=_get(obj, "speaker_id", "participant_id", "speaker"),
        start=float(_get(obj, "start", default=0.0)),
        end=float(_get(obj, "end", default=0.0)),
        text=str(_get(obj, "text", default="") or ""),
    )


def _runs(utterances: Sequence[Utterance]) -> list[list[Utterance]]:
    """Consecutive utterances of one speaker: a turn."""
    runs: list[list[Utterance]] = []
    for utt in utterances:
        if runs and runs[-1][-1].speaker_id == utt.speaker_id:
            runs[-1].append(utt)
        else:
            runs.append([utt])
    return runs


def _segments(run: Sequence[Utterance], language: str) -> list[_Segment]:
    """Sentences of a turn, with Whisper's mid-sentence cuts glued back; set-aside pieces marked."""
    lang = _language(language)
    # text, start, end, utterance id, after long pause, aside reason
    pieces: list[tuple[str, float, float, str, bool, str | None]] = []
    open_sentence = False
    previous_end: float | None = None
    glued_ids: set[str] = set()
    for utt in run:
        text = clean_text(utt.text, language)
        if not text:
            continue
        pause = utt.start - previous_end if previous_end is not None else 0.0
        previous_end = utt.end
        sentences: list[tuple[str, str | None]] = []
        for sentence in _sentences(text, lang):
            cut = _phrase_list_cut(sentence, lang)
            if cut is not None:
                head, tail = sentence[:cut].strip(" ,;:"), sentence[cut:].strip()
                if head:
                    sentences.append((head, None))
                sentences.append((tail, "phrase_list"))
                continue
            kept = [s for s, reason in sentences if reason is None] or [p[0] for p in pieces if p[5] is None][-1:]
            if kept and _same_words(sentence, kept[-1]):
                sentences.append((sentence, "repetition"))  # Whisper wrote the same sentence twice
                continue
            sentences.append((sentence, None))
        if not any(reason is None for _, reason in sentences):
            open_sentence = False
        # Spread the utterance's time over its sentences by length.
        total = sum(len(s) for s, _ in sentences) or 1
        t = utt.start
        first_kept = True
        for sentence, reason in sentences:
            span = (utt.end - utt.start) * len(sentence) / total
            joinable = [i for i, p in enumerate(pieces) if p[5] is None]
            if reason is None and first_kept and open_sentence and pause < JOIN_PAUSE and joinable:
                k = joinable[-1]
                prev = pieces[k]
                glued = sentence[0].lower() + sentence[1:] if sentence[:2] not in ("I ", "I'") else sentence
                pieces[k] = (f"{prev[0]} {glued}", prev[1], t + span, prev[3], prev[4], None)
                glued_ids.add(prev[3])
            else:
                pieces.append((sentence, t, t + span, utt.id, first_kept and pause >= NEW_ADVICE_PAUSE, reason))
            if reason is None:
                first_kept = False
            t += span
        kept_sentences = [s for s, reason in sentences if reason is None]
        if kept_sentences:
            open_sentence = kept_sentences[-1][-1] not in ".!?"

    segments: list[_Segment] = []
    for text, start, end, utt_id, long_pause, reason in pieces:
        if reason is not None:
            segments.append(_Segment(text, start, end, utt_id, False, False, False, aside=reason))
            continue
        parts = _mid_sentence_parts(text, lang)
        total = sum(len(p) for p in parts) or 1
        t = start
        for i, part in enumerate(parts):
            span = (end - start) * len(part) / total
            cue = classify(part, language)
            if i > 0:
                cue = Cue(True, False, True, additive=True)  # a mid-sentence opener is by construction an opening
            segments.append(
                _Segment(part, t, t + span, utt_id, cue.opens, cue.refers_back, cue.has_cue, long_pause and i == 0,
                         lead_in=is_lead_in(part, language), imperative=cue.imperative, additive=cue.additive,
                         no_advice=not cue.opens and _says_no_advice(part, lang), glued=utt_id in glued_ids,
                         family=cue.family)
            )
            t += span
    return segments


def _new_item(speaker_id: str | None, segs: Sequence[_Segment], continues: bool, aside: str | None = None) -> AdviceItem:
    return AdviceItem(
        speaker_id=speaker_id,
        start=round(segs[0].start, 2),
        end=round(segs[-1].end, 2),
        text=" ".join(s.text for s in segs),
        utterance_ids=list(dict.fromkeys(s.utterance_id for s in segs)),
        continues=continues,
        aside=aside,
    )


def _same_words(a: str, b: str) -> bool:
    norm = lambda t: re.findall(r"\w+", t.lower())  # noqa: E731
    return len(norm(a)) >= 3 and norm(a) == norm(b)


def _is_hallucination(text: str, language: str = "nl") -> bool:
    """Whether the whole of ``text`` is a phrase Whisper writes over silence."""
    return _phrase_list_cut(text, _language(language)) == 0


def _extend(item: AdviceItem, seg: _Segment) -> None:
    item.text = f"{item.text} {seg.text}"
    item.end = round(seg.end, 2)
    if seg.utterance_id not in item.utterance_ids:
        item.utterance_ids.append(seg.utterance_id)


def split_turn(run: Sequence[Utterance], language: str, names: frozenset[str] = frozenset()) -> list[AdviceItem]:
    """The advice items of one speaker's turn, and (with ``aside`` set) what in it is no advice."""
    lang = _language(language)
    speaker = run[0].speaker_id if run else None
    out: list[AdviceItem] = []  # items and set-aside pieces, in spoken order
    items: list[AdviceItem] = []  # the advice items among them
    # Words before the first opener ("Ik herken dit wel.") introduce the advice that follows.
    preamble: list[_Segment] = []
    talk: list[_Segment] = []  # talk around the advice, waiting to be set aside as one piece
    said_none = False  # the turn said it has no advice: words without an opener after it are no advice either
    announced = False  # the segment before only announced: this one is its advice
    proposal = False  # the current item opened as a proposal ("Ik zou ...", "Mijn advies ...")

    parts: dict[int, list[_Segment]] = {}  # the segments each item is made of

    def make(segs: Sequence[_Segment], continues: bool, aside: str | None = None) -> AdviceItem:
        item = _new_item(speaker, segs, continues, aside)
        parts[id(item)] = list(segs)
        return item

    def extend(item: AdviceItem, seg: _Segment) -> None:
        _extend(item, seg)
        parts[id(item)].append(seg)

    def flush_talk() -> None:
        if talk:
            out.append(make(talk, False, aside="no_advice"))
            talk.clear()

    segments = _segments(run, language)
    for seg in segments:
        if seg.aside:
            flush_talk()
            out.append(make([seg], False, aside=seg.aside))
            continue
        if _is_backchannel(seg.text, lang, names):
            talk.append(seg)
            continue
        flush_talk()
        if seg.no_advice or (said_none and not seg.has_cue):
            # "Ik heb eigenlijk geen advies. Ik vond het vooral herkenbaar." is no advice, nor its preamble.
            if said_none and out and out[-1].aside == "no_advice" and not preamble:
                extend(out[-1], seg)
            else:
                out.append(make(preamble + [seg], False, aside="no_advice"))
            preamble = []
            said_none = True
            continue
        said_none = False
        spells_out = proposal and seg.imperative and not seg.additive and not seg.after_long_pause
        starts = (seg.opens or seg.lead_in or (seg.after_long_pause and not seg.refers_back)) \
            and not announced and not spells_out
        announced = seg.lead_in
        if starts or (not items and seg.has_cue):
            proposal = seg.has_cue and not seg.imperative
        if not items and preamble and starts and seg.family in _FOLLOWS_AN_ADVICE:
            # "Werk niet over. Ten slotte: ..." -- a closer or "daarnaast" says an advice came before.
            item = make(preamble, continues=True)
            items.append(item)
            out.append(item)
            preamble = []
        if not items:
            # The turn's first opener opens its first advice, even one that reads as
            # an elaboration ("Ik zou eerst ..."): there is nothing before it.
            if starts or seg.has_cue:
                # "Probeer daarna ..." opens this turn's list but may well go on with the
                # speaker's advice just before: a live builder decides.
                item = make(preamble + [seg], continues=seg.refers_back and not preamble)
                item.may_spell_out = not preamble and seg.imperative and not seg.additive
                items.append(item)
                out.append(item)
                preamble = []
            else:
                preamble.append(seg)
        elif starts:
            item = make([seg], continues=False)
            items.append(item)
            out.append(item)
        else:
            extend(items[-1], seg)
    if preamble:
        # No opener in the whole turn: it is one advice, perhaps the rest of an earlier one.
        item = make(preamble, continues=True)
        items.append(item)
        out.append(item)
    flush_talk()
    # A set-aside piece that is all of its utterances keeps the words exactly as Whisper wrote them.
    raw = {u.id: u.text.strip() for u in run}
    per_utterance: dict[str, int] = {}
    for seg in segments:
        per_utterance[seg.utterance_id] = per_utterance.get(seg.utterance_id, 0) + 1
    for item in out:
        if item.aside is None:
            item.text = _tidy(item.text, lang)
        elif not any(s.glued for s in parts[id(item)]) and all(
            sum(s.utterance_id == uid for s in parts[id(item)]) == per_utterance.get(uid) for uid in item.utterance_ids
        ):
            item.text = " ".join(raw[uid] for uid in item.utterance_ids)
    return [i for i in out if re.search(r"\w", i.text)]


def split_round(
    utterances: Iterable[Any], language: str | None = None, names: Iterable[str] = ()
) -> list[AdviceItem]:
    """All advice items of a round in the order they were said, with what is no advice marked.

    ``names``: the participants' names, so "Dank je, Tom." counts as talk
    around the advice, not as advice.  Items whose ``aside`` is set (a reason
    code) are no advice; the caller keeps them apart from the list.
    """
    name_words = frozenset(w for n in names for w in re.findall(r"[\w'é]+", n.lower()))
    utts = sorted((as_utterance(u) for u in utterances), key=lambda u: u.start)
    if language not in languages.available():
        language = detect_language(u.text for u in utts)
    items: list[AdviceItem] = []
    for run in _runs(utts):
        items.extend(split_turn(run, language, name_words))
    return items


def advice_only(items: Iterable[AdviceItem]) -> list[AdviceItem]:
    """The items that are advice (``aside`` unset)."""
    return [i for i in items if i.aside is None]
