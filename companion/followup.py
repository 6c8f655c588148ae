"""Follow-up on advice: what last meeting's inbrengers did with their advice, told at the next meeting.

A method may open with a ``followup`` step (companion/methods.py).  A room shows it only when it is the
first case room of a meeting whose group met before with at least one case treated; every other room
runs the method without it (:func:`shows_step`, applied when the room is loaded).

In that step each member who was inbrenger in the previous meeting sees their own advice list(s) again,
with the marks and notes they gave (``advice_marks``, ``advice_notes``), sets per advice what they did
with it (``followups``: tried / helped / not yet / dropped) and may write a short update for the meeting
(``followup_updates``).  Nobody sees another member's list or statuses; an update is seen by the others
only when its writer shares it, and then only its text.

Tables (schema revision 0004): ``followups (member_id, room_id, item_id) -> status, updated_at`` where
``room_id`` is the old case room whose list it is, and ``followup_updates (meeting_id, member_id) -> text,
shared, updated_at`` where ``meeting_id`` is the meeting the update was told in.
"""

from __future__ import annotations

import time
from typing import Any

from .advice import store
from .db import Connection, Row, Transaction
from .engine import clean_text
from .errors import bad_request, conflict, forbidden, not_found
from .groups import meetings
from .room import ENDED, Room

STATUSES = ("tried", "helped", "not_yet", "dropped")
MAX_UPDATE = 2000

NOT_YOURS = "Alleen wie de vorige keer een casus inbracht, kijkt hier terug op de eigen adviezen."


def _previous_inbrenger_meeting(conn: Connection, room_id: str) -> tuple[Row, Row] | None:
    """(this room's meeting, the previous meeting) when this is a meeting's first case room and the
    group's meeting before it treated a case; else None."""
    meeting = meetings.meeting_of_room(conn, room_id)
    if meeting is None or meeting["case_no"] != 1:
        return None
    previous = meetings.previous_meeting(conn, meeting["id"])
    if previous is None:
        return None
    # meeting_members keeps who was inbrenger as long as the record of hours (the case rooms
    # themselves go after the content retention): the step does not vanish from a running room
    # when the previous meeting's lists are deleted, and an inbrenger can still tell how it went.
    had_case = conn.execute(
        "SELECT 1 FROM meeting_members WHERE meeting_id = ? AND role = 'inbrenger' LIMIT 1", (previous["id"],)
    ).fetchone() is not None
    if not had_case and not meetings.inbrengers(conn, previous["id"]):
        return None
    return meeting, previous


def shows_step(conn: Connection, room_id: str) -> bool:
    """Whether this room runs its method's ``followup`` step (see the module's docstring).

    Decided the first time it is asked and kept with the room (``meeting_rooms.followup``): the step
    indexes of a running room count it, so a later change (the previous inbrenger deleted as a member)
    must not take it away."""
    row = conn.execute("SELECT followup FROM meeting_rooms WHERE room_id = ?", (room_id,)).fetchone()
    if row is not None and row["followup"] is not None:
        return bool(row["followup"])
    shows = _previous_inbrenger_meeting(conn, room_id) is not None
    if row is not None:
        conn.execute("UPDATE meeting_rooms SET followup = ? WHERE room_id = ? AND followup IS NULL", (int(shows), room_id))
    return shows


def _old_lists(conn: Connection, previous_id: str) -> list[tuple[str, str]]:
    """(member_id, room_id) of every case of the previous meeting, in case order."""
    return [(member_id, room_id) for member_id, room_id in meetings.inbrengers(conn, previous_id) if member_id]


def _member_names(conn: Connection, member_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for member_id in member_ids:
        row = conn.execute("SELECT name FROM members WHERE id = ?", (member_id,)).fetchone()
        if row is not None:
            names[member_id] = row["name"]
    return names


def _statuses(conn: Connection, member_id: str, room_id: str) -> dict[str, str]:
    return {
        row["item_id"]: row["status"]
        for row in conn.execute(
            "SELECT item_id, status FROM followups WHERE member_id = ? AND room_id = ?", (member_id, room_id)
        )
    }


def own_list(conn: Connection, member_id: str, room_id: str) -> dict[str, Any] | None:
    """One old case room's advice list as its inbrenger sees it again: the question, every advice with
    who gave it, the inbrenger's mark and note, and the follow-up status. None when the room is gone
    (content retention) or was not this member's case."""
    room = conn.execute(
        "SELECT id, name, inbrenger_id, case_id, question_original, question_reformulated, ended_at, created_at "
        "FROM rooms WHERE id = ?",
        (room_id,),
    ).fetchone()
    if room is None or room["inbrenger_id"] is None:
        return None
    owner = conn.execute("SELECT member_id FROM participants WHERE id = ?", (room["inbrenger_id"],)).fetchone()
    if owner is None or owner["member_id"] != member_id:
        return None
    title = None
    if room["case_id"]:
        case = conn.execute("SELECT title FROM cases WHERE id = ?", (room["case_id"],)).fetchone()
        title = case["title"] if case else None
    case_no = conn.execute("SELECT case_no FROM meeting_rooms WHERE room_id = ?", (room_id,)).fetchone()
    statuses = _statuses(conn, member_id, room_id)
    items = [
        {
            "id": item["id"],
            "number": item["number"],
            "text": item["text"],
            "speaker": item["speaker"],
            "mark": item["mark"],
            "note": item["note"],
            "status": statuses.get(item["id"]),
        }
        for item in store.list_items(conn, room_id, inbrenger_id=room["inbrenger_id"])
    ]
    return {
        "room_id": room_id,
        "case_no": case_no["case_no"] if case_no else None,
        "title": title,
        "question": room["question_reformulated"] or room["question_original"] or "",
        "date": room["ended_at"] or room["created_at"],
        "note": store.overall_note(conn, room_id, room["inbrenger_id"]),
        "items": items,
    }


def view(conn: Connection, room: Room, participant_id: str) -> dict[str, Any] | None:
    """The ``followup`` part of one participant's state in a room that shows the step; None otherwise.

    ``previous``: the meeting looked back on (number, date, names of its inbrengers: the group saw who
    brought a case); ``lists``: this participant's own lists (empty unless they were an inbrenger then);
    ``can_update``; ``mine``: their update ({text, shared}) or None; ``shared``: the updates others
    shared ({member_id, name, text}), one's own shared update included.
    """
    found = _previous_inbrenger_meeting(conn, room.id)
    if found is None:
        return None
    meeting, previous = found
    member_id = meetings.member_of(conn, room.id, participant_id)
    old = _old_lists(conn, previous["id"])
    names = _member_names(conn, list(dict.fromkeys(m for m, _ in old)))
    had_case = {m for m, _ in old}
    had_case.update(
        row["member_id"]
        for row in conn.execute(
            "SELECT member_id FROM meeting_members WHERE meeting_id = ? AND role = 'inbrenger'", (previous["id"],)
        )
    )
    names.update(_member_names(conn, [m for m in had_case if m not in names]))
    lists = []
    if member_id is not None:
        for owner, old_room in old:
            if owner == member_id:
                found_list = own_list(conn, member_id, old_room)
                if found_list is not None:
                    lists.append(found_list)
    mine = None
    shared = []
    for row in conn.execute(
        "SELECT member_id, text, shared FROM followup_updates WHERE meeting_id = ? ORDER BY updated_at",
        (meeting["id"],),
    ):
        if row["member_id"] == member_id:
            mine = {"text": row["text"], "shared": bool(row["shared"])}
        if row["shared"]:
            name = names.get(row["member_id"]) or _member_names(conn, [row["member_id"]]).get(row["member_id"], "")
            shared.append({"member_id": row["member_id"], "name": name, "text": row["text"]})
    return {
        "previous": {
            "number": previous["number"],
            "date": previous["started_at"] or previous["created_at"],
            "inbrengers": sorted((names[m] for m in had_case if m in names), key=str.lower),
        },
        "lists": lists,
        "statuses": list(STATUSES),
        "can_update": member_id is not None and member_id in had_case,
        "mine": mine,
        "shared": shared,
    }


def _writer(conn: Connection, room: Room, participant_id: str) -> tuple[str, str, str]:
    """(member_id, meeting_id, previous meeting id) of someone allowed to write a follow-up in this room."""
    if room.status == ENDED:
        raise conflict("De sessie is afgelopen.", "ended")
    found = _previous_inbrenger_meeting(conn, room.id)
    if found is None:
        raise conflict("In deze kamer is er geen vorige bijeenkomst om op terug te kijken.", "no_followup")
    meeting, previous = found
    member_id = meetings.member_of(conn, room.id, participant_id)
    if member_id is None:
        raise forbidden(NOT_YOURS, "forbidden")
    return member_id, meeting["id"], previous["id"]


def set_status(
    conn: Connection, room: Room, participant_id: str, list_room_id: Any, item_id: Any, status: Any
) -> dict[str, Any]:
    """Set (or with ``None`` clear) what the member did with one advice of their own old list.

    Returns {room_id, item_id, status}. ClientError 400 (bad status), 403 (not their list), 404 (no such
    advice in that list), 409 (meeting over, no follow-up in this room)."""
    if status is not None and status not in STATUSES:
        raise bad_request(f"status moet een van {', '.join(STATUSES)} zijn, of null", "invalid")
    member_id, _, previous_id = _writer(conn, room, participant_id)
    if not isinstance(list_room_id, str) or (member_id, list_room_id) not in set(_old_lists(conn, previous_id)):
        raise forbidden(NOT_YOURS, "forbidden")
    if own_list(conn, member_id, list_room_id) is None:
        raise not_found("Deze adviezenlijst is niet meer bewaard.", "unknown_list")
    if not isinstance(item_id, str) or not item_id:
        raise bad_request("item_id ontbreekt", "invalid")
    item = conn.execute(
        "SELECT deleted FROM advice_items WHERE room_id = ? AND id = ?", (list_room_id, item_id)
    ).fetchone()
    if item is None or item["deleted"]:
        raise not_found("Dit advies staat niet (meer) in je lijst.", "unknown_item")
    with Transaction(conn):
        if status is None:
            conn.execute(
                "DELETE FROM followups WHERE member_id = ? AND room_id = ? AND item_id = ?",
                (member_id, list_room_id, item_id),
            )
        else:
            conn.execute(
                """INSERT INTO followups (member_id, room_id, item_id, status, updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (member_id, room_id, item_id) DO UPDATE
                   SET status = excluded.status, updated_at = excluded.updated_at""",
                (member_id, list_room_id, item_id, status, time.time()),
            )
    return {"room_id": list_room_id, "item_id": item_id, "status": status}


def save_update(conn: Connection, room: Room, participant_id: str, text: Any, shared: Any) -> dict[str, Any] | None:
    """Write (empty text: withdraw) the member's short update for this meeting; ``shared`` shows its text
    to the others. Only who was inbrenger last time. Returns {text, shared} or None when withdrawn."""
    if not isinstance(shared, bool):
        raise bad_request("shared moet true of false zijn", "invalid")
    if not isinstance(text, str):
        raise bad_request("text: tekst verwacht (leeg: je bericht intrekken)", "invalid")
    cleaned = clean_text(text, "Tekst", MAX_UPDATE, required=False, multiline=True)
    member_id, meeting_id, previous_id = _writer(conn, room, participant_id)
    if not _was_inbrenger(conn, member_id, previous_id):
        raise forbidden(NOT_YOURS, "forbidden")
    with Transaction(conn):
        if not cleaned:
            conn.execute("DELETE FROM followup_updates WHERE meeting_id = ? AND member_id = ?", (meeting_id, member_id))
            return None
        conn.execute(
            """INSERT INTO followup_updates (meeting_id, member_id, text, shared, updated_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (meeting_id, member_id) DO UPDATE
               SET text = excluded.text, shared = excluded.shared, updated_at = excluded.updated_at""",
            (meeting_id, member_id, cleaned, int(shared), time.time()),
        )
    return {"text": cleaned, "shared": shared}


def _was_inbrenger(conn: Connection, member_id: str, previous_id: str) -> bool:
    if any(m == member_id for m, _ in _old_lists(conn, previous_id)):
        return True
    return conn.execute(
        "SELECT 1 FROM meeting_members WHERE meeting_id = ? AND member_id = ? AND role = 'inbrenger'",
        (previous_id, member_id),
    ).fetchone() is not None


def statuses_of_member(conn: Connection, member_id: str) -> dict[str, dict[str, str]]:
    """Every follow-up status a member set: {old room id: {item id: status}} (for their own history page)."""
    out: dict[str, dict[str, str]] = {}
    for row in conn.execute("SELECT room_id, item_id, status FROM followups WHERE member_id = ?", (member_id,)):
        out.setdefault(row["room_id"], {})[row["item_id"]] = row["status"]
    return out


def updates_of_member(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    """A member's own updates: [{meeting_id, text, shared, updated_at}], oldest first (for their history)."""
    return [
        {"meeting_id": row["meeting_id"], "text": row["text"], "shared": bool(row["shared"]), "updated_at": row["updated_at"]}
        for row in conn.execute(
            "SELECT meeting_id, text, shared, updated_at FROM followup_updates WHERE member_id = ? ORDER BY updated_at",
            (member_id,),
        )
    ]


def with_statuses(conn: Connection, member_id: str | None, room_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of a list (advice store dicts) with ``followup``: what this member, its inbrenger, did with
    each (None for a member who set none). For the inbrenger's own download of the list."""
    statuses = _statuses(conn, member_id, room_id) if member_id else {}
    return [{**item, "followup": statuses.get(item["id"])} for item in items]
