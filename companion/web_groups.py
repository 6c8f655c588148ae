"""HTTP for groups that meet again and again: the facilitator's group API and page, members' personal
links, the group's invite, meetings, and attendance (companion/groups is the domain; this module only
reads requests and answers them).

Paths (docs/protocol.md, "Groups, meetings and cases"):

- ``/groups``: the facilitator's group page. ``/api/groups[/<gid>[/members|/invite|/meetings|/facilitators]]``:
  its JSON API, for a facilitator of the group (Bearer facilitator token or the cookie their link set).
- ``/g/<gid>/m/<token>``: a member's personal link. With a meeting open: 303 to ``/r/<case room>/m/<token>``,
  which the room's process answers by letting the member in (a participant of that case room, the browser
  session set) and 303 to ``/r/<room>``. Without one: the member's own page (``MEMBER_PAGE``).
- ``/g/<gid>/i/<invite>``: the group's invite; a person types their name and gets a personal link.
- ``/r/<room>/begeleider``: a facilitator of the group enters the case room as facilitator (cookie).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from aiohttp import web

from . import hub as hub_module
from .db import Transaction
from .engine import DEFAULT_CAPACITY, MAX_CAPACITY
from .errors import ClientError
from .groups import meetings, store
from .room import FACILITATOR
from .web import _entered, facilitator_of, invite_url, page, set_room_cookie
from .web_common import (
    ENGINE,
    HUB,
    LEASES,
    MEMBER_PAGE,
    ON_ARRIVE,
    ON_GONE,
    STATE_EXTRAS,
    PerRevision,
    base_url,
    read_json,
)

log = logging.getLogger(__name__)


def member_url(request: web.Request, group_id: str, token: str) -> str:
    return f"{base_url(request)}/g/{group_id}/m/{token}"


def group_invite_url(request: web.Request, group_id: str, invite: str) -> str:
    return f"{base_url(request)}/g/{group_id}/i/{invite}"


def _html(status: int, dutch: str, english: str) -> web.Response:
    return web.Response(
        status=status, content_type="text/html",
        text=f"<!doctype html><meta charset=utf-8><title>companion</title><p>{html.escape(dutch)} / {html.escape(english)}</p>",
    )


def _led(request: web.Request) -> tuple[dict[str, Any], Any]:
    """The facilitator asking and the group in the path they lead (ClientError 401/404)."""
    me = facilitator_of(request)
    return me, store.led_group(request.app[ENGINE].conn, request.match_info["group_id"], me["id"])


def _led_lasting(request: web.Request) -> tuple[dict[str, Any], Any]:
    """As _led, for changes: a one-off room's group (one meeting, deleted with its room) is not turned into
    a lasting one (ClientError 409 ``one_off``)."""
    me, group = _led(request)
    if group["one_off"]:
        raise ClientError(409, "one_off", "Dit is een losse kamer, geen vaste groep.")
    return me, group


# ------------------------------------------------------------------ the facilitator's API
def _group_json(request: web.Request, group: Any) -> dict[str, Any]:
    conn = request.app[ENGINE].conn
    current = meetings.open_room(conn, group["id"])
    return {
        "id": group["id"],
        "name": group["name"],
        "language": group["language"],
        "method": group["method_id"],
        "one_off": bool(group["one_off"]),
        "content_retention_days": group["content_retention_days"],
        "record_retention_days": group["record_retention_days"],
        "created_at": group["created_at"],
        "has_invite": group["invite_hash"] is not None,
        "current": None if current is None else {
            "room_id": current, "room_url": f"{base_url(request)}/r/{current}",
            "enter_url": f"{base_url(request)}/r/{current}/begeleider",
        },
    }


async def list_groups(request: web.Request) -> web.Response:
    me = facilitator_of(request)
    conn = request.app[ENGINE].conn
    return web.json_response({"groups": [_group_json(request, g) for g in store.groups_of(conn, me["id"])]})


async def create_group(request: web.Request) -> web.Response:
    me = facilitator_of(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    group = store.create_group(
        engine.conn, name=body.get("name"), language=body.get("language", "nl"), method_id=body.get("method"),
        known_method=lambda m: engine.catalog.get(m) is not None, facilitator=me, now=engine.clock(),
        content_retention_days=body.get("content_retention_days"),
        record_retention_days=body.get("record_retention_days"),
    )
    return web.json_response(_group_json(request, group), status=201)


async def group_detail(request: web.Request) -> web.Response:
    _, group = _led(request)
    conn = request.app[ENGINE].conn
    out = _group_json(request, group)
    out["facilitators"] = [dict(row) for row in store.facilitators_of(conn, group["id"])]
    out["members"] = [
        {"id": m["id"], "name": m["name"], "role": m["role"], "has_link": bool(m["has_link"]),
         "facilitator": m["facilitator_id"] is not None}
        for m in store.members(conn, group["id"])
    ]
    out["meetings"] = [
        {"id": m["id"], "number": m["number"], "method": m["method_id"], "created_at": m["created_at"],
         "started_at": m["started_at"], "ended_at": m["ended_at"], "cases": m["cases"]}
        for m in meetings.meetings_of(conn, group["id"])
    ]
    return web.json_response(out)


async def update_group(request: web.Request) -> web.Response:
    """``PATCH /api/groups/<gid>``: name, language, default method, retention (the keys given)."""
    _, group = _led_lasting(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    updated = store.update_group(engine.conn, group["id"], body, lambda m: engine.catalog.get(m) is not None)
    return web.json_response(_group_json(request, updated))


async def add_member(request: web.Request) -> web.Response:
    _, group = _led_lasting(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    member_id, token = store.add_member(engine.conn, group["id"], body.get("name"), engine.clock())
    return web.json_response(
        {"member_id": member_id, "personal_url": member_url(request, group["id"], token)}, status=201
    )


async def _close_member_pages(request: web.Request, member_id: str) -> None:
    """The member's open pages in rooms of this process close (4401): their link changed."""
    conn = request.app[ENGINE].conn
    for row in conn.execute("SELECT id, room_id FROM participants WHERE member_id = ?", (member_id,)).fetchall():
        await request.app[HUB].close_participant(row["room_id"], row["id"], hub_module.RENEWED, b"personal link renewed")


async def renew_member_link(request: web.Request) -> web.Response:
    _, group = _led_lasting(request)
    await read_json(request)
    member_id = request.match_info["member_id"]
    token = store.renew_member_link(request.app[ENGINE].conn, group["id"], member_id)
    await _close_member_pages(request, member_id)
    return web.json_response({"member_id": member_id, "personal_url": member_url(request, group["id"], token)})


async def revoke_member_link(request: web.Request) -> web.Response:
    _, group = _led_lasting(request)
    member_id = request.match_info["member_id"]
    store.revoke_member_link(request.app[ENGINE].conn, group["id"], member_id)
    await _close_member_pages(request, member_id)
    return web.json_response({"member_id": member_id, "personal_url": None})


async def renew_group_invite(request: web.Request) -> web.Response:
    _, group = _led_lasting(request)
    await read_json(request)
    invite = store.renew_invite(request.app[ENGINE].conn, group["id"])
    return web.json_response({"invite_url": group_invite_url(request, group["id"], invite)})


async def add_facilitator(request: web.Request) -> web.Response:
    _, group = _led_lasting(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    account = store.add_facilitator(engine.conn, group["id"], body.get("name"), engine.clock())
    return web.json_response({"id": account["id"], "name": account["name"]}, status=201)


async def remove_facilitator(request: web.Request) -> web.Response:
    """Another facilitator (or you yourself) no longer leads the group; the last one stays."""
    _, group = _led_lasting(request)
    store.remove_facilitator(request.app[ENGINE].conn, group["id"], request.match_info["facilitator_id"])
    return web.json_response({"facilitators": [dict(row) for row in store.facilitators_of(request.app[ENGINE].conn, group["id"])]})


async def start_meeting(request: web.Request) -> web.Response:
    """A new meeting of the group and its first case room, with the facilitator in it (cookie set)."""
    me, group = _led_lasting(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    conn = engine.conn
    current = meetings.open_room(conn, group["id"])
    if current is not None:
        raise ClientError(409, "meeting_open", "Er loopt al een bijeenkomst van deze groep. Sluit die eerst af.")
    with Transaction(conn):
        member_id = store.facilitator_member(conn, group["id"], me, engine.clock())
    member = conn.execute("SELECT name FROM members WHERE id = ?", (member_id,)).fetchone()
    count = conn.execute(
        "SELECT COUNT(*) FROM members WHERE group_id = ? AND role != ?", (group["id"], store.FACILITATOR_ROLE)
    ).fetchone()[0]
    room, fac_token, invite = engine.create_room(
        group["name"], body.get("method") or group["method_id"], group["language"], member["name"],
        min(MAX_CAPACITY, max(DEFAULT_CAPACITY, count)), owner_id=me["id"],
        group={"group_id": group["id"], "member_id": member_id, "retention_days": group["content_retention_days"]},
    )
    fac_id = meetings.participant_of_member(conn, room.id, member_id)["id"]
    meeting = meetings.meeting_of_room(conn, room.id)
    if room.id not in request.app[LEASES].held:
        engine.forget(room.id)  # served where its traffic goes (as POST /api/rooms)
    return _entered(
        request, room, fac_id, fac_token, meeting_id=meeting["id"], number=meeting["number"],
        invite_url=invite_url(request, room.id, invite),
    )


# ------------------------------------------------------------------ members' links
async def member_link(request: web.Request) -> web.StreamResponse:
    """``/g/<gid>/m/<token>``: into the meeting that is open, or the member's own page."""
    conn = request.app[ENGINE].conn
    group_id, token = request.match_info["group_id"], request.match_info["token"]
    member = store.member_by_token(conn, group_id, token)
    if member is None:
        return _html(404, "Deze link is onbekend of ingetrokken. Vraag de begeleider van je groep om een nieuwe.",
                     "This link is unknown or was revoked. Ask your group's facilitator for a new one.")
    room_id = meetings.open_room(conn, group_id)
    if room_id is not None:
        raise web.HTTPSeeOther(f"/r/{room_id}/m/{token}")
    own_page = request.app.get(MEMBER_PAGE)
    group = store.group(conn, group_id)
    if own_page is not None:
        return await own_page(request, group, member)
    return _html(200, f"Er loopt nu geen bijeenkomst van {group['name']}. Open deze link opnieuw als de begeleider "
                 "de bijeenkomst is begonnen.",
                 f"No meeting of {group['name']} is running now. Open this link again once the facilitator has started it.")


async def member_enters_room(request: web.Request) -> web.StreamResponse:
    """``/r/<room>/m/<token>`` (the room's process): the member becomes a participant of this case room."""
    engine = request.app[ENGINE]
    conn = engine.conn
    room_id, token = request.match_info["room_id"], request.match_info["token"]
    group = meetings.group_of_room(conn, room_id)
    member = store.member_by_token(conn, group["id"], token) if group is not None else None
    if member is None:
        return _html(404, "Deze link is onbekend of ingetrokken. Vraag de begeleider van je groep om een nieuwe.",
                     "This link is unknown or was revoked. Ask your group's facilitator for a new one.")
    later = meetings.latest_room(conn, room_id)
    if later != room_id:
        raise web.HTTPSeeOther(f"/r/{later}/m/{token}")
    return await _enter(request, room_id, member["id"], f"/g/{group['id']}/m/{token}")


async def _enter(request: web.Request, room_id: str, member_id: str, when_over: str) -> web.StreamResponse:
    try:
        room, participant, _ = await request.app[ENGINE].enter_member(room_id, member_id)
    except ClientError as exc:
        if exc.code == "ended":
            raise web.HTTPSeeOther(when_over)
        return _html(exc.status, exc.message, exc.to_dict()["message_en"])
    response = web.HTTPSeeOther(f"/r/{room.id}")
    set_room_cookie(request, response, room.id, participant.id)
    raise response


async def facilitator_enters_room(request: web.Request) -> web.StreamResponse:
    """``/r/<room>/begeleider``: a facilitator of the room's group comes in as facilitator."""
    me = facilitator_of(request)
    engine = request.app[ENGINE]
    conn = engine.conn
    room_id = request.match_info["room_id"]
    group = meetings.group_of_room(conn, room_id)
    if group is None or not store.is_facilitator(conn, group["id"], me["id"]):
        return _html(404, "Deze kamer bestaat niet, of je bent geen begeleider van deze groep.",
                     "This room does not exist, or you are not a facilitator of this group.")
    later = meetings.latest_room(conn, room_id)
    if later != room_id:
        raise web.HTTPSeeOther(f"/r/{later}/begeleider")
    with Transaction(conn):
        member_id = store.facilitator_member(conn, group["id"], me, engine.clock())
    return await _enter(request, room_id, member_id, "/groups")


# ------------------------------------------------------------------ the group's invite
async def group_invite_info(request: web.Request) -> web.Response:
    group = store.group_by_invite(request.app[ENGINE].conn, request.match_info["group_id"], request.match_info["invite"])
    return web.json_response({"group": {"name": group["name"], "language": group["language"]}})


async def group_invite_join(request: web.Request) -> web.Response:
    body = await read_json(request)
    engine = request.app[ENGINE]
    group_id = request.match_info["group_id"]
    member_id, token = store.join_by_invite(engine.conn, group_id, request.match_info["invite"], body.get("name"),
                                            engine.clock())
    return web.json_response({"member_id": member_id, "personal_url": member_url(request, group_id, token)}, status=201)


# ------------------------------------------------------------------ state and presence
def _meeting_state(app: web.Application):
    # Per room and rev: the same for every page of the room, and a room's meeting changes only with a
    # change of the room itself (case.next, a participant coming in), which raises its rev.
    cache = PerRevision()

    def extra(room: Any, participant_id: str, role: str) -> dict[str, Any]:
        conn = app[ENGINE].conn
        summary = cache.get(room, None, lambda: meetings.summary(conn, room.id))
        if summary is None:
            return {"meeting": None}
        lists = cache.get(room, FACILITATOR if role == FACILITATOR else participant_id, lambda: (
            meetings.earlier_lists(conn, room.id, participant_id, role == FACILITATOR) if summary["case_no"] > 1 else []))
        return {"meeting": {**summary, "earlier_lists": lists}}

    return extra


def _presence(app: web.Application):
    async def arrived(room_id: str, participant_id: str) -> None:
        engine = app[ENGINE]
        with Transaction(engine.conn):
            meetings.arrive(engine.conn, room_id, participant_id, engine.clock())

    async def gone(room_id: str, participant_id: str) -> None:
        engine = app[ENGINE]
        conn = engine.conn
        member_id = meetings.member_of(conn, room_id, participant_id)
        meeting = meetings.meeting_of_room(conn, room_id)
        if member_id is None or meeting is None:
            return
        # Still on a page of another case room of the meeting (the move to the next case overlapped).
        hub = app[HUB]
        for case in meetings.case_rooms(conn, meeting["id"]):
            if case["room_id"] == room_id:
                continue
            other = meetings.participant_of_member(conn, case["room_id"], member_id)
            if other is not None and other["id"] in hub.online(case["room_id"]):
                return
        with Transaction(conn):
            meetings.leave(conn, room_id, participant_id, engine.clock())

    return arrived, gone


def setup(app: web.Application) -> None:
    app[STATE_EXTRAS].append(_meeting_state(app))
    arrived, gone = _presence(app)
    app[ON_ARRIVE].append(arrived)
    app[ON_GONE].append(gone)
    app.router.add_get("/groups", page("groups.html"))
    app.router.add_get("/api/groups", list_groups)
    app.router.add_post("/api/groups", create_group)
    app.router.add_get("/api/groups/{group_id}", group_detail)
    app.router.add_patch("/api/groups/{group_id}", update_group)
    app.router.add_post("/api/groups/{group_id}/members", add_member)
    app.router.add_post("/api/groups/{group_id}/members/{member_id}/link", renew_member_link)
    app.router.add_delete("/api/groups/{group_id}/members/{member_id}/link", revoke_member_link)
    app.router.add_post("/api/groups/{group_id}/invite", renew_group_invite)
    app.router.add_post("/api/groups/{group_id}/facilitators", add_facilitator)
    app.router.add_delete("/api/groups/{group_id}/facilitators/{facilitator_id}", remove_facilitator)
    app.router.add_post("/api/groups/{group_id}/meetings", start_meeting)
    app.router.add_get("/g/{group_id}/m/{token}", member_link)
    app.router.add_get("/g/{group_id}/i/{invite}", page("group_join.html"))
    app.router.add_get("/api/groups/{group_id}/invites/{invite}", group_invite_info)
    app.router.add_post("/api/groups/{group_id}/invites/{invite}/join", group_invite_join)
    app.router.add_get("/r/{room_id}/m/{token}", member_enters_room)
    app.router.add_get("/r/{room_id}/begeleider", facilitator_enters_room)
