"""HTTP endpoints for the follow-up step, and its part of the ``state`` message (companion/followup.py).

- ``GET  /api/rooms/<room>/followup``: your own follow-up view (what the state's ``followup`` holds);
- ``PUT  /api/rooms/<room>/followup/lists/<old room>/items/<item>`` {status}: what you did with one advice
  of your own list from the previous meeting (``tried``, ``helped``, ``not_yet``, ``dropped``; null clears);
- ``PUT  /api/rooms/<room>/followup/update`` {text, shared}: your short update for the group (empty text
  withdraws it; shared=true shows its text to the others).

Only the member whose list it is reads or changes it; after a change every page of the room gets a
state with the event ``followup``.
"""

from __future__ import annotations

from typing import Any, Callable

from aiohttp import web

from . import followup
from .errors import bad_request, not_found
from .room import Room
from .web_common import ENGINE, HUB, STATE_EXTRAS, PerRevision, authenticate, read_json

EVENT = "followup"
REGISTERED = web.AppKey("followup_registered", bool)


def state_extra(app: web.Application) -> Callable[[Room, str, str], dict[str, Any]]:
    # Built once per change (rev) and participant: a page gets a state after every change in the room
    # (a raised hand, someone coming in), and each view reads a few lists (a round trip each on PostgreSQL).
    cache = PerRevision()

    def extra(room: Room, participant_id: str, role: str) -> dict[str, Any]:
        # Sent while the follow-up step is on: each page gets only its own lists.
        step = room.step
        if step is None or step.kind != "followup":
            cache.drop(room.id)
            return {}
        view = cache.get(room, participant_id, lambda: followup.view(app[ENGINE].conn, room, participant_id))
        return {"followup": view} if view is not None else {}

    return extra


async def _changed(app: web.Application, room: Room) -> None:
    engine = app[ENGINE]
    engine.touch(room)
    await app[HUB].push_state(room, (EVENT,))


async def get_view(request: web.Request) -> web.Response:
    room, me = authenticate(request)
    view = followup.view(request.app[ENGINE].conn, room, me.id)
    if view is None:
        raise not_found("In deze kamer is er geen vorige bijeenkomst om op terug te kijken.", "no_followup")
    return web.json_response(view)


async def set_status(request: web.Request) -> web.Response:
    room, me = authenticate(request)
    body = await read_json(request)
    if "status" not in body:
        raise bad_request("Geef status (of null om hem te wissen).", "invalid")
    result = followup.set_status(
        request.app[ENGINE].conn, room, me.id, request.match_info["list_room_id"], request.match_info["item_id"],
        body.get("status"),
    )
    await _changed(request.app, room)
    return web.json_response(result)


async def save_update(request: web.Request) -> web.Response:
    room, me = authenticate(request)
    body = await read_json(request)
    result = followup.save_update(request.app[ENGINE].conn, room, me.id, body.get("text"), body.get("shared", False))
    await _changed(request.app, room)
    return web.json_response({"update": result})


def setup(app: web.Application) -> None:
    """Routes and the ``followup`` part of every state message."""
    if app.get(REGISTERED):
        return
    app[REGISTERED] = True
    app[STATE_EXTRAS].append(state_extra(app))
    base = "/api/rooms/{room_id}/followup"
    app.router.add_get(base, get_view)
    app.router.add_put(base + "/lists/{list_room_id}/items/{item_id}", set_status)
    app.router.add_put(base + "/update", save_update)
