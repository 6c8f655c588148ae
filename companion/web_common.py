"""What every module of the HTTP layer shares: the application's keys, who is asking, a JSON body.

The HTTP layer (``web.py``, ``web_advice.py``) imports the domain packages (engine, media, speech,
advice); the domain packages never import this layer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

from aiohttp import web

from . import browser_sessions
from .config import Settings
from .engine import PhaseEngine
from .errors import ClientError, bad_request
from .hub import Hub
from .leases import Leases
from .live import Live
from .room import Room

MAX_BODY = 256 * 1024
BODY_SECONDS = 10.0

ENGINE = web.AppKey("engine", PhaseEngine)
HUB = web.AppKey("hub", Hub)
SETTINGS = web.AppKey("settings", Settings)
# Extra parts of the state message (advice list, transcription status...), per room and participant.
STATE_EXTRAS = web.AppKey("state_extras", list)
# Handlers for WebSocket message types other than commands, keyed by prefix ("media.").
WS_HANDLERS = web.AppKey("ws_handlers", dict)
# Called when a participant's last socket closes: async fn(room_id, participant_id).
ON_GONE = web.AppKey("on_gone", list)
# Called when a participant's first page connects (they were not present): async fn(room_id, participant_id).
ON_ARRIVE = web.AppKey("on_arrive", list)
# A member's own page when their group has no meeting open (companion/web_groups.py calls it for
# /g/<group>/m/<token>): async fn(request, group_row, member_row) -> web.StreamResponse.
MEMBER_PAGE = web.AppKey("member_page", object)

LIVE = web.AppKey("live", Live)
# Which rooms this process serves (companion/leases.py).
LEASES = web.AppKey("leases", Leases)

def legacy_cookie_name(room_id: str) -> str:
    # Before the session cookie: one cookie per room with the token itself (Path=/, 90 days).
    return f"companion_{room_id}"


def _https(request: web.Request) -> bool:
    return base_url(request).startswith("https://")


def session_cookie(request: web.Request) -> str:
    # __Host-: sent only to this exact origin over https, never set by a sibling subdomain.
    return "__Host-companion" if _https(request) else "companion"



def authenticate(request: web.Request) -> tuple[Room, Any]:
    """The room in the path and who is asking: ``Authorization: Bearer <personal token>``, else the
    browser's session cookie, else (pages from before it) the room's own cookie. ClientError 401/403/404."""
    room_id = request.match_info["room_id"]
    engine = request.app[ENGINE]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return engine.authenticate(auth[7:].strip(), room_id)
    pid = browser_sessions.participant(engine.conn, request.cookies.get(session_cookie(request)), room_id)
    if pid is not None:
        room = engine.get(room_id)
        if pid in room.participants and not room.participants[pid].removed:
            return room, room.participants[pid]
    return engine.authenticate(request.cookies.get(legacy_cookie_name(room_id)), room_id)


def base_url(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    configured = settings.public_url
    if configured:
        return configured.rstrip("/")
    if request.remote not in settings.trusted_proxies:
        # Anyone can send X-Forwarded-*: believed only from the operator's own proxy.
        return f"{request.scheme}://{request.host}"
    # Behind a reverse proxy that sets X-Forwarded-Proto/Host.
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}"



def client_address(request: web.Request) -> str:
    """The client's address, for the limits per address. Behind one of the operator's proxies
    (``--trusted-proxy``) the last address in X-Forwarded-For, the one that proxy saw; else the peer's
    (behind a proxy that is not trusted: the proxy's, shared by everyone)."""
    remote = request.remote or "?"
    if remote in request.app[SETTINGS].trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return remote


async def read_json(request: web.Request) -> dict[str, Any]:
    if request.content_length and request.content_length > MAX_BODY:
        raise ClientError(413, "too_large", "Het verzoek is te groot.")
    try:
        # A body trickling in (one byte every few seconds) must not hold a connection for ever.
        raw = await asyncio.wait_for(request.read(), BODY_SECONDS)
    except asyncio.TimeoutError:
        raise ClientError(408, "slow_body", "Het verzoek kwam te langzaam binnen.") from None
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        # RecursionError: thousands of nested brackets.
        raise bad_request("Geen geldige JSON.", "bad_json") from None
    if not isinstance(body, dict):
        raise bad_request("Een JSON-object verwacht.", "bad_json")
    return body


class PerRevision:
    """Parts of a room's state message computed once per room revision and key (a role, a participant).

    Every page of a room gets a state after each change in it (a raised hand, someone coming in), and many
    parts are the same for many pages or cost database reads (a round trip each on PostgreSQL). Past
    ``rooms`` rooms everything is forgotten at once (a process rarely holds so many)."""

    def __init__(self, rooms: int = 256):
        self._rooms = rooms
        self._cache: dict[str, tuple[int, dict[Any, Any]]] = {}

    def get(self, room: Room, key: Any, compute: Callable[[], Any]) -> Any:
        rev, values = self._cache.get(room.id, (None, None))
        if rev != room.rev or values is None:
            if len(self._cache) > self._rooms:
                self._cache.clear()
            values = {}
            self._cache[room.id] = (room.rev, values)
        if key not in values:
            values[key] = compute()
        return values[key]

    def drop(self, room_id: str) -> None:
        self._cache.pop(room_id, None)
