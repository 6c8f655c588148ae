"""A member's own history in their group: what the member's personal page shows between meetings.

Only the member's own things: the meetings they took part in (date, method, role, minutes present), the
questions they brought in, the advice lists of the cases where they were the inbrenger (with their own
marks, notes and follow-up statuses), their own take-aways and follow-up updates. Nothing another member
wrote or kept for themselves; the names of those who gave an advice are on the inbrenger's list, as they
were in the meeting.

Case content goes after the group's ``content_retention_days`` (companion/retention.py): the meetings
stay in the history (from the record of hours) with their content gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import hours
from .advice import store as advice_store
from .db import Connection, Row
from .retention import DAY


def member(conn: Connection, member_id: str) -> Row | None:
    return conn.execute(
        """SELECT m.id, m.group_id, m.name, m.role, g.name AS group_name, g.language, g.one_off,
                  g.content_retention_days, g.record_retention_days
           FROM members m JOIN groups g ON g.id = m.group_id WHERE m.id = ?""",
        (member_id,),
    ).fetchone()


def _day(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts).date().isoformat() if ts else None


def _meetings(conn: Connection, me: Row, method_title: hours.MethodTitle) -> list[dict[str, Any]]:
    """The meetings the member was in: by the record (meeting_members) or by a participant row in one
    of its case rooms, newest first."""
    rows = conn.execute(
        """SELECT m.id, m.number, m.method_id, m.created_at, m.started_at, m.ended_at, mm.role
           FROM meetings m LEFT JOIN meeting_members mm ON mm.meeting_id = m.id AND mm.member_id = ?
           WHERE m.group_id = ? AND (mm.member_id IS NOT NULL OR EXISTS (
                 SELECT 1 FROM meeting_rooms r JOIN participants p ON p.room_id = r.room_id
                 WHERE r.meeting_id = m.id AND p.member_id = ?))
           ORDER BY m.number DESC""",
        (me["id"], me["group_id"], me["id"]),
    ).fetchall()
    minutes = {r.meeting_id: r.minutes for r in hours.member_record(conn, me["id"], method_title)}
    language = me["language"] or "nl"
    out = []
    for r in rows:
        cases = [
            {"room_id": c["room_id"], "case_no": c["case_no"], "mine": bool(c["mine"])}
            for c in conn.execute(
                """SELECT mr.room_id, mr.case_no,
                          EXISTS (SELECT 1 FROM rooms x JOIN participants p ON p.id = x.inbrenger_id
                                  WHERE x.id = mr.room_id AND p.member_id = ?) AS mine
                   FROM meeting_rooms mr WHERE mr.meeting_id = ? ORDER BY mr.case_no""",
                (me["id"], r["id"]),
            )
        ]
        ended = r["ended_at"]
        out.append({
            "meeting_id": r["id"],
            "number": r["number"],
            "date": _day(r["started_at"] or r["created_at"]),
            "started_at": r["started_at"],
            "ended_at": ended,
            "open": ended is None,
            "method_id": r["method_id"] or "",
            "method": method_title(r["method_id"] or "", language),
            "role": r["role"] if r["role"] in hours.ROLES else hours.DEELNEMER,
            "minutes": minutes.get(r["id"]),
            "cases": cases,
            # When the case content of this meeting goes (the record stays longer).
            "content_until": ended + me["content_retention_days"] * DAY if ended else None,
        })
    return out


def _case_of_room(conn: Connection, room_id: str) -> Row | None:
    return conn.execute(
        """SELECT mr.case_no, m.id AS meeting_id, m.number FROM meeting_rooms mr
           JOIN meetings m ON m.id = mr.meeting_id WHERE mr.room_id = ?""",
        (room_id,),
    ).fetchone()


def _where(conn: Connection, room_id: str) -> dict[str, Any]:
    row = _case_of_room(conn, room_id)
    if row is None:
        return {"meeting_id": None, "number": None, "case_no": None}
    return {"meeting_id": row["meeting_id"], "number": row["number"], "case_no": row["case_no"]}


def _questions(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    """The questions the member brought in, once per meeting (a question not treated is carried into the
    meeting's next case room as a copy); ``treated``: it became a case."""
    rows = conn.execute(
        """SELECT c.id, c.room_id, c.title, c.question, c.created_at, (r.case_id = c.id) AS treated
           FROM cases c JOIN participants p ON p.id = c.participant_id JOIN rooms r ON r.id = c.room_id
           WHERE p.member_id = ? ORDER BY c.created_at""",
        (member_id,),
    ).fetchall()
    seen: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        where = _where(conn, r["room_id"])
        key = (where["meeting_id"] or r["room_id"], r["title"], r["question"])
        entry = seen.get(key)
        if entry is None:
            entry = seen[key] = {**where, "room_id": r["room_id"], "title": r["title"], "question": r["question"],
                                 "created_at": r["created_at"], "treated": False}
        if r["treated"]:
            entry["treated"] = True
            entry["room_id"] = r["room_id"]
            entry["case_no"] = where["case_no"]
    return sorted(seen.values(), key=lambda q: -(q["created_at"] or 0))


def own_list_rooms(conn: Connection, member_id: str) -> list[Row]:
    """The case rooms where the member was the inbrenger (and whose content is still kept), newest first:
    room id, the member's participant id there, the room's questions and end."""
    return conn.execute(
        """SELECT r.id AS room_id, r.inbrenger_id, r.question_original, r.question_reformulated, r.ended_at,
                  r.created_at, r.step_started_at
           FROM rooms r JOIN participants p ON p.id = r.inbrenger_id
           WHERE p.member_id = ? ORDER BY r.created_at DESC""",
        (member_id,),
    ).fetchall()


def is_own_list(conn: Connection, member_id: str, room_id: str) -> bool:
    return any(r["room_id"] == room_id for r in own_list_rooms(conn, member_id))


def _advice_lists(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    out = []
    for room in own_list_rooms(conn, member_id):
        statuses = {
            r["item_id"]: r["status"]
            for r in conn.execute(
                "SELECT item_id, status FROM followups WHERE member_id = ? AND room_id = ?", (member_id, room["room_id"]))
        }
        items = [
            {"id": i["id"], "number": i["number"], "text": i["text"], "speaker": i["speaker"], "source": i["source"],
             "mark": i["mark"], "note": i["note"], "followup": statuses.get(i["id"])}
            for i in advice_store.list_items(conn, room["room_id"], inbrenger_id=room["inbrenger_id"])
        ]
        out.append({
            **_where(conn, room["room_id"]),
            "room_id": room["room_id"],
            "date": _day(room["ended_at"] or room["step_started_at"] or room["created_at"]),
            "question_original": room["question_original"],
            "question_reformulated": room["question_reformulated"],
            "items": items,
            "overall_note": advice_store.overall_note(conn, room["room_id"], room["inbrenger_id"]),
        })
    return out


def _takeaways(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT t.room_id, t.text, t.shared, t.updated_at FROM takeaways t
           JOIN participants p ON p.id = t.participant_id
           WHERE p.member_id = ? AND t.text != '' ORDER BY t.updated_at DESC""",
        (member_id,),
    ).fetchall()
    return [{**_where(conn, r["room_id"]), "room_id": r["room_id"], "text": r["text"], "shared": bool(r["shared"]),
             "updated_at": r["updated_at"]} for r in rows]


def _updates(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT u.meeting_id, m.number, u.text, u.shared, u.updated_at FROM followup_updates u
           JOIN meetings m ON m.id = u.meeting_id WHERE u.member_id = ? ORDER BY m.number DESC""",
        (member_id,),
    ).fetchall()
    return [{"meeting_id": r["meeting_id"], "number": r["number"], "text": r["text"], "shared": bool(r["shared"]),
             "updated_at": r["updated_at"]} for r in rows]


def member_history(conn: Connection, member_id: str, method_title: hours.MethodTitle = hours._method_id) -> dict[str, Any]:
    """Everything the member's own page shows (docs/protocol.md, "History and record of hours").

    Raises KeyError for a member that does not exist."""
    me = member(conn, member_id)
    if me is None:
        raise KeyError(member_id)
    return {
        "member": {"id": me["id"], "name": me["name"], "role": me["role"]},
        "group": {
            "id": me["group_id"],
            "name": me["group_name"],
            "language": me["language"] or "nl",
            "facilitators": hours.facilitator_names(conn, me["group_id"]),
            "content_retention_days": me["content_retention_days"],
            "record_retention_days": me["record_retention_days"],
        },
        "meetings": _meetings(conn, me, method_title),
        "questions": _questions(conn, member_id),
        "advice_lists": _advice_lists(conn, member_id),
        "takeaways": _takeaways(conn, member_id),
        "updates": _updates(conn, member_id),
    }
