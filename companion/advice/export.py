"""The advice list as a document the inbrenger takes home: Markdown and print-ready HTML.

Takes plain data (a dict or :class:`AdviceDocument`), so it knows nothing of
the room server.  The templates live in ``prompts/export/`` so a facilitator
can restyle them; a folder passed as ``templates_dir`` is tried first.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from ..shipped import PROMPTS

EXPORT_TEMPLATES = PROMPTS / "export"

LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Adviezen",
        "group": "Groep",
        "date": "Datum",
        "method": "Methode",
        "inbrenger": "Inbrenger",
        "question": "De vraag",
        "question_original": "Oorspronkelijke vraag",
        "question_reformulated": "Vraag na herformulering",
        "advice": "De adviezen",
        "no_advice": "Er zijn geen adviezen vastgelegd.",
        "by": "van",
        "unknown_speaker": "onbekend",
        "mark": "Oordeel",
        "note": "Notitie",
        "as_heard": "Zoals gezegd",
        "overall_note": "Mijn notities",
        "takeaways": "Wat de groep meeneemt",
        "no_takeaways": "Niemand heeft gedeeld wat hij of zij meeneemt.",
        "confidential": "Vertrouwelijk: alleen voor de inbrenger.",
        "made_by": "Gemaakt met companion, op de eigen server van de groep.",
        "added_by_hand": "met de hand toegevoegd",
        "print": "Afdrukken of opslaan als PDF",
        "useful": "bruikbaar",
        "not_for_me": "niet voor mij",
        "ask": "navragen",
        "unmarked": "nog niet beoordeeld",
        "followup": "Wat ik ermee deed",
        "tried": "geprobeerd",
        "helped": "geholpen",
        "not_yet": "nog niet",
        "dropped": "laten vallen",
    },
    "en": {
        "title": "Advice",
        "group": "Group",
        "date": "Date",
        "method": "Method",
        "inbrenger": "Case owner",
        "question": "The question",
        "question_original": "Original question",
        "question_reformulated": "Reformulated question",
        "advice": "The advice",
        "no_advice": "No advice was recorded.",
        "by": "from",
        "unknown_speaker": "unknown",
        "mark": "Verdict",
        "note": "Note",
        "as_heard": "As said",
        "overall_note": "My notes",
        "takeaways": "What the group takes away",
        "no_takeaways": "Nobody shared a take-away.",
        "confidential": "Confidential: for the case owner only.",
        "made_by": "Made with companion, on the group's own server.",
        "added_by_hand": "added by hand",
        "print": "Print or save as PDF",
        "useful": "useful",
        "not_for_me": "not for me",
        "ask": "ask about it",
        "unmarked": "not marked yet",
        "followup": "What I did with it",
        "tried": "tried",
        "helped": "helped",
        "not_yet": "not yet",
        "dropped": "dropped",
    },
}

FOLLOWUP_STATUSES = ("tried", "helped", "not_yet", "dropped")

MONTHS = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}


@dataclass
class ExportItem:
    text: str
    speaker: str | None = None
    mark: str | None = None  # useful | not_for_me | ask
    note: str = ""
    original: str | None = None  # the words as said, when the text was corrected
    source: str = "speech"
    # What the inbrenger did with it, told at the next meeting (companion/followup.py): tried | helped |
    # not_yet | dropped; only in the inbrenger's own download.
    followup: str | None = None


@dataclass
class Takeaway:
    name: str
    text: str


@dataclass
class AdviceDocument:
    group: str
    method: str
    date: dt.date | dt.datetime | str
    language: str = "nl"
    inbrenger: str | None = None
    question_original: str | None = None
    question_reformulated: str | None = None
    items: list[ExportItem] = field(default_factory=list)
    overall_note: str = ""
    takeaways: list[Takeaway] = field(default_factory=list)


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


def _name(value: Any) -> str | None:
    """A person's name as shown: whitespace trimmed, None when nothing is left."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def document_from(data: AdviceDocument | Mapping[str, Any]) -> AdviceDocument:
    """Accept the dataclass or a plain dict with the same keys (items and takeaways as dicts)."""
    if isinstance(data, AdviceDocument):
        return data
    if not isinstance(data, Mapping):
        raise TypeError("an AdviceDocument or a mapping is needed")
    method = data.get("method", "")
    language = data.get("language", "nl")
    if isinstance(method, Mapping):  # {nl: ..., en: ...} as the method files hold titles
        method = method.get(language) or next(iter(method.values()), "")
    items = []
    for raw in data.get("items", ()):
        raw = _plain(raw)
        if raw.get("deleted"):
            continue
        text = raw.get("text", "")
        original = raw.get("original")
        items.append(
            ExportItem(
                text=text,
                speaker=_name(raw.get("speaker")),
                mark=raw.get("mark"),
                note=raw.get("note") or "",
                original=original if original and original != text else None,
                source=raw.get("source", "speech"),
                followup=raw.get("followup") if raw.get("followup") in FOLLOWUP_STATUSES else None,
            )
        )
    takeaways = [Takeaway(name=_plain(t)["name"], text=_plain(t)["text"]) for t in data.get("takeaways", ())]
    return AdviceDocument(
        group=data.get("group", ""),
        method=str(method or ""),
        date=data.get("date") or dt.date.today(),
        language=language if language in LABELS else "nl",
        inbrenger=_name(data.get("inbrenger")),
        question_original=data.get("question_original"),
        question_reformulated=data.get("question_reformulated"),
        items=items,
        overall_note=data.get("overall_note") or "",
        takeaways=takeaways,
    )


def format_date(value: dt.date | dt.datetime | str | float, language: str) -> str:
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value)
    if isinstance(value, str):
        return value
    month = MONTHS.get(language, MONTHS["nl"])[value.month - 1]
    return f"{value.day} {month} {value.year}" if language == "nl" else f"{month} {value.day}, {value.year}"


# Characters that can start inline Markdown anywhere in a line: escapes, code
# spans, emphasis, links and images, raw HTML and autolinks, ATX closing
# sequences, GFM strikethrough and table cells.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
# What starts a block only at the beginning of a line: list items ("- ", "+ ",
# "1. ", "1) "), setext underlines and thematic breaks ("===", "---").
_MD_LINE_START = re.compile(r"^(?:([=+-])|(\d+)([.)]))")


def _escape_line(line: str) -> str:
    line = _MD_INLINE.sub(r"\\\1", line)
    line = _MD_ENTITY.sub(r"\\&", line)
    return _MD_LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), line)


def markdown_text(value: Any, indent: str = "") -> str:
    """User text as literal Markdown: it renders as the same words, whatever CommonMark construct it resembles.

    Every character that could start a construct is backslash-escaped; each
    line is trimmed (leading spaces would make code blocks, trailing ones line
    breaks) and lines are joined by hard line breaks, the next one starting
    with ``indent`` so that it stays inside the list item or block quote it
    belongs to.  Blank lines cannot end the paragraph: they become empty
    lines inside it.
    """
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").replace("\x00", "\ufffd")
    lines = [_escape_line(line.strip()) for line in text.strip().split("\n")]
    return ("\\\n" + indent).join(lines)


def markdown_line(value: Any) -> str:
    """A name or title: one line of literal Markdown (line breaks become spaces)."""
    text = "" if value is None else str(value)
    return markdown_text(" ".join(text.split()))


def css_string(value: Any) -> Markup:
    """User text as a quoted CSS string: everything but letters, digits and spaces as a CSS escape,
    so it can neither end the string nor the <style> element."""
    text = "" if value is None else str(value)
    escaped = "".join(ch if (ch.isalnum() and ch.isascii()) or ch == " " else f"\\{ord(ch):06x} " for ch in text[:200])
    return Markup(f'"{escaped}"')


def _quote(value: Any) -> str:
    """A Markdown block quote of (escaped) user text, one line per line."""
    return "> " + markdown_text(value, indent="> ")


@functools.lru_cache(maxsize=16)
def _environment(autoescape: bool, templates_dir: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(EXPORT_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_text
    env.filters["md1"] = markdown_line
    env.filters["mdquote"] = _quote
    env.filters["css_string"] = css_string
    return env


def _context(doc: AdviceDocument) -> dict[str, Any]:
    labels = LABELS[doc.language]
    return {
        "doc": doc,
        "t": labels,
        "date": format_date(doc.date, doc.language),
        "items": doc.items,
        "mark_label": lambda mark: labels.get(mark or "unmarked", labels["unmarked"]),
        "followup_label": lambda status: labels.get(status, status),
        "lang": doc.language,
    }


def render_markdown(data: AdviceDocument | Mapping[str, Any], templates_dir: Path | None = None) -> str:
    doc = document_from(data)
    return _environment(False, templates_dir).get_template("advice.md.j2").render(_context(doc))


# The printable page's one script: its "print or save as PDF" button. The page's
# Content-Security-Policy allows exactly this script by its hash (PRINT_SCRIPT_CSP).
PRINT_SCRIPT = 'document.getElementById("print").addEventListener("click", function () { window.print(); });'
PRINT_SCRIPT_CSP = "'sha256-" + base64.b64encode(hashlib.sha256(PRINT_SCRIPT.encode()).digest()).decode() + "'"


def render_html(data: AdviceDocument | Mapping[str, Any], templates_dir: Path | None = None) -> str:
    doc = document_from(data)
    return _environment(True, templates_dir).get_template("advice.html.j2").render(_context(doc), print_script=PRINT_SCRIPT)


def filename(doc: AdviceDocument | Mapping[str, Any], extension: str) -> str:
    """A safe download name: adviezen-<group>-<date>.<ext>."""
    doc = document_from(doc)
    date = doc.date.isoformat()[:10] if isinstance(doc.date, (dt.date, dt.datetime)) else str(doc.date)
    stem = re.sub(r"[^a-z0-9]+", "-", f"{LABELS[doc.language]['title']}-{doc.group}-{date}".lower()).strip("-")
    return f"{stem[:80] or 'adviezen'}.{extension}"
