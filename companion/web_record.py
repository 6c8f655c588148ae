"""HTTP for a member's own page and history, the record of hours, the group's attendance list and deleting
a member (companion/hours.py, history.py and retention.py are the domain; this module only reads requests
and answers them).

Paths (docs/protocol.md, "History and record of hours"):

- ``/g/<gid>/m/<token>`` with no meeting open: the member's own page (static/member.html; companion/web_groups.py
  calls :func:`member_page` through ``MEMBER_PAGE``). Its script reads the group and token from the address and
  asks ``GET /api/groups/<gid>/me`` with ``Authorization: Bearer <token>``.
- ``/api/groups/<gid>/me/hours.(csv|html)``, ``/api/groups/<gid>/me/lists/<room>/export.(md|html)`` (Bearer),
  and the same under ``/g/<gid>/m/<token>/`` (``hours.csv``, ``lists/<room>.md``...) for download links:
  the personal link is the credential, as the link itself is.
- ``DELETE /api/groups/<gid>/me`` {"confirm": true}: the member deletes themselves.
- The group's facilitator: ``GET /api/groups/<gid>/attendance.csv``, ``GET /api/groups/<gid>/members/<mid>/hours.(csv|html)``,
  ``DELETE /api/groups/<gid>/members/<mid>`` {"confirm": true}.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from . import followup, history, hours
from . import hub as hub_module
from .advice import export
from .errors import ClientError, bad_request, conflict, not_found
from .groups import meetings
from .groups import store as groups
from .retention import MeetingOpen, delete_member
from .room import Room
from .shipped import STATIC
from .web import facilitator_of
from .web_advice import document_data
from .web_common import ENGINE, HUB, MEMBER_PAGE, authenticate, read_json

UNKNOWN_LINK = "Deze link is onbekend of ingetrokken. Vraag de begeleider van je groep om een nieuwe."


def _method_title(request: web.Request):
    catalog = request.app[ENGINE].catalog

    def title(method_id: str, language: str) -> str:
        method = catalog.get(method_id)
        if method is None:
            return method_id
        return method.title.get(language) or method.title.get("nl") or method_id

    return title


def _member(request: web.Request) -> Any:
    """The member asking: the token in the path (``/g/<gid>/m/<token>/...``) or ``Authorization: Bearer``;
    on a room's path (``/api/rooms/<room>/me...``) the participant the room's credentials name, as the member
    of the group they are. ClientError 401 without a token, 404 for one that is unknown, renewed or revoked."""
    if "room_id" in request.match_info:
        return _member_in_room(request)
    group_id = request.match_info["group_id"]
    token = request.match_info.get("token")
    if token is None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise ClientError(401, "no_member", "Open je persoonlijke link van de groep om dit te zien.")
        token = auth[7:].strip()
    member = groups.member_by_token(request.app[ENGINE].conn, group_id, token)
    if member is None:
        raise not_found(UNKNOWN_LINK, "unknown_link")
    return member


def _member_in_room(request: web.Request) -> Any:
    """The member a room's participant is (cookie or Bearer of the room), in a group that lasts."""
    room, participant = authenticate(request)
    conn = request.app[ENGINE].conn
    member_id = meetings.member_of(conn, room.id, participant.id)
    group = meetings.group_of_room(conn, room.id)
    if member_id is None or group is None or group["one_off"]:
        raise not_found("Deze kamer hoort niet bij een groep die vaker bijeenkomt.", "no_group")
    return groups.member(conn, group["id"], member_id)


def _led_member(request: web.Request) -> Any:
    """A facilitator of the group asking about one of its members (ClientError 401/404)."""
    me = facilitator_of(request)
    conn = request.app[ENGINE].conn
    group = groups.led_group(conn, request.match_info["group_id"], me["id"])
    return groups.member(conn, group["id"], request.match_info["member_id"])


def _language(request: web.Request, group: Any) -> str:
    wanted = request.query.get("lang")
    if wanted in hours.LABELS:
        return wanted
    return group["language"] if group["language"] in hours.LABELS else "nl"


def _download(body: str, content_type: str, name: str, inline: bool = False) -> web.Response:
    response = web.Response(text=body, content_type=content_type, charset="utf-8")
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    if content_type == "text/html":
        # Our own template with escaped text: its only script is the print button's, allowed by hash.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {export.PRINT_SCRIPT_CSP}"
        )
    return response


def _hours(request: web.Request, member: Any) -> web.Response:
    conn = request.app[ENGINE].conn
    group = groups.group(conn, member["group_id"])
    language = _language(request, group)
    rows = hours.member_record(conn, member["id"], _method_title(request))
    fmt = request.match_info["fmt"]
    name = hours.filename(hours.LABELS[language]["file_member"], member["name"], fmt)
    if fmt == "csv":
        return _download(hours.member_csv(rows, language), "text/csv", name)
    page = hours.render_html(rows, member["name"], group["name"], hours.facilitator_names(conn, group["id"]), language)
    return _download(page, "text/html", name, inline=request.query.get("download") != "1")


# ------------------------------------------------------------------ the member
async def member_page(request: web.Request, group: Any, member: Any) -> web.StreamResponse:
    """``/g/<gid>/m/<token>`` while no meeting of the group is open: the member's own page (its script fills it;
    the group's name is in its title from the start)."""
    text = (STATIC / "member.html").read_text(encoding="utf-8")
    title = f"<title>{html.escape(group['name'])} · companion</title>" if group is not None else "<title>companion</title>"
    response = web.Response(text=text.replace("<title>companion</title>", title, 1), content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


async def member_page_of_room(request: web.Request) -> web.StreamResponse:
    """``/r/<room>/mijn``: the same page for a member in a case room (the end screen links here), by the room's
    cookie; its script asks ``/api/rooms/<room>/me``."""
    conn = request.app[ENGINE].conn
    return await member_page(request, meetings.group_of_room(conn, request.match_info["room_id"]), None)


async def my_history(request: web.Request) -> web.Response:
    member = _member(request)
    data = history.member_history(request.app[ENGINE].conn, member["id"], _method_title(request))
    return web.json_response(data)


async def my_hours(request: web.Request) -> web.Response:
    return _hours(request, _member(request))


async def my_list(request: web.Request) -> web.Response:
    """One of the member's own advice lists (a case they brought in), as today's export."""
    member = _member(request)
    conn = request.app[ENGINE].conn
    room_id = request.match_info["list_id"]
    if not history.is_own_list(conn, member["id"], room_id):
        raise not_found("Deze adviezenlijst is er niet (meer), of is niet van jou.", "unknown_list")
    room = Room.load(conn, room_id)
    data = document_data(conn, room)
    data["items"] = followup.with_statuses(conn, member["id"], room_id, data["items"])
    if request.query.get("lang") in export.LABELS:
        data["language"] = request.query["lang"]
    fmt = request.match_info["fmt"]
    name = export.filename(data, fmt)
    if fmt == "md":
        return _download(export.render_markdown(data), "text/markdown", name)
    return _download(export.render_html(data), "text/html", name, inline=request.query.get("download") != "1")


async def _confirmed(request: web.Request) -> None:
    if (await read_json(request)).get("confirm") is not True:
        raise bad_request('Bevestig het verwijderen met {"confirm": true}.', "confirm_needed")


async def _delete(request: web.Request, member: Any) -> web.Response:
    engine = request.app[ENGINE]
    pages = engine.conn.execute("SELECT id, room_id FROM participants WHERE member_id = ?", (member["id"],)).fetchall()
    try:
        rooms = delete_member(engine.conn, member["id"])
    except MeetingOpen:
        raise conflict("Er loopt nog een bijeenkomst met dit lid. Verwijder het lid als die bijeenkomst is "
                       "afgelopen.", "meeting_open") from None
    for room_id in rooms:
        # The (ended) rooms read their rows again when next asked.
        engine.forget(room_id)
    for row in pages:
        await request.app[HUB].close_participant(row["room_id"], row["id"], hub_module.REMOVED, b"member deleted")
    return web.json_response({"ok": True, "rooms": len(rooms)})


async def delete_me(request: web.Request) -> web.Response:
    member = _member(request)
    await _confirmed(request)
    return await _delete(request, member)


# ------------------------------------------------------------------ the facilitator
async def attendance(request: web.Request) -> web.Response:
    me = facilitator_of(request)
    conn = request.app[ENGINE].conn
    group = groups.led_group(conn, request.match_info["group_id"], me["id"])
    language = _language(request, group)
    rows = hours.group_attendance(conn, group["id"], _method_title(request))
    name = hours.filename(hours.LABELS[language]["file_group"], group["name"], "csv")
    return _download(hours.attendance_csv(rows, language), "text/csv", name)


async def member_hours(request: web.Request) -> web.Response:
    return _hours(request, _led_member(request))


async def delete_member_of_group(request: web.Request) -> web.Response:
    member = _led_member(request)
    await _confirmed(request)
    return await _delete(request, member)


def setup(app: web.Application) -> None:
    app[MEMBER_PAGE] = member_page
    r = app.router
    r.add_get("/api/groups/{group_id}/me", my_history)
    r.add_delete("/api/groups/{group_id}/me", delete_me)
    r.add_get("/api/groups/{group_id}/me/hours.{fmt:(csv|html)}", my_hours)
    r.add_get("/api/groups/{group_id}/me/lists/{list_id}/export.{fmt:(md|html)}", my_list)
    r.add_get("/g/{group_id}/m/{token}/hours.{fmt:(csv|html)}", my_hours)
    r.add_get("/g/{group_id}/m/{token}/lists/{list_id}.{fmt:(md|html)}", my_list)
    r.add_get("/api/groups/{group_id}/attendance.csv", attendance)
    r.add_get("/api/groups/{group_id}/members/{member_id}/hours.{fmt:(csv|html)}", member_hours)
    r.add_delete("/api/groups/{group_id}/members/{member_id}", delete_member_of_group)
    # The same for a member in one of the group's case rooms, by the room's credentials (the end screen's link).
    r.add_get("/r/{room_id}/mijn", member_page_of_room)
    r.add_get("/api/rooms/{room_id}/me", my_history)
    r.add_delete("/api/rooms/{room_id}/me", delete_me)
    r.add_get("/api/rooms/{room_id}/me/hours.{fmt:(csv|html)}", my_hours)
    r.add_get("/api/rooms/{room_id}/me/lists/{list_id}.{fmt:(md|html)}", my_list)
