"""HTTP endpoints for the advice list, the advice part of the ``state`` message, and the live feed.

Who may do what is decided here, on the server:

- everyone in the room reads the list (text and speaker);
- only the facilitator corrects it (edit, merge, split, delete, restore, add, move);
- only the inbrenger marks items and writes notes, and not while the advice round
  is the current step (the inbrenger listens then; marks come the step after);
  marks and notes are shown to the inbrenger and the facilitator only;
- only the inbrenger and the facilitator download the document or delete the data.

``setup(app)`` registers everything; see the module's end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Callable, Iterable

from aiohttp import web

from . import followup
from .advice import aside, export, store
from .errors import ClientError, bad_request, conflict, forbidden
from .groups import meetings
from .retention import delete_room
from .room import ENDED, FACILITATOR, INBRENGER, Room
from .web_common import ENGINE, HUB, LIVE, STATE_EXTRAS, PerRevision, authenticate, read_json

log = logging.getLogger(__name__)

EVENT = "advice"
LOOP = web.AppKey("advice_loop", asyncio.AbstractEventLoop)
REGISTERED = web.AppKey("advice_registered", bool)


# ------------------------------------------------------------------ views
def _view_item(item: dict[str, Any], role: str) -> dict[str, Any]:
    view = {
        "id": item["id"],
        "number": item.get("number"),
        "participant_id": item["participant_id"],
        "speaker": item["speaker"],
        "start": item["start"],
        "end": item["end"],
        "text": item["text"],
        "source": item["source"],
        "edited": item["edited"],
    }
    if item.get("language"):
        view["language"] = item["language"]  # heard in another language than the room's
    if role in (FACILITATOR, INBRENGER):
        view["mark"] = item["mark"]
        view["note"] = item["note"]
    if role == FACILITATOR:
        view["original"] = item["original"]
    return view


def advice_view(conn, room: Room, participant_id: str, role: str) -> dict[str, Any]:
    items = [_view_item(i, role) for i in store.list_items(conn, room.id, inbrenger_id=room.inbrenger_id)]
    view: dict[str, Any] = {
        "items": items,
        "can_edit": role == FACILITATOR,
        "can_mark": role == INBRENGER,
        # False while the advice round is on: the page shows the inbrenger a calm list without buttons.
        "marks_open": marks_open(room),
        "can_download": role in (FACILITATOR, INBRENGER),
    }
    if role in (FACILITATOR, INBRENGER):
        view["note"] = store.overall_note(conn, room.id, room.inbrenger_id)
        # Speech kept out of the list, with the reason; the facilitator can restore it.
        view["set_aside"] = [_view_aside(a) for a in aside.list_set_aside(conn, room.id)]
    return view


def _view_aside(piece: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": piece["id"],
        "participant_id": piece["participant_id"],
        "speaker": piece["speaker"],
        "start": piece["start"],
        "end": piece["end"],
        "text": piece["text"],
        "reason": piece["reason"],
        "language": piece["language"],
    }


def state_extra(app: web.Application) -> Callable[[Room, str, str], dict[str, Any]]:
    # Built once per change (rev) and role, not once per participant: the list is the largest part
    # of a state message, and every page of the room gets one after each change.
    cache = PerRevision()

    def extra(room: Room, participant_id: str, role: str) -> dict[str, Any]:
        return {"advice": cache.get(room, role, lambda: advice_view(app[ENGINE].conn, room, participant_id, role))}

    return extra


async def _changed(app: web.Application, room_id: str) -> None:
    """Tell every open page: a full state with the event ``advice`` (clients replace what they have)."""
    engine = app[ENGINE]
    room = engine.get(room_id)
    engine.touch(room)
    await app[HUB].push_state(room, (EVENT,))


# ------------------------------------------------------------------ helpers
def _who(request: web.Request) -> tuple[Room, Any, str]:
    room, me = authenticate(request)
    return room, me, room.role_of(me.id)


def _require(role: str, allowed: Iterable[str], what: str) -> None:
    if role not in allowed:
        raise forbidden(what, "forbidden")


FAC_ONLY = "Alleen de begeleider kan de adviezenlijst aanpassen."
INB_ONLY = "Alleen de inbrenger beoordeelt de adviezen en schrijft er notities bij."
DOWNLOAD_ONLY = "Alleen de inbrenger en de begeleider kunnen de adviezen downloaden."
DELETE_ONLY = "Alleen de inbrenger en de begeleider kunnen de gegevens verwijderen."


def marks_open(room: Room) -> bool:
    """Whether the inbrenger may mark items and write notes now: at any time except while an
    advice step is the current step of a running session (the method: listen without reacting)."""
    step = room.step
    return not (step is not None and step.kind == "advice")


def _require_marks_open(room: Room) -> None:
    if not marks_open(room):
        raise conflict(
            "Tijdens de adviesronde luister je alleen. Na de ronde geef je bij elk advies aan wat je ermee wilt.",
            "advice_round",
        )


def _item_id(request: web.Request) -> str:
    return request.match_info["item_id"]


async def _facilitator_call(request: web.Request, fn: Callable[..., Any], *args: Any) -> tuple[Room, Any]:
    room, me, role = _who(request)
    _require(role, (FACILITATOR,), FAC_ONLY)
    result = fn(request.app[ENGINE].conn, room.id, *args, me.id)
    await _changed(request.app, room.id)
    return room, result


# ------------------------------------------------------------------ handlers
async def list_advice(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    return web.json_response(advice_view(request.app[ENGINE].conn, room, me.id, role))


async def item_history(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (FACILITATOR,), "Alleen de begeleider ziet de geschiedenis van de aanpassingen.")
    conn = request.app[ENGINE].conn
    item = store.get_item(conn, room.id, _item_id(request))
    return web.json_response({"item": item, "history": store.history(conn, room.id, item["id"])})


async def update_item(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (FACILITATOR,), FAC_ONLY)
    body = await read_json(request)
    if not ({"text", "participant_id"} & body.keys()):
        raise bad_request("Geef text en/of participant_id.", "invalid")
    conn = request.app[ENGINE].conn
    item_id = _item_id(request)
    store.get_item(conn, room.id, item_id)
    # Check both before writing either, so a refused half leaves nothing changed.
    speaker = body.get("participant_id")
    if speaker is not None and not isinstance(speaker, str):
        raise bad_request("participant_id moet tekst of null zijn", "invalid")  # a list here was a 500
    if speaker is not None and speaker not in room.participants:
        raise ClientError(404, "unknown_participant", "Deze deelnemer is niet in deze kamer.")
    item = None
    if "text" in body:
        item = store.edit_text(conn, room.id, item_id, body["text"], me.id)
    if "participant_id" in body:
        item = store.set_speaker(conn, room.id, item_id, body["participant_id"], me.id)
    await _changed(request.app, room.id)
    return web.json_response({"item": _view_item(item, role)})


async def merge(request: web.Request) -> web.Response:
    body = await read_json(request)
    room, item = await _facilitator_call(request, store.merge_items, body.get("first"), body.get("second"))
    return web.json_response({"item": _view_item(item, FACILITATOR)})


async def split(request: web.Request) -> web.Response:
    body = await read_json(request)
    room, (head, tail) = await _facilitator_call(request, store.split_item, _item_id(request), body.get("at"))
    return web.json_response({"items": [_view_item(head, FACILITATOR), _view_item(tail, FACILITATOR)]})


async def remove(request: web.Request) -> web.Response:
    room, item = await _facilitator_call(request, store.delete_item, _item_id(request))
    return web.json_response({"item": {"id": item["id"], "deleted": True}})


async def restore(request: web.Request) -> web.Response:
    room, item = await _facilitator_call(request, store.restore_item, _item_id(request))
    return web.json_response({"item": _view_item(item, FACILITATOR)})


async def restore_aside(request: web.Request) -> web.Response:
    room, item = await _facilitator_call(request, store.restore_set_aside, request.match_info["aside_id"])
    return web.json_response({"item": _view_item(item, FACILITATOR)}, status=201)


async def add(request: web.Request) -> web.Response:
    body = await read_json(request)
    room, item = await _facilitator_call(
        request, lambda conn, room_id, actor: store.add_item(conn, room_id, body.get("text"), body.get("participant_id"), actor, body.get("after"))
    )
    return web.json_response({"item": _view_item(item, FACILITATOR)}, status=201)


async def move(request: web.Request) -> web.Response:
    body = await read_json(request)
    room, items = await _facilitator_call(request, store.move_item, _item_id(request), body.get("index"))
    return web.json_response({"items": [_view_item(i, FACILITATOR) for i in items]})


async def mark(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (INBRENGER,), INB_ONLY)
    _require_marks_open(room)
    body = await read_json(request)
    if "mark" not in body:
        raise bad_request("mark ontbreekt (useful, not_for_me, ask of null).", "invalid")
    item = store.set_mark(request.app[ENGINE].conn, room.id, _item_id(request), body["mark"], me.id)
    await _changed(request.app, room.id)
    return web.json_response({"item": _view_item(item, role)})


async def item_note(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (INBRENGER,), INB_ONLY)
    _require_marks_open(room)
    body = await read_json(request)
    item = store.set_item_note(request.app[ENGINE].conn, room.id, _item_id(request), body.get("note"), me.id)
    await _changed(request.app, room.id)
    return web.json_response({"item": _view_item(item, role)})


async def overall_note(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (INBRENGER,), INB_ONLY)
    _require_marks_open(room)
    body = await read_json(request)
    text = store.set_overall_note(request.app[ENGINE].conn, room.id, me.id, body.get("text"))
    await _changed(request.app, room.id)
    return web.json_response({"note": text})


def document_data(conn, room: Room) -> dict[str, Any]:
    """The plain data the export renders, read from the room and the store."""
    when = room.ended_at or room.timer.started_at or room.created_at
    takeaways = []
    for row in conn.execute(
        "SELECT participant_id, text FROM takeaways WHERE room_id = ? AND shared = 1 ORDER BY updated_at", (room.id,)
    ):
        person = room.participants.get(row["participant_id"])
        takeaways.append({"name": person.name if person else "", "text": row["text"]})
    return {
        "group": room.name,
        "method": room.method.title,
        "date": dt.date.fromtimestamp(when),
        "language": room.language,
        "inbrenger": room.inbrenger.name if room.inbrenger else None,
        "question_original": room.question_original,
        "question_reformulated": room.question_reformulated,
        "items": store.list_items(conn, room.id, inbrenger_id=room.inbrenger_id),
        "overall_note": store.overall_note(conn, room.id, room.inbrenger_id),
        "takeaways": takeaways,
    }


async def download(request: web.Request) -> web.Response:
    room, me, role = _who(request)
    _require(role, (FACILITATOR, INBRENGER), DOWNLOAD_ONLY)
    fmt = request.match_info["fmt"]
    conn = request.app[ENGINE].conn
    data = document_data(conn, room)
    if role == INBRENGER:
        # What they did with each advice, once they told it at the next meeting (companion/followup.py).
        data["items"] = followup.with_statuses(conn, meetings.member_of(conn, room.id, me.id), room.id, data["items"])
    if request.query.get("lang") in export.LABELS:
        data["language"] = request.query["lang"]
    if fmt == "md":
        body, content_type, disposition = export.render_markdown(data), "text/markdown", "attachment"
    else:
        body, content_type = export.render_html(data), "text/html"
        # Inline by default: the page opens ready for the browser's print dialog.
        disposition = "attachment" if request.query.get("download") == "1" else "inline"
    response = web.Response(text=body, content_type=content_type, charset="utf-8")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{export.filename(data, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    # The page is our own template with escaped text: its only script is the print button's, allowed by hash.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {export.PRINT_SCRIPT_CSP}"
    )
    return response


async def delete_advice_data(request: web.Request) -> web.Response:
    """The advice rows of this room, now (the room itself goes on)."""
    room, me, role = _who(request)
    _require(role, (FACILITATOR, INBRENGER), DELETE_ONLY)
    removed = store.delete_room_data(request.app[ENGINE].conn, room.id)
    await _changed(request.app, room.id)
    return web.json_response({"ok": True, "rows": removed})


async def delete_session_now(request: web.Request) -> web.Response:
    """The "delete now" button: every row of an ended session, for real."""
    room, me, role = _who(request)
    _require(role, (FACILITATOR, INBRENGER), DELETE_ONLY)
    if room.status != ENDED:
        raise conflict("Beëindig eerst de sessie; daarna kun je alles verwijderen.", "not_ended")
    if (await read_json(request)).get("confirm") is not True:
        raise bad_request('Bevestig het verwijderen met {"confirm": true}.', "confirm_needed")
    engine = request.app[ENGINE]
    delete_room(engine.conn, room.id)
    engine.rooms.pop(room.id, None)
    await request.app[HUB].close_room(room.id)
    await request.app[LIVE].room_deleted(room.id)
    return web.json_response({"ok": True})


# ------------------------------------------------------------------ live feed
async def ingest(app: web.Application, room_id: str, utterances: Iterable[Any]) -> list[dict[str, Any]]:
    """New utterances of a transcribed advice step become items; open pages get a new state."""
    engine = app[ENGINE]
    try:
        room = engine.get(room_id)
    except ClientError:
        return []  # the room was deleted meanwhile
    # A method may transcribe other steps too; only what was said in an advice step is advice.
    kinds = {step.id: step.kind for step in room.method.steps}

    def in_advice_step(utterance: Any) -> bool:
        step_id = utterance.get("step_id") if isinstance(utterance, dict) else getattr(utterance, "step_id", None)
        return step_id is None or kinds.get(step_id) == "advice"

    before = store.signature(engine.conn, room.id)
    changed = store.ingest_utterances(engine.conn, room.id, [u for u in utterances if in_advice_step(u)], room.language)
    # Set-aside speech is pushed live like items, and so is a turn decoded again that replaced items.
    if changed or store.signature(engine.conn, room.id) != before:
        await _changed(app, room.id)
    return changed


def utterance_sink(app: web.Application) -> Callable[[Any], None]:
    """A plain callable for the transcription service: safe to call from any thread.

    Each utterance needs ``room_id``, ``id``, ``participant_id`` (or
    ``speaker_id``), ``start``, ``end`` and ``text`` (attributes or keys).
    """

    def sink(utterance: Any) -> None:
        room_id = utterance.get("room_id") if isinstance(utterance, dict) else getattr(utterance, "room_id", None)
        if not room_id:
            log.warning("utterance without room_id ignored")
            return
        loop = app.get(LOOP)
        if loop is None:
            return

        def schedule() -> None:
            task = asyncio.ensure_future(ingest(app, room_id, [utterance]))
            task.add_done_callback(_log_failure)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            schedule()
        else:
            loop.call_soon_threadsafe(schedule)

    return sink


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("advice ingest failed", exc_info=task.exception())


# ------------------------------------------------------------------ registration
def setup(app: web.Application) -> None:
    """Routes, the ``advice`` part of every state message, and the event loop for the live feed."""
    if app.get(REGISTERED):
        return  # create_app registers it; a second call must not double routes or state
    app[REGISTERED] = True
    app[STATE_EXTRAS].append(state_extra(app))

    async def remember_loop(app: web.Application) -> None:
        app[LOOP] = asyncio.get_running_loop()

    app.on_startup.append(remember_loop)
    base = "/api/rooms/{room_id}/advice"
    r = app.router
    r.add_get(base, list_advice)
    r.add_post(base, add)
    r.add_delete(base, delete_advice_data)
    r.add_post(base + "/merge", merge)
    r.add_put(base + "/note", overall_note)
    r.add_get(base + "/export.{fmt:(md|html)}", download)
    r.add_patch(base + "/{item_id}", update_item)
    r.add_delete(base + "/{item_id}", remove)
    r.add_get(base + "/{item_id}/history", item_history)
    r.add_post(base + "/{item_id}/split", split)
    r.add_post(base + "/{item_id}/restore", restore)
    r.add_post(base + "/aside/{aside_id}/restore", restore_aside)
    r.add_post(base + "/{item_id}/move", move)
    r.add_put(base + "/{item_id}/mark", mark)
    r.add_put(base + "/{item_id}/note", item_note)
    r.add_post("/api/rooms/{room_id}/delete-now", delete_session_now)
