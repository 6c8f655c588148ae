"""From the advice step's utterances to advice items: one item per advice.

Pure rules, no model: Whisper's punctuation gives sentences, cue phrases
tell where a new advice begins, and pauses tell where a sentence that
Whisper cut in two goes on.  Every rule lives in the tables at the top, so a
wrong split is fixed by editing a table and adding a round to
``tests/data/advice/rounds.json``.

The unit the rules work on is a *segment*: a sentence, or the part of a
sentence after an additive cue ("..., en daarnaast zou je ook ...").  A
segment either opens a new advice (it starts with a cue) or goes on with the
one before it (it refers back, explains, or carries no cue at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

# ------------------------------------------------------------------ tables
# A pause this long between two utterances of one speaker ends a sentence
# even when Whisper left it open; shorter, an open sentence goes on.
JOIN_PAUSE = 1.5
# After a pause this long a speaker's next sentence opens a new advice unless
# it plainly refers back (a continuation cue).
NEW_ADVICE_PAUSE = 4.0

FILLERS = {
    "nl": r"e+h+m*|e+u+h+|u+h+m*|u+m+|h+m+|m{2,}",
    "en": r"u+h+m*|u+m+|e+r+m+|e+h+m*|h+m+|m{2,}",
}
# Words that are often grammatical when doubled ("ik denk dat dat werkt").
KEEP_DOUBLED = frozenset({"dat", "die", "had", "that", "is", "er"})

# Words a segment may start with that say nothing about where an advice begins.
LEADING_NOISE = {
    "nl": ("en", "maar", "ja", "nou", "oké", "oke", "ok", "dus", "goed", "o", "oh", "nee", "want ja"),
    "en": ("and", "but", "yeah", "yes", "well", "ok", "okay", "so", "oh", "right", "also and"),
}

# A segment that starts with one of these opens a new advice.
NEW_ADVICE_CUES = {
    "nl": (
        "ik zou", "zou ik", "je zou", "jij zou", "u zou", "zou je", "zou jij", "wat ik zou doen", "wat ik zou",
        "mijn advies", "mijn tip", "mijn tweede", "mijn derde", "mijn laatste", "mijn idee", "mijn suggestie",
        "een tip", "nog een tip", "een advies", "nog een advies", "een idee", "een ander idee", "nog een idee",
        "een suggestie", "een andere", "ander punt", "een ander punt", "nog een punt", "nog iets",
        "ik raad je aan", "ik raad je", "ik raad aan", "ik adviseer", "ik stel voor", "ik zou je willen",
        "ik zou je aanraden", "mijn voorstel", "probeer", "overweeg", "zorg dat", "zorg ervoor", "zorg wel",
        "wat als je", "wat als jij", "misschien kun je", "misschien kan je", "misschien kunt u", "misschien zou",
        "misschien moet je", "misschien helpt het", "misschien een", "misschien even", "daarnaast", "verder zou",
        "verder kun", "verder kan", "verder is het", "verder", "ook zou ik", "ook zou je", "ook kun je", "ook kan je",
        "wat ik ook", "wat je ook", "wat ook kan", "wat ook helpt", "wat mij hielp", "wat mij heeft geholpen",
        "wat mij helpt", "bovendien", "tot slot", "als laatste", "en als laatste", "ten eerste", "ten tweede",
        "ten derde", "een tweede", "een derde", "het laatste", "als ik jou was", "als ik jij was",
        "als ik in jouw schoenen", "in jouw plaats", "het kan helpen", "het zou kunnen helpen", "het helpt vaak",
        "het lijkt me goed", "het lijkt me verstandig", "het lijkt mij", "het is misschien", "het is goed om",
        "het is slim", "het is misschien goed", "ik denk dat het goed", "ik denk dat het helpt", "ik denk dat je",
        "ik zou zeggen", "je kunt", "je kan", "jij kunt", "je moet", "kun je", "kan je", "kunt u",
        "heb je al eens", "heb je er al", "heb je overwogen", "waarom niet", "waarom zou je niet",
        "ik ben benieuwd of je", "ik moest denken aan", "ik geef je mee", "wat ik je mee wil geven",
        "wat ik je wil meegeven", "iets anders", "los daarvan", "en verder",
    ),
    "en": (
        "i would", "i'd", "you could", "you might", "you can", "you should", "my advice", "my tip",
        "my suggestion", "my second", "my last", "my idea", "a tip", "another tip", "one tip", "one idea",
        "an idea", "another idea", "another thing", "another option", "one more thing", "i suggest",
        "i'd suggest", "i recommend", "i'd recommend", "i'd advise", "i advise", "try", "consider", "make sure",
        "what if you", "maybe you could", "maybe you can", "maybe", "perhaps", "also", "in addition",
        "besides that", "apart from that", "furthermore", "finally", "lastly", "first", "second", "third",
        "if i were you", "it might help", "it could help", "it may help", "have you considered",
        "have you thought", "why not", "something else", "what helped me",
    ),
}

# Imperatives open an advice too ("Zoek een maatje."), but right after an
# advice put as a proposal ("Ik zou ... .") a bare imperative usually spells
# that advice out ("Vraag wat zij wil."), unless it adds (ook, also...).
IMPERATIVE_CUES = {
    "nl": (
        "vraag", "plan", "maak", "neem", "zoek", "bespreek", "schrijf", "ga", "leg", "stel", "kijk", "geef",
        "houd", "hou", "laat", "spreek", "check", "durf", "blijf", "begin", "stop", "deel", "bel", "lees",
        "oefen", "let op", "benoem", "vier", "betrek", "trek", "investeer", "gun", "organiseer", "wacht",
        "slaap", "sluit", "bouw", "zet", "vertel", "zeg", "wees", "denk", "luister", "gebruik", "kies",
    ),
    "en": (
        "ask", "plan", "write", "talk", "take", "schedule", "find", "give", "let", "keep", "start", "stop",
        "share", "call", "read", "practice", "practise", "don't", "do not", "tell", "wait", "be", "go", "set",
        "use", "listen", "get", "put", "book", "block", "think",
    ),
}
# Words that make a sentence add an advice rather than spell one out.
ADDITIVE_WORDS = {
    "nl": frozenset({"ook", "daarnaast", "verder", "nog", "bovendien", "ander", "andere", "tweede", "derde"}),
    "en": frozenset({"also", "another", "addition", "besides", "second", "third", "too", "other"}),
}
# Cues too vague to open a second advice in a turn, but enough to make the
# turn's first words an advice rather than an introduction.
WEAK_CUES = {
    "nl": ("misschien", "volgens mij", "het is belangrijk", "belangrijk is", "het is handig", "ik denk"),
    "en": ("i think", "it's important", "it is important"),
}

# A segment that starts with one of these goes on with the advice before it,
# even when a new-advice cue follows ("Je zou dan ...", "Probeer bijvoorbeeld ...").
CONTINUATION_STARTS = {
    "nl": (
        "dan", "daarbij", "daarin", "daarmee", "daardoor", "daarvoor", "daarna", "vervolgens", "daar", "dat",
        "die", "dit", "zo", "want", "omdat", "bijvoorbeeld", "zodat", "anders", "dus", "vooral", "en dan",
        "in dat gesprek", "op die manier", "op deze manier", "het liefst", "liefst", "je merkt", "zij", "hij",
        "ze", "hem", "haar", "het gaat erom", "het gaat er", "het punt is", "waardoor", "eventueel",
        "als je dat", "als dat", "als je het", "desnoods", "niet om", "het hoeft", "hoe dan ook",
        "en als", "als ze", "als hij", "als zij", "je hoeft", "wie weet",
    ),
    "en": (
        "then", "that way", "because", "for example", "for instance", "so that", "this", "that", "it", "she",
        "he", "they", "there", "otherwise", "especially", "in that", "if that", "if she", "if he", "if it",
        "you don't have to", "the point is", "which", "preferably", "even",
    ),
}
# A new-advice cue followed by one of these within a few words is an
# elaboration of the advice before it ("Ik zou dan ...", "Je kunt bijvoorbeeld ...").
ELABORATION_WORDS = {
    "nl": frozenset({"dan", "daarbij", "daarin", "bijvoorbeeld", "daarna", "vervolgens", "daarmee", "eerst"}),
    "en": frozenset({"then", "example", "instance", "there", "first"}),
}
# Right after the cue, these point back at what was just said ("Geef ze een rol").
BACK_POINTERS = {
    "nl": frozenset({"ze", "hem", "haar", "hen", "die", "daar", "dat", "dit"}),
    "en": frozenset({"them", "him", "her", "that", "this", "it"}),
}

# Inside a sentence, after a comma or "en", these open a second advice.
MID_SENTENCE_CUES = {
    "nl": (
        r"daarnaast", r"bovendien", r"verder (?:zou|kun|kan|zou|is het|moet|wil)", r"ook zou (?:ik|je)",
        r"(?:ik|je|jij) zou (?:\w+ )?ook", r"zou je (?:\w+ )?ook", r"(?:je|jij) (?:kunt|kan|kun) (?:\w+ )?ook",
        r"misschien (?:kun|kan|kunt|zou) (?:je|jij) (?:\w+ )?ook", r"wat (?:ik|je) ook", r"wat ook (?:kan|helpt)",
        r"een ander idee", r"nog een tip", r"mijn tweede tip", r"probeer (?:\w+ )?ook", r"zorg (?:\w+ )?ook",
        r"overweeg (?:\w+ )?ook", r"als laatste",
    ),
    "en": (
        r"in addition", r"besides that", r"apart from that", r"furthermore", r"(?:i|you) (?:would|could|'d|might) also",
        r"(?:you can|you could|i'd|i would) also", r"another idea", r"another tip", r"also try", r"try also",
        r"make sure (?:you )?also", r"finally",
    ),
}

# After a cue, these words still announce the advice rather than give it:
# "Mijn tip is." / "My advice would be." followed by the advice itself.
LEAD_IN_TAILS = {
    "nl": ("", "is", "is eigenlijk", "zou zijn", "zou eigenlijk zijn", "eigenlijk", "is dus", "dan"),
    "en": ("", "is", "would be", "then", "really"),
}

# Mid-sentence cues that split even without a comma before them, when a comma follows.
CLOSED_MID_CUES = {
    "nl": (r"daarnaast", r"bovendien"),
    "en": (r"in addition", r"besides that", r"apart from that", r"furthermore"),
}

# Turns made only of these are talk around the advice, not advice.
BACKCHANNEL = {
    "nl": frozenset({
        "ja", "nee", "oké", "oke", "ok", "goed", "mooi", "precies", "klopt", "dank", "je", "dankjewel",
        "bedankt", "dank je", "helder", "top", "prima", "hm", "nou", "inderdaad", "zeker", "fijn", "wel",
        "eens", "mee", "ik", "ben", "het", "sluit", "me", "aan", "daarbij", "wie", "nog", "iemand", "meer",
        "verder", "wil", "er", "iets", "ook", "anderen", "volgende", "graag", "jij", "jullie", "is", "dat",
        "alles", "alle", "adviezen", "allemaal", "tijd", "minuut", "minuten", "we", "hebben", "nu", "twee",
        "drie", "één", "een", "nogmaals", "de", "helemaal", "goeie", "vind", "punt", "beginnen",
        "begint", "wie", "mag", "gaat", "door", "even", "dus", "advies", "advice", "heeft", "met", "zei", "zegt",
        "hetzelfde", "idem", "minuutje",
    }),
    "en": frozenset({
        "yes", "yeah", "no", "ok", "okay", "good", "great", "right", "thanks", "thank", "you", "exactly",
        "agreed", "sure", "indeed", "i", "agree", "anyone", "else", "who", "is", "next", "more", "any", "we",
        "have", "minutes", "minute", "left", "two", "one", "that", "all", "it", "nice", "point", "totally",
        "wants", "to", "start", "go", "ahead", "much", "so", "with", "what", "said", "too", "same", "here", "me",
    }),
}

# What Whisper writes over silence or noise (learnt from subtitled video); a
# sentence holding one of these is never advice.
HALLUCINATIONS = (
    "ondertiteling", "ondertiteld door", "ondertitels door", "amara.org", "bedankt voor het kijken",
    "bedankt voor het luisteren", "dank u voor het kijken", "tot de volgende keer", "abonneer", "tv gelderland",
    "thanks for watching", "thank you for watching", "subtitles by", "please subscribe", "like and subscribe",
)

ABBREVIATIONS = frozenset({"bijv", "bv", "o.a", "d.w.z", "m.a.w", "e.g", "i.e", "etc", "mr", "mrs", "dr", "ca", "evt"})

_ENGLISH_HINTS = frozenset({"the", "you", "i", "would", "and", "to", "your", "with", "it", "is", "could", "my", "of", "that"})
_DUTCH_HINTS = frozenset({"de", "het", "een", "je", "ik", "zou", "en", "van", "met", "dat", "is", "niet", "ook", "om"})


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
    # True when the item's first words carry no cue of a new advice: a live
    # builder may append it to the same speaker's previous item.
    continues: bool = False
    # Opens with a bare imperative that adds nothing ("Vraag wat zij wil."): it
    # spells out the speaker's previous item if that was a proposal.
    may_spell_out: bool = False


@dataclass
class _Segment:
    text: str
    start: float
    end: float
    utterance_id: str
    opens: bool  # starts a new advice
    refers_back: bool  # plainly goes on with the advice before
    has_cue: bool  # a cue phrase, even if it elaborates ("Ik zou dan ...")
    after_long_pause: bool = False
    imperative: bool = False
    additive: bool = False
    lead_in: bool = False  # only a cue ("Mijn tip."): the advice follows in the next sentence


# ------------------------------------------------------------------ cleaning
_WS = re.compile(r"\s+")


def detect_language(texts: Iterable[str]) -> str:
    words = re.findall(r"[a-zà-ÿ']+", " ".join(texts).lower())
    en = sum(w in _ENGLISH_HINTS for w in words)
    nl = sum(w in _DUTCH_HINTS for w in words)
    return "en" if en > nl else "nl"


def clean_text(text: str, language: str = "nl") -> str:
    """Fillers, stutters and doubled words out; the words as said otherwise."""
    fillers = FILLERS.get(language, FILLERS["nl"])
    text = text.replace("\u2026", "...").replace("...", ", ")
    text = re.sub(rf"(?<![\w'])(?:{fillers})(?![\w'])[,.]?", " ", text, flags=re.IGNORECASE)
    # Whisper marks stutters with a dash: "ik w- wil" -> "ik wil".
    text = re.sub(r"(?<![\w])\w{1,4}-\s+(?=\w)", "", text)
    # Repeated phrases of one to three words: "ik zou, ik zou eerst" -> "ik zou eerst".
    for size in (3, 2, 1):
        words = r"\s+".join([r"[\w'’-]+"] * size)
        pattern = re.compile(rf"(?<![\w'])({words})(?:[,]?\s+\1)+(?![\w'])", re.IGNORECASE)

        def undouble(match: re.Match) -> str:
            phrase = match.group(1)
            if size == 1 and phrase.lower() in KEEP_DOUBLED:
                return match.group(0)
            return phrase

        text = pattern.sub(undouble, text)
    text = _WS.sub(" ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by a removed filler
    text = re.sub(r"^[\s,.;:]+", "", text)
    text = re.sub(r",\s*([.!?])", r"\1", text)
    return text.strip()


def _strip_noise(words: str, language: str) -> str:
    lowered = words.lower()
    changed = True
    while changed:
        changed = False
        for noise in LEADING_NOISE.get(language, ()):
            if lowered.startswith(noise + " ") or lowered.startswith(noise + ","):
                lowered = lowered[len(noise) + 1 :].lstrip(" ,")
                changed = True
    return lowered


def _starts_with(lowered: str, phrases: Sequence[str]) -> str | None:
    for phrase in sorted(phrases, key=len, reverse=True):
        if lowered == phrase or (lowered.startswith(phrase) and not lowered[len(phrase)].isalnum()
                                 and lowered[len(phrase)] not in "'’-"):
            return phrase
    return None


@dataclass(frozen=True)
class Cue:
    opens: bool  # starts a new advice
    refers_back: bool  # plainly goes on with the advice before
    has_cue: bool  # carries a cue phrase, even a weak or elaborating one
    imperative: bool = False  # the cue is a bare imperative ("Vraag ...")
    additive: bool = False  # says it adds another advice ("ook", "daarnaast")


def classify(text: str, language: str) -> Cue:
    """What one segment's first words say about where an advice begins."""
    lowered = _strip_noise(re.sub(r"[^\w\s'’,-]", " ", text).strip(), language)
    lowered = _WS.sub(" ", lowered).strip(" ,")
    words = re.findall(r"[\w']+", lowered)
    additive = any(w in ADDITIVE_WORDS.get(language, ()) for w in words[:4])
    if _starts_with(lowered, CONTINUATION_STARTS.get(language, ())):
        return Cue(False, True, False)
    cue = _starts_with(lowered, NEW_ADVICE_CUES.get(language, ()))
    imperative = False
    if cue is None:
        cue = _starts_with(lowered, IMPERATIVE_CUES.get(language, ()))
        imperative = cue is not None
    if cue is None:
        weak = _starts_with(lowered, WEAK_CUES.get(language, ())) is not None
        return Cue(False, False, weak)
    following = re.findall(r"[\w']+", lowered[len(cue):])
    if any(w in ELABORATION_WORDS.get(language, ()) for w in following[:3]) or any(
        w in BACK_POINTERS.get(language, ()) for w in following[:1]
    ):
        return Cue(False, True, True, imperative, additive)
    return Cue(True, False, True, imperative, additive)


def opens_as_proposal(text: str, language: str) -> bool:
    """Whether an item begins as a proposal ("Ik zou ...", "My advice ..."), not an imperative."""
    first = _sentences(clean_text(text, language))[:1]
    if not first:
        return False
    cue = classify(first[0], language)
    return cue.has_cue and not cue.imperative


def is_lead_in(text: str, language: str) -> bool:
    """A sentence that is only a cue: Whisper closed "My tip." before the tip itself."""
    lowered = _WS.sub(" ", _strip_noise(re.sub(r"[^\w\s'’-]", " ", text).strip(), language)).strip()
    cue = _starts_with(lowered, NEW_ADVICE_CUES.get(language, ()))
    if cue is None or len(cue.split()) < 2:
        return False  # a one-word cue ("Probeer.") is itself the advice
    return lowered[len(cue):].strip() in LEAD_IN_TAILS.get(language, ("",))


def has_cue(text: str, language: str) -> bool:
    """Whether any sentence of ``text`` carries a cue of advice."""
    utt = Utterance("probe", None, 0.0, 1.0, text)
    return any(seg.has_cue for seg in _segments([utt], language))


def _is_backchannel(text: str, language: str, names: frozenset[str] = frozenset()) -> bool:
    words = re.findall(r"[\w'é]+", text.lower())
    allowed = BACKCHANNEL.get(language, frozenset()) | names
    return bool(words) and len(words) <= 12 and all(w in allowed for w in words)


# ------------------------------------------------------------------ splitting
def _sentences(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in re.split(r"(?<=[.!?])\s+", text):
        if current:
            last_word = re.findall(r"([\w.]+)\.$", current)
            if last_word and last_word[0].lower() in ABBREVIATIONS:
                current = f"{current} {piece}"
                continue
            parts.append(current)
        current = piece
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _mid_sentence_parts(sentence: str, language: str) -> list[str]:
    cues = "|".join(MID_SENTENCE_CUES.get(language, ()))
    if not cues:
        return [sentence]
    conj = r"(?:en|maar|of)" if language == "nl" else r"(?:and|but|or)"
    # A split needs a comma, semicolon or a conjunction before the cue, and
    # real words on both sides.
    # Whisper sometimes puts the comma after the cue instead ("... immediately in
    # addition, keep notes"): a cue closed by a comma needs nothing before it.
    closed = "|".join(CLOSED_MID_CUES.get(language, ()))
    pattern = re.compile(
        rf"(?:[,;]\s*(?:{conj}\s+)?|\s{conj}\s+)(?=(?:{cues})(?![\w]))|\s(?=(?:{closed}),)", re.IGNORECASE
    )
    parts, last = [], 0
    for match in pattern.finditer(sentence):
        head = sentence[last : match.start()].strip()
        if len(re.findall(r"\w+", head)) < 3:
            continue
        parts.append(head)
        last = match.end()
    parts.append(sentence[last:].strip())
    return [p for p in parts if p]


def _tidy(text: str, language: str) -> str:
    text = text.strip(" ,;")
    # The connector that joined two advices belongs to neither.
    text = re.sub(r"^(?:en|and)\s+(?=\w)", "", text, flags=re.IGNORECASE)
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
    """Sentences of a turn, with Whisper's mid-sentence cuts glued back."""
    pieces: list[tuple[str, float, float, str, bool]] = []  # text, start, end, utterance id, after long pause
    open_sentence = False
    previous_end: float | None = None
    for utt in run:
        text = clean_text(utt.text, language)
        if not text:
            continue
        pause = utt.start - previous_end if previous_end is not None else 0.0
        previous_end = utt.end
        sentences = []
        for sentence in _sentences(text):
            # Whisper sometimes writes the same sentence twice in a row (a known loop).
            if _is_hallucination(sentence) or (sentences or pieces) and _same_words(
                sentence, sentences[-1] if sentences else pieces[-1][0]
            ):
                continue
            sentences.append(sentence)
        if not sentences:
            open_sentence = False
            continue
        # Spread the utterance's time over its sentences by length.
        total = sum(len(s) for s in sentences) or 1
        t = utt.start
        for i, sentence in enumerate(sentences):
            span = (utt.end - utt.start) * len(sentence) / total
            if i == 0 and open_sentence and pause < JOIN_PAUSE and pieces:
                prev = pieces[-1]
                pieces[-1] = (f"{prev[0]} {sentence[0].lower() + sentence[1:] if sentence[:2] != 'I ' else sentence}",
                              prev[1], t + span, prev[3], prev[4])
            else:
                pieces.append((sentence, t, t + span, utt.id, i == 0 and pause >= NEW_ADVICE_PAUSE))
            t += span
        open_sentence = sentences[-1][-1] not in ".!?"

    segments: list[_Segment] = []
    for text, start, end, utt_id, long_pause in pieces:
        parts = _mid_sentence_parts(text, language)
        total = sum(len(p) for p in parts) or 1
        t = start
        for i, part in enumerate(parts):
            span = (end - start) * len(part) / total
            cue = classify(part, language)
            if i > 0:
                cue = Cue(True, False, True, additive=True)  # a mid-sentence cue is by construction an opening
            segments.append(
                _Segment(part, t, t + span, utt_id, cue.opens, cue.refers_back, cue.has_cue, long_pause and i == 0,
                         lead_in=is_lead_in(part, language), imperative=cue.imperative, additive=cue.additive)
            )
            t += span
    return segments


def _new_item(speaker_id: str | None, segs: Sequence[_Segment], continues: bool) -> AdviceItem:
    return AdviceItem(
        speaker_id=speaker_id,
        start=round(segs[0].start, 2),
        end=round(segs[-1].end, 2),
        text=" ".join(s.text for s in segs),
        utterance_ids=list(dict.fromkeys(s.utterance_id for s in segs)),
        continues=continues,
    )


def _same_words(a: str, b: str) -> bool:
    norm = lambda t: re.findall(r"\w+", t.lower())  # noqa: E731
    return len(norm(a)) >= 3 and norm(a) == norm(b)


def _is_hallucination(text: str) -> bool:
    lowered = text.lower()
    return any(h in lowered for h in HALLUCINATIONS)


def split_turn(run: Sequence[Utterance], language: str, names: frozenset[str] = frozenset()) -> list[AdviceItem]:
    """The advice items of one speaker's turn."""
    segments = [s for s in _segments(run, language) if not _is_backchannel(s.text, language, names)]
    speaker = run[0].speaker_id if run else None
    items: list[AdviceItem] = []
    # Words before the first cue ("Ik herken dit wel.") introduce the advice that follows.
    preamble: list[_Segment] = []
    announced = False  # the segment before was a bare cue: this one is its advice
    proposal = False  # the current item opened as a proposal ("Ik zou ...", "Mijn advies ...")
    for seg in segments:
        spells_out = proposal and seg.imperative and not seg.additive and not seg.after_long_pause
        starts = (seg.opens or (seg.after_long_pause and not seg.refers_back)) and not announced and not spells_out
        announced = seg.lead_in
        if starts or (not items and seg.has_cue):
            proposal = seg.has_cue and not seg.imperative
        if not items:
            # The turn's first cue opens its first advice, even one that reads as
            # an elaboration ("Ik zou eerst ..."): there is nothing before it.
            if starts or seg.has_cue:
                # "Probeer daarna ..." opens this turn's list but may well go on with the
                # speaker's advice just before: a live builder decides.
                items.append(_new_item(speaker, preamble + [seg], continues=seg.refers_back and not preamble))
                items[-1].may_spell_out = not preamble and seg.imperative and not seg.additive
                preamble = []
            else:
                preamble.append(seg)
        elif starts:
            items.append(_new_item(speaker, [seg], continues=False))
        else:
            item = items[-1]
            item.text = f"{item.text} {seg.text}"
            item.end = round(seg.end, 2)
            if seg.utterance_id not in item.utterance_ids:
                item.utterance_ids.append(seg.utterance_id)
    if preamble:
        # No cue in the whole turn: it is one advice, perhaps the rest of an earlier one.
        items.append(_new_item(speaker, preamble, continues=True))
    for item in items:
        item.text = _tidy(item.text, language)
    return [i for i in items if re.search(r"\w", i.text)]


def split_round(
    utterances: Iterable[Any], language: str | None = None, names: Iterable[str] = ()
) -> list[AdviceItem]:
    """All advice items of a round, in the order they were said.

    ``names``: the participants' names, so "Dank je, Tom." counts as talk
    around the advice, not as advice.
    """
    name_words = frozenset(w for n in names for w in re.findall(r"[\w'é]+", n.lower()))
    utts = sorted((as_utterance(u) for u in utterances), key=lambda u: u.start)
    if language not in FILLERS:
        language = detect_language(u.text for u in utts)
    items: list[AdviceItem] = []
    for run in _runs(utts):
        items.extend(split_turn(run, language, name_words))
    return items
