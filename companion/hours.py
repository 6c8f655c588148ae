"""The record of hours: who took part in which meeting of a group, when, how long and in what role.

Many professionals show their intervisie hours to a professional register. The record is derived from
three tables that hold no case content (``meetings``, ``meeting_members``, ``attendance``; see
docs/protocol.md, "History and record of hours") and is kept longer than the content
(``groups.record_retention_days``, companion/retention.py).

Minutes present: the member's attendance intervals (joined_at, left_at; Unix seconds) joined into one
set, clipped to the meeting's [started_at, ended_at]; an interval still open (a crash left no left_at)
counts up to ended_at. A meeting is in the record once it has ended (ended_at set): before that its
end and minutes are not known yet. Dates and times are the server's local time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2

from .advice.export import PRINT_SCRIPT, css_string, format_date
from .db import Connection
from .shipped import PROMPTS

BEGELEIDER, INBRENGER, DEELNEMER = "begeleider", "inbrenger", "deelnemer"
ROLES = (BEGELEIDER, INBRENGER, DEELNEMER)
TEMPLATES = PROMPTS / "export"

# method_id, language -> the method's title as shown (the server's catalog knows it; a method removed
# since shows its id).
MethodTitle = Callable[[str, str], str]


def _method_id(method_id: str, language: str) -> str:
    return method_id or ""


def seconds_present(intervals: Iterable[tuple[float, float | None]], started_at: float, ended_at: float) -> float:
    """Seconds inside [started_at, ended_at] covered by at least one interval (overlaps counted once).

    ``intervals``: (joined_at, left_at) in Unix seconds; left_at None (still open) counts up to ended_at."""
    spans = sorted(
        (max(joined, started_at), min(ended_at if left is None else left, ended_at))
        for joined, left in intervals
    )
    total = 0.0
    current_start = current_end = None
    for start, end in spans:
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def minutes(seconds: float) -> int:
    """Whole minutes, rounded half up (a register counts minutes; 29.5 s more is a minute more)."""
    return int(seconds / 60 + 0.5)


@dataclass
class HoursRow:
    """One member in one meeting: what the record says, and nothing of what was said."""

    meeting_id: str
    group_id: str
    group: str
    number: int  # the meeting's number in its group (1, 2, ...)
    date: str  # YYYY-MM-DD, the day the meeting started
    start: str  # HH:MM
    end: str  # HH:MM
    minutes: int  # present, within start..end
    method_id: str
    method: str
    role: str  # begeleider | inbrenger | deelnemer
    member_id: str
    name: str
    meeting_minutes: int  # the meeting's own length, start to end
    started_at: float
    ended_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clock(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts)


def _rows(conn: Connection, where: str, params: tuple, method_title: MethodTitle) -> list[HoursRow]:
    rows = conn.execute(
        f"""SELECT m.id AS meeting_id, m.group_id, g.name AS group_name, g.language, m.number, m.method_id,
                   m.started_at, m.ended_at, mm.member_id, mm.role, mb.name AS member_name
            FROM meetings m
            JOIN groups g ON g.id = m.group_id
            JOIN meeting_members mm ON mm.meeting_id = m.id
            JOIN members mb ON mb.id = mm.member_id
            WHERE m.started_at IS NOT NULL AND m.ended_at IS NOT NULL AND {where}
            ORDER BY m.started_at, m.number, lower(mb.name), mb.id""",
        params,
    ).fetchall()
    if not rows:
        return []
    intervals: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    meeting_ids = sorted({r["meeting_id"] for r in rows})
    marks = ",".join("?" for _ in meeting_ids)
    for a in conn.execute(
        f"SELECT meeting_id, member_id, joined_at, left_at FROM attendance WHERE meeting_id IN ({marks})",
        tuple(meeting_ids),
    ):
        intervals.setdefault((a["meeting_id"], a["member_id"]), []).append((a["joined_at"], a["left_at"]))
    out = []
    for r in rows:
        started, ended = float(r["started_at"]), float(r["ended_at"])
        present = seconds_present(intervals.get((r["meeting_id"], r["member_id"]), ()), started, ended)
        out.append(HoursRow(
            meeting_id=r["meeting_id"],
            group_id=r["group_id"],
            group=r["group_name"],
            number=r["number"],
            date=_clock(started).date().isoformat(),
            start=_clock(started).strftime("%H:%M"),
            end=_clock(ended).strftime("%H:%M"),
            minutes=minutes(present),
            method_id=r["method_id"] or "",
            method=method_title(r["method_id"] or "", r["language"] or "nl"),
            role=r["role"] if r["role"] in ROLES else DEELNEMER,
            member_id=r["member_id"],
            name=r["member_name"],
            meeting_minutes=minutes(max(0.0, ended - started)),
            started_at=started,
            ended_at=ended,
        ))
    return out


def member_record(conn: Connection, member_id: str, method_title: MethodTitle = _method_id) -> list[HoursRow]:
    """Every ended meeting the member took part in, oldest first."""
    return _rows(conn, "mm.member_id = ?", (member_id,), method_title)


def group_attendance(conn: Connection, group_id: str, method_title: MethodTitle = _method_id) -> list[HoursRow]:
    """Every member of every ended meeting of the group: per meeting (oldest first), members by name."""
    return _rows(conn, "m.group_id = ?", (group_id,), method_title)


def facilitator_names(conn: Connection, group_id: str) -> list[str]:
    """The group's facilitators as the group knows them: their member rows (role begeleider), else the
    names of the facilitator accounts that hold the group."""
    names = [r["name"] for r in conn.execute(
        "SELECT name FROM members WHERE group_id = ? AND role = ? ORDER BY created_at, id", (group_id, BEGELEIDER))]
    if names:
        return names
    return [r["name"] for r in conn.execute(
        """SELECT f.name FROM group_facilitators gf JOIN facilitators f ON f.id = gf.facilitator_id
           WHERE gf.group_id = ? ORDER BY f.created_at""", (group_id,))]


# ------------------------------------------------------------------ documents
LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Overzicht van intervisie-uren",
        "member": "Deelnemer",
        "group": "Groep",
        "facilitator": "Begeleider",
        "made_on": "Opgemaakt op",
        "meeting": "Bijeenkomst",
        "number": "Nr.",
        "file_member": "uren",
        "file_group": "aanwezigheid",
        "date": "Datum",
        "start": "Begin",
        "end": "Einde",
        "minutes": "Minuten aanwezig",
        "method": "Methode",
        "role": "Rol",
        "name": "Naam",
        "meeting_minutes": "Duur bijeenkomst (min)",
        "total": "Totaal",
        "hours": "{h} uur en {m} minuten",
        "none": "Er zijn nog geen afgeronde bijeenkomsten.",
        "note": "Aanwezigheid zoals de server die vastlegde: van binnenkomen tot vertrekken, binnen begin en einde "
                "van de bijeenkomst. Dit overzicht bevat geen inhoud van de gesprekken.",
        "signature": "Handtekening begeleider",
        "print": "Afdrukken of opslaan als PDF",
        "made_by": "Gemaakt met companion, op de eigen server van de groep.",
        BEGELEIDER: "begeleider",
        INBRENGER: "inbrenger",
        DEELNEMER: "deelnemer",
    },
    "en": {
        "title": "Record of peer consultation hours",
        "member": "Participant",
        "group": "Group",
        "facilitator": "Facilitator",
        "made_on": "Made on",
        "meeting": "Meeting",
        "number": "No.",
        "file_member": "hours",
        "file_group": "attendance",
        "date": "Date",
        "start": "Start",
        "end": "End",
        "minutes": "Minutes present",
        "method": "Method",
        "role": "Role",
        "name": "Name",
        "meeting_minutes": "Meeting length (min)",
        "total": "Total",
        "hours": "{h} hours and {m} minutes",
        "none": "There are no finished meetings yet.",
        "note": "Presence as the server recorded it: from coming in to leaving, within the meeting's start and end. "
                "This record holds nothing of what was discussed.",
        "signature": "Facilitator's signature",
        "print": "Print or save as PDF",
        "made_by": "Made with companion, on the group's own server.",
        BEGELEIDER: "facilitator",
        INBRENGER: "case owner",
        DEELNEMER: "participant",
    },
}
# Spreadsheet programs in a Dutch locale split a CSV file on semicolons, in an English one on commas.
CSV_DELIMITER = {"nl": ";", "en": ","}


def _language(language: str | None) -> str:
    return language if language in LABELS else "nl"


def _csv(header: list[str], rows: Iterable[list[Any]], language: str) -> str:
    out = io.StringIO()
    # The byte order mark tells spreadsheet programs the file is UTF-8 (names with ë, é).
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=CSV_DELIMITER[language], lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        # A cell starting with = + - @ is a formula to a spreadsheet: a name must stay a name.
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def member_csv(rows: list[HoursRow], language: str = "nl") -> str:
    """The member's own record: one line per meeting."""
    lang = _language(language)
    t = LABELS[lang]
    header = [t["date"], t["start"], t["end"], t["minutes"], t["method"], t["role"], t["group"], t["meeting"]]
    return _csv(header, ([r.date, r.start, r.end, r.minutes, r.method, t[r.role], r.group, r.number] for r in rows), lang)


def attendance_csv(rows: list[HoursRow], language: str = "nl") -> str:
    """The group's attendance list: one line per member per meeting."""
    lang = _language(language)
    t = LABELS[lang]
    header = [t["meeting"], t["date"], t["start"], t["end"], t["meeting_minutes"], t["method"], t["name"], t["role"],
              t["minutes"]]
    return _csv(header, ([r.number, r.date, r.start, r.end, r.meeting_minutes, r.method, r.name, t[r.role], r.minutes]
                         for r in rows), lang)


def _format_date(iso: str, language: str) -> str:
    return format_date(dt.date.fromisoformat(iso), language)


def _short_date(iso: str, language: str) -> str:
    """A table's date: 14-01-2025 in Dutch, the ISO form (2025-01-14) in English."""
    day = dt.date.fromisoformat(iso)
    return day.strftime("%d-%m-%Y") if language == "nl" else day.isoformat()


def total_text(rows: list[HoursRow], language: str) -> str:
    total = sum(r.minutes for r in rows)
    return LABELS[_language(language)]["hours"].format(h=total // 60, m=total % 60)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
_env.filters["css_string"] = css_string


def render_html(
    rows: list[HoursRow], member_name: str, group_name: str, facilitators: list[str], language: str = "nl",
    today: dt.date | None = None, templates_dir: Path | None = None,
) -> str:
    """The member's record as a page to print (one A4 page for two years of monthly meetings)."""
    lang = _language(language)
    env = _env
    if templates_dir is not None:
        env = _env.overlay(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(templates_dir)), _env.loader]))
    return env.get_template("hours.html.j2").render(
        t=LABELS[lang],
        lang=lang,
        rows=[{**r.as_dict(), "date_text": _short_date(r.date, lang), "role_text": LABELS[lang][r.role]} for r in rows],
        member=member_name,
        group=group_name,
        facilitators=", ".join(facilitators),
        total=total_text(rows, lang),
        today=_format_date((today or dt.date.today()).isoformat(), lang),
        print_script=PRINT_SCRIPT,
    )


def filename(kind: str, name: str, extension: str) -> str:
    """A safe download name: uren-<name>.<ext>, aanwezigheid-<group>.<ext>."""
    stem = re.sub(r"[^a-z0-9]+", "-", f"{kind}-{name}".lower()).strip("-")
    return f"{stem[:80] or kind}.{extension}"
