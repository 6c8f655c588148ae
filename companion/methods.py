"""Intervisie methods as data files.

A method is a TOML file in ``prompts/methods/`` (shipped) or in the data
dir's ``methods/`` folder (a facilitator's own).  This module owns the schema,
the loader and its error messages; the phase engine only reads the result.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from .shipped import PROMPTS

LANGUAGES = ("nl", "en")
ROLES = ("facilitator", "inbrenger", "deelnemer")
STEP_KINDS = (
    # The meeting's opening: last meeting's inbrengers look back at their advice (companion/followup.py).
    # A room shows it only when its group met before with a case; otherwise it is left out of the room's steps.
    "followup",
    "case_round",
    "vote",
    "explanation",
    "questions",
    "roddelfase",
    "reformulate",
    "advice",
    "reaction",
    "evaluation",
    "free",
)
# Steps that make no sense without someone whose case is on the table.
KINDS_NEEDING_INBRENGER = frozenset(
    {"explanation", "questions", "roddelfase", "reformulate", "advice", "reaction"}
)
STEP_KEYS = frozenset({"id", "kind", "minutes", "title", "text", "media", "voting"})
METHOD_KEYS = frozenset({"id", "title", "description", "steps"})
# What a step text may refer to (see room.text_context); anything else is a typo.
TEXT_VARIABLES = frozenset(
    {"inbrenger", "question", "original_question", "group", "minutes", "minutes_left", "step_number", "step_count",
     "transcribing"}
)
METHOD_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_METHOD_BYTES = 256 * 1024


class MethodError(ValueError):
    """A method file that cannot be used, with where the problem is."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path.name}, regel {line}" if line else self.path.name
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class MediaPolicy:
    """Who sees and hears whom during a step.

    "Group" is everyone but the inbrenger, the facilitator included.  The
    media gates are derived from this; see ``companion.media.gates``.
    """

    inbrenger_sees_group: bool = True
    group_sees_inbrenger: bool = True
    inbrenger_heard: bool = True
    group_heard: bool = True
    # Transcribe every microphone this policy forwards.
    transcribe: bool = False

    @property
    def inbrenger_out_of_sight(self) -> bool:
        return not (self.inbrenger_sees_group or self.group_sees_inbrenger)

    def to_dict(self) -> dict[str, bool]:
        return {
            "inbrenger_sees_group": self.inbrenger_sees_group,
            "group_sees_inbrenger": self.group_sees_inbrenger,
            "inbrenger_heard": self.inbrenger_heard,
            "group_heard": self.group_heard,
            "transcribe": self.transcribe,
        }


OPEN_POLICY = MediaPolicy()


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    minutes: float
    title: dict[str, str]
    # texts[lang][role] -> Jinja2 template source
    texts: dict[str, dict[str, str]]
    media: MediaPolicy = OPEN_POLICY
    # A case-round step may hold the vote as well (the basismodel picks its
    # case in the same step).
    voting: bool = False

    @property
    def has_vote(self) -> bool:
        return self.kind == "vote" or (self.kind == "case_round" and self.voting)

    @property
    def needs_inbrenger(self) -> bool:
        return self.kind in KINDS_NEEDING_INBRENGER

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "minutes": self.minutes,
            "title": dict(self.title),
            "media": self.media.to_dict(),
            "has_vote": self.has_vote,
        }


@dataclass(frozen=True)
class Method:
    id: str
    title: dict[str, str]
    description: dict[str, str]
    steps: tuple[Step, ...]
    source: str = field(repr=False, default="")
    path: str = ""

    @property
    def total_minutes(self) -> float:
        return sum(s.minutes for s in self.steps)

    @property
    def has_followup(self) -> bool:
        return any(s.kind == "followup" for s in self.steps)

    def without_followup(self) -> "Method":
        """The method as a room runs it when there is nothing to follow up (a group's first meeting,
        a one-off room, a meeting's second case): the same method without its ``followup`` steps."""
        if not self.has_followup:
            return self
        return replace(self, steps=tuple(s for s in self.steps if s.kind != "followup"))

    def summary(self) -> dict[str, Any]:
        # Steps and minutes of one case; the follow-up step only opens a meeting that has one to look back on.
        case = self.without_followup()
        return {
            "id": self.id,
            "title": dict(self.title),
            "description": dict(self.description),
            "steps": len(case.steps),
            "minutes": case.total_minutes,
            "followup": self.has_followup,
        }


_env = SandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)


def _line_of(source: str, needle: str) -> int | None:
    """Best effort: the line where a step id or key first appears."""
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _text_table(
    path: Path, source: str, value: Any, what: str, required: Iterable[str], line: int | None = None
) -> dict[str, str]:
    if line is None:
        line = _line_of(source, what.split(".")[-1])
    if not isinstance(value, dict):
        raise MethodError(path, f"{what} moet een tabel zijn met een tekst per taal", line)
    out: dict[str, str] = {}
    for key in required:
        text = value.get(key)
        if not isinstance(text, str) or not text.strip():
            raise MethodError(path, f"{what}.{key} ontbreekt of is leeg", line)
        out[key] = text
    return out


def parse_method(source: str, path: Path | str = "<method>") -> Method:
    """Parse and validate one method file; raise MethodError naming file and line."""
    path = Path(path)
    source = source.removeprefix("\ufeff")  # Windows editors save a byte-order mark
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise MethodError(path, f"geen geldige TOML ({exc})", int(match.group(1)) if match else None) from None

    unknown = set(data) - METHOD_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise MethodError(path, f"onbekende sleutel {key!r} (verwacht: {', '.join(sorted(METHOD_KEYS))})", _line_of(source, key))
    method_id = data.get("id", path.stem)
    if not isinstance(method_id, str) or not METHOD_ID_RE.match(method_id):
        raise MethodError(path, "id moet uit kleine letters, cijfers, - of _ bestaan (max. 40 tekens)", _line_of(source, "id"))
    title = _text_table(path, source, data.get("title"), "title", LANGUAGES)
    description = data.get("description", {})
    if not isinstance(description, dict):
        raise MethodError(path, "description moet een tabel per taal zijn", _line_of(source, "description"))
    if any(not isinstance(v, str) for v in description.values()):
        raise MethodError(path, "description: een tekst per taal", _line_of(source, "description"))
    description = {k: v for k, v in description.items() if k in LANGUAGES}

    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise MethodError(path, "een methode heeft minstens één [[steps]]", _line_of(source, "[[steps]]"))
    if len(raw_steps) > 30:
        raise MethodError(path, "hoogstens 30 stappen", None)

    steps: list[Step] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_steps, start=1):
        steps.append(_parse_step(path, source, raw, index, seen))
    followups = [i for i, s in enumerate(steps) if s.kind == "followup"]
    if followups and followups != [0]:
        bad = next(i for i in followups if i != 0)
        raise MethodError(
            path, f"stap {steps[bad].id}: een followup-stap kan er maar één zijn, en alleen als eerste stap",
            _nth_line(source, "[[steps]]", bad + 1),
        )
    if followups and len(steps) == 1:
        raise MethodError(path, "een methode heeft naast de followup-stap minstens één andere stap", _nth_line(source, "[[steps]]", 1))
    method = Method(id=method_id, title=title, description=description, steps=tuple(steps), source=source, path=str(path))
    _check_templates(path, source, method)
    return method


def _parse_step(path: Path, source: str, raw: Any, index: int, seen: set[str]) -> Step:
    if not isinstance(raw, dict):
        raise MethodError(path, f"stap {index} is geen tabel", None)
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not METHOD_ID_RE.match(step_id):
        raise MethodError(path, f"stap {index}: id ontbreekt of is ongeldig", _nth_line(source, "[[steps]]", index))
    line = _nth_line(source, "[[steps]]", index)
    unknown = set(raw) - STEP_KEYS
    if unknown:
        # A misspelt [steps.media] would otherwise leave the roddelfase wide open.
        raise MethodError(path, f"stap {step_id}: onbekende sleutel(s) {', '.join(sorted(unknown))}", line)
    if step_id in seen:
        raise MethodError(path, f"stap-id {step_id!r} komt twee keer voor", _line_after(source, line, f'"{step_id}"'))
    seen.add(step_id)
    kind = raw.get("kind")
    if kind not in STEP_KINDS:
        raise MethodError(path, f"stap {step_id}: kind moet een van {', '.join(STEP_KINDS)} zijn, niet {kind!r}", line)
    minutes = raw.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= 240:
        raise MethodError(path, f"stap {step_id}: minutes moet een getal tussen 0 en 240 zijn", line)
    title = _text_table(path, source, raw.get("title"), f"steps.{step_id}.title", LANGUAGES, line)
    texts_raw = raw.get("text")
    if not isinstance(texts_raw, dict):
        raise MethodError(path, f"stap {step_id}: [steps.text.nl] en [steps.text.en] ontbreken", line)
    texts: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        texts[lang] = _text_table(path, source, texts_raw.get(lang), f"steps.{step_id}.text.{lang}", ROLES, line)
    media_raw = raw.get("media", {})
    if not isinstance(media_raw, dict):
        raise MethodError(path, f"stap {step_id}: media moet een tabel zijn", line)
    allowed = set(MediaPolicy.__dataclass_fields__)
    unknown = set(media_raw) - allowed
    if unknown:
        raise MethodError(path, f"stap {step_id}: onbekende media-sleutel(s) {', '.join(sorted(unknown))}", line)
    for key, value in media_raw.items():
        if not isinstance(value, bool):
            raise MethodError(path, f"stap {step_id}: media.{key} moet true of false zijn", line)
    voting = raw.get("voting", False)
    if not isinstance(voting, bool):
        raise MethodError(path, f"stap {step_id}: voting moet true of false zijn", line)
    if voting and kind != "case_round":
        raise MethodError(path, f"stap {step_id}: voting hoort alleen bij een case_round-stap", line)
    return Step(
        id=step_id,
        kind=kind,
        minutes=float(minutes),
        title=title,
        texts=texts,
        media=MediaPolicy(**media_raw),
        voting=voting,
    )


def _line_after(source: str, start: int | None, needle: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if number >= (start or 1) and needle in line:
            return number
    return start


def _nth_line(source: str, needle: str, n: int) -> int | None:
    count = 0
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip().startswith(needle):
            count += 1
            if count == n:
                return number
    return None


def _check_templates(path: Path, source: str, method: Method) -> None:
    for step in method.steps:
        for lang, by_role in step.texts.items():
            for role, text in by_role.items():
                first_line = _line_of(source, text.strip().splitlines()[0]) if text.strip() else None
                try:
                    parsed = _env.parse(text)
                except jinja2.TemplateSyntaxError as exc:
                    raise MethodError(path, f"stap {step.id}, tekst {lang}/{role}: sjabloonfout: {exc.message}", first_line) from None
                unknown = meta.find_undeclared_variables(parsed) - TEXT_VARIABLES
                if unknown:
                    raise MethodError(
                        path,
                        f"stap {step.id}, tekst {lang}/{role}: onbekende variabele(n) {', '.join(sorted(unknown))} "
                        f"(bekend: {', '.join(sorted(TEXT_VARIABLES))})",
                        first_line,
                    )


def render_text(template: str, context: dict[str, Any]) -> str:
    """Render a step text.  Sandboxed: method files come from facilitators."""
    try:
        return _env.from_string(template).render(**context).strip()
    except Exception as exc:  # a bad template must never break a room
        return f"{template.strip()}\n\n[sjabloonfout: {exc}]"


@dataclass
class MethodCatalog:
    """All methods the server knows, and the files it had to refuse."""

    methods: dict[str, Method]
    errors: list[MethodError]

    def get(self, method_id: str) -> Method | None:
        return self.methods.get(method_id)


def load_catalog(folders: Iterable[Path]) -> MethodCatalog:
    """Load every ``*.toml`` from the folders; later folders override earlier ids.

    A broken file is reported, never fatal.
    """
    methods: dict[str, Method] = {}
    errors: list[MethodError] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        # Within one folder two files with one id is a mistake; a later folder
        # (the data dir) overriding a shipped method on purpose is not.
        in_folder: dict[str, Path] = {}
        for file in sorted(folder.glob("*.toml")):
            try:
                if file.stat().st_size > MAX_METHOD_BYTES:
                    raise MethodError(file, "bestand is te groot")
                method = parse_method(file.read_text(encoding="utf-8"), file)
            except MethodError as exc:
                errors.append(exc)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(MethodError(file, f"kan niet gelezen worden: {exc}"))
                continue
            if method.id in in_folder:
                errors.append(MethodError(file, f"methode-id {method.id!r} staat ook in {in_folder[method.id].name}; dit bestand is overgeslagen"))
                continue
            in_folder[method.id] = file
            methods[method.id] = method
    return MethodCatalog(methods=methods, errors=errors)


SHIPPED_METHODS = PROMPTS / "methods"
