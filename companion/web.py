"""The aiohttp application: pages, the JSON API and one WebSocket per participant.

Access is by secret links.  ``/r/<room>/k/<token>`` is a person's own link: it sets a
cookie for that room and opens it, so a reload or a dropped connection comes
back as the same person in the same role.  Every path that concerns a room
carries its id (``/r/<room>/...``, ``/api/rooms/<room>/...``), so a proxy can send
a room's traffic to the one process that serves it; the links from before
(``/k/<token>``, ``/i/<invite>``) redirect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import socket
import sys
import time
from collections import defaultdict
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.web_urldispatcher import SystemRoute
from yarl import URL

from . import browser_sessions, db, facilitators, tokens, web_advice, web_followup
from . import hub as hub_module
from .config import Settings
from .engine import PhaseEngine
from .front import worker_for
from .errors import ClientError, bad_request, conflict
from .hub import Hub
from .leases import Leases, NodeIdInUse
from .live import Live
from .methods import SHIPPED_METHODS, load_catalog
from .retention import purge_expired
from .shipped import STATIC
from .room import FACILITATOR, Room
from .views import PROTOCOL_VERSION, snapshot
from .web_common import (  # noqa: F401  (names other modules and tests take from here)
    ENGINE,
    HUB,
    LEASES,
    LIVE,
    MAX_BODY,
    ON_ARRIVE,
    ON_GONE,
    SETTINGS,
    STATE_EXTRAS,
    WS_HANDLERS,
    _https,
    authenticate,
    base_url,
    client_address,
    legacy_cookie_name,
    read_json,
    session_cookie,
)

log = logging.getLogger(__name__)

MAX_WS_MESSAGE = 256 * 1024
# Seconds a participant whose socket was lost (not closed) still counts as present.
PRESENCE_GRACE = 10.0
FACILITATOR_COOKIE_DAYS = 365

RETENTION_TASK = web.AppKey("retention_task", asyncio.Task)
LEASE_TASK = web.AppKey("lease_task", asyncio.Task)
# One lock per room being taken over, so two requests arriving together restore it once.
LEASE_LOCKS = web.AppKey("lease_locks", dict)
# Open WebSockets per client address, and the message bucket per (room, participant).
WS_PER_IP = web.AppKey("ws_per_ip", dict)
WS_BUCKETS = web.AppKey("ws_buckets", dict)
# Sockets let in by the browser's session cookie: socket -> (room id, participant id, session).
WS_COOKIE_SESSIONS = web.AppKey("ws_cookie_sessions", dict)
HTTP_LIMITS = web.AppKey("http_limits", object)
MAX_SOCKETS_PER_IP = 64


def facilitator_cookie(request: web.Request) -> str:
    # __Host-: only this exact origin over https may set or read it (no sibling subdomain).
    return "__Host-companion_fac" if base_url(request).startswith("https://") else "companion_fac"


def facilitator_of(request: web.Request) -> dict[str, Any]:
    """The facilitator making this request (Bearer facilitator token, or the cookie their link set).

    Raises ClientError 401 with how to get a facilitator link."""
    token = None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth[7:].strip()
    token = token or request.cookies.get(facilitator_cookie(request))
    found = facilitators.authenticate(request.app[ENGINE].conn, token)
    if found is None:
        raise ClientError(
            401,
            "no_facilitator",
            "Alleen begeleiders die de beheerder van deze server kent, kunnen een kamer maken. "
            "Open je persoonlijke begeleiderslink, of vraag de beheerder om er een te maken.",
        )
    return found


def set_room_cookie(request: web.Request, response: web.StreamResponse, room_id: str, participant_id: str) -> None:
    """This browser is ``participant_id`` in the room: one session cookie for all rooms, kept as long
    as a session's data may be (retention, plus the day a room may wait to start)."""
    conn = request.app[ENGINE].conn
    session = request.cookies.get(session_cookie(request))
    if not browser_sessions.valid(session):
        session = tokens.new_token()
    browser_sessions.remember(conn, session, room_id, participant_id)
    response.set_cookie(
        session_cookie(request),
        session,
        max_age=(request.app[SETTINGS].retention_days + 1) * 86400,
        httponly=True,
        samesite="Strict",  # the room page itself needs no cookie; its own requests are same-site
        secure=_https(request),
        path="/",
    )
    # Per-room cookies from before: the browser drops them (they made the header grow without end).
    for name in request.cookies:
        if name.startswith("companion_") and name != "companion_fac":
            response.del_cookie(name, path="/")


def route_pattern(request: web.Request) -> str:
    """What a log line may say about a request: the route (/r/{room_id}/k/{token}), never the path with the secret in it."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


class _NoRequestDetails(logging.Filter):
    """aiohttp logs a request it cannot parse with the exception, whose text quotes the request line or
    header (an oversized Cookie header carries personal tokens). Kept: who and what kind; at debug level,
    since scanners on the open internet send such requests all day."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        exc = record.exc_info[1]
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "refused a malformed request from %s (%s)", (remote, type(exc).__name__)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _quiet_request_errors() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoRequestDetails) for f in server_log.filters):
        server_log.addFilter(_NoRequestDetails())


def _clear_stale_cookies(request: web.Request, response: web.StreamResponse) -> None:
    """A refused room request: the room's old cookie goes, and the session cookie once it names no room."""
    room_id = request.match_info.get("room_id")
    if room_id and legacy_cookie_name(room_id) in request.cookies:
        response.del_cookie(legacy_cookie_name(room_id), path="/")
    name = session_cookie(request)
    if name in request.cookies and browser_sessions.rooms_left(request.app[ENGINE].conn, request.cookies[name]) == 0:
        response.del_cookie(name, path="/", secure=_https(request), samesite="Strict", httponly=True)


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ClientError as exc:
        response = web.json_response({"error": exc.to_dict()}, status=exc.status, headers=exc.headers)
        if exc.status in (401, 403, 404):
            _clear_stale_cookies(request, response)
        return response
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": ClientError(413, "too_large", "Het verzoek is te groot.").to_dict()}, status=413)
    except web.HTTPException as exc:
        if exc.status in (404, 405) and isinstance(request.match_info.route, SystemRoute):
            return _no_such_path(request, exc)
        raise
    except asyncio.CancelledError:
        raise
    except ConnectionError:
        # The client went away mid-request (closed tab, lost wifi): nothing to answer, nothing wrong here.
        log.debug("client went away during %s %s", request.method, route_pattern(request))
        return web.Response(status=499)
    except db.PgUnavailable as exc:
        # PostgreSQL restarting or out of reach: the page tries again; the operator gets one line, not a traceback.
        log.warning("database unavailable on %s %s: %s", request.method, route_pattern(request), str(exc).splitlines()[0])
        error = ClientError(503, "database_unavailable", "De server kan zijn database even niet bereiken. Probeer het over "
                            "een paar seconden opnieuw.", {"Retry-After": "5"})
        return web.json_response({"error": error.to_dict()}, status=503, headers=error.headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, route_pattern(request))
        return web.json_response({"error": ClientError(500, "internal", "Er ging iets mis op de server.").to_dict()}, status=500)


NO_SUCH_PAGE = (
    "<!doctype html><meta charset=utf-8><title>companion</title>"
    "<p>Deze pagina bestaat niet. Kijk of de link helemaal en precies is overgenomen."
    " / This page does not exist. Check that the whole link was copied exactly.</p>"
)


def _no_such_path(request: web.Request, exc: web.HTTPException) -> web.Response:
    """A path no route knows (a mistyped or cut-off link), or a method it does not take: a Dutch answer,
    not aiohttp's bare English "404: Not Found"."""
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    if request.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
        if exc.status == 405:
            error = ClientError(405, "method_not_allowed", "Dit adres neemt dit soort verzoek niet aan.")
        else:
            error = ClientError(404, "not_found", "Dit adres bestaat niet.")
        return web.json_response({"error": error.to_dict()}, status=error.status, headers=headers)
    return web.Response(status=exc.status, content_type="text/html", text=NO_SUCH_PAGE, headers=headers)


# Only our own files: no inline script or style, no other origin (WebSocket and fetch go to 'self').
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def own_origin(request: web.Request) -> str:
    return str(URL(base_url(request)).origin()).lower()


@web.middleware
async def cross_site_guard(request: web.Request, handler):
    """Refuse what another website's page could make a browser send with our cookies.

    Every state change (POST, PUT, PATCH, DELETE) and the WebSocket upgrade must come from our own
    origin when the browser says where it comes from (Origin, Sec-Fetch-Site; clients that are not
    browsers send neither), and bodies must be JSON: a cross-site form can only send form or text."""
    upgrade = request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method in UNSAFE_METHODS or upgrade:
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if (site is not None and site not in ("same-origin", "none")) or (
            origin is not None and origin.lower() != own_origin(request)
        ):
            raise ClientError(403, "cross_site", "Dit verzoek kwam van een andere website en is geweigerd.")
        if request.method != "DELETE" or request.body_exists:
            if request.method in UNSAFE_METHODS and request.content_type != "application/json":
                raise ClientError(415, "json_only", "Stuur JSON (Content-Type: application/json).")
    return await handler(request)


# ------------------------------------------------------------ room leases
# Close code of a room's WebSocket when another process serves the room (docs/protocol.md).
ROOM_ELSEWHERE_CLOSE = 4503
ROOM_ELSEWHERE = "Deze kamer wordt nu door een ander serverproces bediend. Probeer het over een paar seconden opnieuw."
# Pages that are the same file for every room: served by any process, their requests then find the room.
PAGES_WITHOUT_LEASE = frozenset({"/r/{room_id}", "/r/{room_id}/i/{invite}"})


class RoomElsewhere(ClientError):
    """503: another live process holds the room's lease; Retry-After says when it ends at the latest."""

    def __init__(self, seconds: float):
        retry = max(1, math.ceil(seconds))
        super().__init__(503, "room_elsewhere", ROOM_ELSEWHERE, {"Retry-After": str(retry)})
        self.retry = retry


async def serve_room(app: web.Application, room_id: str) -> None:
    """This process serves the room from now on, or raises RoomElsewhere.

    Fast when it already does (no database).  Else it takes the lease, which succeeds when nobody
    holds it or the holder's lease expired (its process died or stalled), and restores the room from
    the database exactly as a restart does: state, timer signal, media gates, transcription.  An
    unknown room id passes: the handler answers 404."""
    leases = app[LEASES]
    if leases.serving(room_id):
        return
    engine = app[ENGINE]
    if not isinstance(room_id, str) or len(room_id) > 64 or engine.conn.execute(
        "SELECT 1 FROM rooms WHERE id = ?", (room_id,)
    ).fetchone() is None:
        return
    lock = app[LEASE_LOCKS].setdefault(room_id, asyncio.Lock())
    try:
        async with lock:
            if leases.serving(room_id):
                return
            was_here = room_id in leases.held or room_id in engine.rooms
            before = leases.owner_of(room_id)  # for the log: whose room this was
            wait = leases.take(room_id)
            if wait is not None:
                if was_here:  # this process stalled past its lease and another took the room meanwhile
                    await stop_serving(app, room_id)
                # The router sends the room's traffic here now: the holder hands the room over (_lease_loop).
                try:
                    leases.want(room_id)
                except Exception:  # the refusal stands; the next request asks again
                    log.exception("asking for room %s failed", room_id)
                raise RoomElsewhere(wait)
            try:
                room = engine.resume(room_id)
                await app[LIVE].on_change(room, ())
            except BaseException:
                leases.release([room_id])
                engine.forget(room_id)
                raise
            if before is None or before[0] == leases.owner:
                log.info("serving room %s (lease taken)", room_id)
            else:
                # (a room handed over here already names this process: the branch above)
                log.info("serving room %s (lease taken over from %s, whose lease had ended)", room_id, before[0])
    finally:
        if not lock.locked():
            app[LEASE_LOCKS].pop(room_id, None)


async def stop_serving(app: web.Application, room_id: str) -> None:
    """Another process took the room (this one stalled past its lease): let go of everything of it here.
    Its pages reconnect (close code 4503), through the proxy, to the process that serves it now."""
    log.warning("room %s is served by another process now; letting it go here", room_id)
    app[ENGINE].forget(room_id)
    await app[HUB].close_room(room_id, ROOM_ELSEWHERE_CLOSE, b"room served elsewhere")
    await app[LIVE].room_deleted(room_id)


async def hand_over(app: web.Application, room_id: str, to: str) -> None:
    """Another process gets the room's traffic now and asked for it (companion/leases.py): stop serving it
    here and pass it the lease; it restores the room from the database at its next request, as after a
    restart. The room's pages are closed with 4503 and reconnect through the router to that process; its
    media connections close; what was said and is still queued for transcription is transcribed and
    stored first (at most half a lease time), so the advice list the other process restores has it."""
    leases = app[LEASES]
    lock = app[LEASE_LOCKS].setdefault(room_id, asyncio.Lock())
    try:
        async with lock:  # a request for the room meanwhile waits, then is refused (the lease went on)
            if room_id not in leases.held:
                return
            started = time.monotonic()
            leases.held.discard(room_id)  # not served here from now on; the lease stays ours until hand_over
            app[ENGINE].forget(room_id)
            await app[HUB].close_room(room_id, ROOM_ELSEWHERE_CLOSE, b"room served elsewhere")
            live = app[LIVE]
            await live.room_deleted(room_id)  # ends its transcribed step: open utterances are queued
            pending_for = getattr(live.transcription, "pending_for", None)
            deadline = started + leases.seconds / 2
            while pending_for is not None and pending_for(room_id) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # the last results' advice items are written by tasks of this loop
            left = pending_for(room_id) if pending_for is not None else 0
            app[ENGINE].forget(room_id)  # storing advice items loaded a copy of the room again
            passed = leases.hand_over(room_id, to)
            log.info("room %s handed over to %s (it gets the room's traffic now) in %.2f s%s%s", room_id, to,
                     time.monotonic() - started, "" if passed else "; the lease had gone meanwhile",
                     f"; {left} utterance(s) still being transcribed here, stored when done" if left else "")
    finally:
        if not lock.locked():
            app[LEASE_LOCKS].pop(room_id, None)


def _log_handover_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        # The lease stays this process's without renewal: it runs out and the room moves as after a crash.
        log.error("handing a room over failed", exc_info=task.exception())


async def _close_pages_without_access(app: web.Application) -> None:
    """Open pages whose browser no longer gets into their room close (4401). A link renewed or revoked
    through the group API (answered by any process) forgets the browsers in the shared database only;
    the process that holds the room finds it out here, within one lease renewal."""
    conn = app[ENGINE].conn
    for ws, (room_id, pid, session) in list(app[WS_COOKIE_SESSIONS].items()):
        if ws.closed or browser_sessions.participant(conn, session, room_id) == pid:
            continue
        try:
            removed = app[ENGINE].get(room_id).participants[pid].removed
        except ClientError:
            # The room itself is gone: deleted while its pages were being told so (4404), not a renewed link.
            await ws.close(code=hub_module.DELETED, message=b"room deleted")
            continue
        except KeyError:
            removed = False
        if not removed:  # a participant taken out is told so by the hub (4403)
            await ws.close(code=hub_module.RENEWED, message=b"personal link renewed")


async def _lease_loop(app: web.Application) -> None:
    leases = app[LEASES]
    handovers: set[asyncio.Task] = set()
    while True:
        await asyncio.sleep(leases.renew_seconds)
        try:
            if not leases.node_alive():
                # A process started with this node id while this one stalled: both would serve the same
                # rooms under one name. This one lets go of everything and stops; the newer one stays.
                log.error("another server process took the node id %s; this one stops", leases.owner)
                held = sorted(leases.held)
                leases.lost_node()
                for room_id in held:
                    await stop_serving(app, room_id)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            for room_id in leases.renew():
                await stop_serving(app, room_id)
            await _close_pages_without_access(app)
            # Beside the loop: a handover waits for the room's queued speech, and the other rooms' leases
            # must be renewed meanwhile.
            for room_id, to in leases.wanted_elsewhere():
                task = asyncio.ensure_future(hand_over(app, room_id, to))
                handovers.add(task)
                task.add_done_callback(handovers.discard)
                task.add_done_callback(_log_handover_failure)
        except asyncio.CancelledError:
            raise
        except db.PgUnavailable as exc:
            log.error("renewing the room leases failed, the database is unavailable: %s", str(exc).splitlines()[0])
        except Exception:
            log.exception("renewing the room leases failed")


@web.middleware
async def room_lease_guard(request: web.Request, handler):
    """Every request and WebSocket about a room (its id in the path) is served by the room's one process."""
    room_id = request.match_info.get("room_id")
    resource = request.match_info.route.resource
    if room_id is None or (resource is not None and resource.canonical in PAGES_WITHOUT_LEASE):
        return await handler(request)
    try:
        await serve_room(request.app, room_id)
    except RoomElsewhere as exc:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # A page cannot read an HTTP status of a refused upgrade; a close code it can.
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close(code=ROOM_ELSEWHERE_CLOSE, message=b"room served elsewhere")
            return ws
        if not request.path.startswith("/api/"):
            return web.Response(
                status=503, content_type="text/html", headers=exc.headers,
                text="<!doctype html><meta charset=utf-8><title>companion</title>"
                f"<p>{ROOM_ELSEWHERE} / This room is served by another server process now. Try again in a few seconds.</p>",
            )
        raise
    return await handler(request)


class HttpLimits:
    """Token buckets for HTTP requests, per client address and per credential (token or cookie).

    Per address it is generous (a training room shares one address behind its router); per credential
    it is what one person's pages need with room to spare. Buckets that filled up again are forgotten."""

    PER_ADDRESS = (50.0, 300.0)  # requests per second, burst
    PER_CREDENTIAL = (20.0, 150.0)
    MAX_BUCKETS = 100_000

    def __init__(self) -> None:
        self.buckets: dict[str, RateLimit] = {}
        self.swept = time.monotonic()

    def take(self, key: str, rate: float, burst: float) -> bool:
        now = time.monotonic()
        if now - self.swept > 60 or len(self.buckets) > self.MAX_BUCKETS:
            self.swept = now
            self.buckets = {k: b for k, b in self.buckets.items() if b.tokens + (now - b.stamp) * b.rate < b.burst}
            if len(self.buckets) > self.MAX_BUCKETS:
                self.buckets.clear()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = RateLimit(rate, burst)
        return bucket.take()


def _pages_per_address(app: web.Application) -> int:
    return app[SETTINGS].pages_per_address or MAX_SOCKETS_PER_IP


@web.middleware
async def http_rate_limit(request: web.Request, handler):
    if request.path.startswith("/static/") or request.path == "/healthz":
        return await handler(request)
    limits = request.app[HTTP_LIMITS]
    rate, burst = HttpLimits.PER_ADDRESS
    # The requests an address may make grow with the pages it may hold (--pages-per-address).
    scale = max(1.0, _pages_per_address(request.app) / MAX_SOCKETS_PER_IP)
    refused = not limits.take("a " + client_address(request), rate * scale, burst * scale)
    credential = request.headers.get("Authorization") or request.cookies.get(session_cookie(request))
    if credential and not refused:
        refused = not limits.take("c " + tokens.token_hash(credential), *HttpLimits.PER_CREDENTIAL)
    if refused:
        raise ClientError(429, "too_many", "Te veel verzoeken; even rustig aan.")
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: on every answer, errors and files included."""
    headers = response.headers
    headers["Server"] = "companion"  # no version for a scanner to match
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")  # links carry secrets
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if SETTINGS in request.app and _https(request):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    elif request.path.startswith("/static/"):
        # Asked again every time (a 304 when unchanged): after an upgrade no browser runs yesterday's client.
        headers.setdefault("Cache-Control", "no-cache")


def page(name: str):
    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(STATIC / name)
        response.headers["Cache-Control"] = "no-store"
        return response

    return handler


# ----------------------------------------------------------------- handlers
async def list_methods(request: web.Request) -> web.Response:
    catalog = request.app[ENGINE].catalog
    return web.json_response(
        {
            "methods": [m.summary() for m in catalog.methods.values()],
            "errors": [{"file": e.path.name, "line": e.line, "message": str(e)} for e in catalog.errors],
        }
    )


async def create_room(request: web.Request) -> web.Response:
    owner = facilitator_of(request)
    body = await read_json(request)
    engine = request.app[ENGINE]
    room, fac_token, invite = engine.create_room(
        body.get("name"),
        body.get("method"),
        body.get("language", "nl"),
        body.get("facilitator_name"),
        body.get("capacity", 8),
        owner_id=owner["id"],
    )
    fac_id = next(p.id for p in room.participants.values() if p.role == FACILITATOR)
    if room.id not in request.app[LEASES].held:
        # Made here, served where its traffic goes (the proxy routes by room id): that process takes the lease.
        engine.forget(room.id)
    return _entered(request, room, fac_id, fac_token, facilitator_url=personal_url(request, room.id, fac_token),
                    invite_url=invite_url(request, room.id, invite))


def personal_url(request: web.Request, room_id: str, token: str) -> str:
    return f"{base_url(request)}/r/{room_id}/k/{token}"


def invite_url(request: web.Request, room_id: str, invite: str) -> str:
    return f"{base_url(request)}/r/{room_id}/i/{invite}"


def _entered(request: web.Request, room: Room, pid: str, token: str, **links: str) -> web.Response:
    """201 with the person's links, and the room cookie so the next page knows them."""
    response = web.json_response(
        {"room_id": room.id, "room_url": f"{base_url(request)}/r/{room.id}", "token": token, **links}, status=201
    )
    set_room_cookie(request, response, room.id, pid)
    return response


def _moved_to(request: web.Request, found: str | None) -> str | None:
    """The later case room of the same meeting a link of the room in the path went along to, or None."""
    from .groups import meetings

    room_id = request.match_info["room_id"]
    if found is None or found == room_id or not meetings.same_meeting(request.app[ENGINE].conn, room_id, found):
        return None
    return found


def _follow_invite(request: web.Request) -> None:
    """An invite of an earlier case room of the meeting: 307 to the same path under the case room it went to."""
    invite = request.match_info["invite"]
    moved = _moved_to(request, request.app[ENGINE].room_id_of_invite(invite))
    if moved is not None:
        raise web.HTTPTemporaryRedirect(request.path.replace(f"/{request.match_info['room_id']}/", f"/{moved}/", 1))


async def join_page(request: web.Request) -> web.StreamResponse:
    _follow_invite(request)
    return await page("join.html")(request)


async def invite_info(request: web.Request) -> web.Response:
    _follow_invite(request)
    room = request.app[ENGINE].room_for_invite(request.match_info["invite"], request.match_info["room_id"])
    return web.json_response(
        {
            "room": {
                "name": room.name, "language": room.language, "method": room.method.title, "status": room.status,
                "locked": room.locked,
            },
            "full": room.joined_count >= room.capacity,
        }
    )


async def join_room(request: web.Request) -> web.Response:
    _follow_invite(request)
    body = await read_json(request)
    room, participant, token = await request.app[ENGINE].join(
        request.match_info["invite"], body.get("name"), request.match_info["room_id"]
    )
    return _entered(request, room, participant.id, token, participant_id=participant.id,
                    personal_url=personal_url(request, room.id, token))


UNKNOWN_LINK = (
    "<!doctype html><meta charset=utf-8><title>companion</title>"
    "<p>Deze link is onbekend of de sessie is verwijderd. / This link is unknown or the session was deleted.</p>"
)


def _unknown_link() -> web.Response:
    return web.Response(status=404, content_type="text/html", text=UNKNOWN_LINK)


async def old_personal_link(request: web.Request) -> web.StreamResponse:
    """``/k/<token>`` (protocol 1): on to the same link with the room in its path (a database read only)."""
    token = request.match_info["token"]
    room_id = request.app[ENGINE].room_id_of_token(token)
    if room_id is None:
        return _unknown_link()
    raise web.HTTPTemporaryRedirect(f"/r/{room_id}/k/{token}")


async def old_invite_link(request: web.Request) -> web.StreamResponse:
    """``/i/<invite>`` (protocol 1): on to ``/r/<room>/i/<invite>``."""
    invite = request.match_info["invite"]
    room_id = request.app[ENGINE].room_id_of_invite(invite)
    if room_id is None:
        return _unknown_link()
    raise web.HTTPTemporaryRedirect(f"/r/{room_id}/i/{invite}")


async def old_invite_api(request: web.Request) -> web.StreamResponse:
    """``/api/invites/<invite>[/join]`` (protocol 1): 307 to the path with the room, method and body kept."""
    invite = request.match_info["invite"]
    room_id = request.app[ENGINE].room_id_of_invite(invite)
    if room_id is None:
        raise ClientError(404, "unknown_invite", "Deze uitnodiging is onbekend of verlopen.")
    tail = "/join" if request.path.endswith("/join") else ""
    raise web.HTTPTemporaryRedirect(f"/api/rooms/{room_id}/invites/{invite}{tail}")


async def personal_link(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    try:
        room, participant = request.app[ENGINE].authenticate(token, request.match_info["room_id"])
    except ClientError:
        # The person's link went along to the next case of the meeting (case.next).
        moved = _moved_to(request, request.app[ENGINE].room_id_of_token(token))
        if moved is not None:
            raise web.HTTPSeeOther(f"/r/{moved}/k/{token}")
        return _unknown_link()
    response = web.HTTPSeeOther(f"/r/{room.id}")
    set_room_cookie(request, response, room.id, participant.id)
    raise response


async def facilitator_link(request: web.Request) -> web.StreamResponse:
    """``/f/<token>``: the operator's link for a facilitator; remembered in this browser, then the landing page."""
    token = request.match_info["token"]
    if facilitators.authenticate(request.app[ENGINE].conn, token) is None:
        return web.Response(
            status=404,
            content_type="text/html",
            text="<!doctype html><meta charset=utf-8><title>companion</title>"
            "<p>Deze begeleiderslink is onbekend of ingetrokken. Vraag de beheerder van deze server om een nieuwe."
            " / This facilitator link is unknown or was revoked. Ask the operator of this server for a new one.</p>",
        )
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        facilitator_cookie(request), token, max_age=FACILITATOR_COOKIE_DAYS * 86400, httponly=True,
        samesite="Strict", secure=base_url(request).startswith("https://"), path="/",
    )
    raise response


async def facilitator_me(request: web.Request) -> web.Response:
    """Who the landing page's facilitator is: 200 {name}, or 401 with how to get a link."""
    return web.json_response({"name": facilitator_of(request)["name"]})


def _snapshot_for(app: web.Application, room: Room, participant_id: str, online: set[str]) -> dict[str, Any]:
    live = app.get(LIVE)
    return snapshot(app[ENGINE].conn, room, participant_id, online, app[STATE_EXTRAS],
                    transcribing=bool(live and live.transcription_available()))


async def room_state(request: web.Request) -> web.Response:
    room, me = authenticate(request)
    return web.json_response(_snapshot_for(request.app, room, me.id, request.app[HUB].online(room.id)))


async def room_command(request: web.Request) -> web.Response:
    room, me = authenticate(request)
    body = await read_json(request)
    events = await request.app[ENGINE].command(room.id, me.id, body.get("command"), body.get("args"))
    room = request.app[ENGINE].get(room.id)
    return web.json_response(
        {"ok": True, "events": list(events), "state": _snapshot_for(request.app, room, me.id, request.app[HUB].online(room.id))}
    )


async def renew_invite(request: web.Request) -> web.Response:
    """The facilitator's new invite link; the old one stops working (a leaked invite)."""
    room, me = authenticate(request)
    await read_json(request)
    invite = request.app[ENGINE].renew_invite(room.id, me.id)
    return web.json_response({"invite_url": invite_url(request, room.id, invite)})


async def renew_personal_link(request: web.Request) -> web.Response:
    """A new personal link for one participant (a leaked link): the old link and the browsers it opened lose
    access, their open pages close (4401). The facilitator hands the new link over."""
    room, me = authenticate(request)
    await read_json(request)
    participant, token = request.app[ENGINE].renew_link(room.id, me.id, request.match_info["participant_id"])
    await request.app[HUB].close_participant(room.id, participant.id, hub_module.RENEWED, b"personal link renewed")
    response = web.json_response({"participant_id": participant.id, "personal_url": personal_url(request, room.id, token)})
    if participant.id == me.id:
        set_room_cookie(request, response, room.id, me.id)  # the facilitator's own browser stays in
    return response


async def websocket(request: web.Request) -> web.WebSocketResponse:
    room_id = request.match_info["room_id"]
    engine, hub = request.app[ENGINE], request.app[HUB]
    # Never a token in the URL (?token=): URLs end up in logs and browser history.
    room, me = authenticate(request)
    per_ip = request.app[WS_PER_IP]
    address = client_address(request)
    if per_ip[address] >= _pages_per_address(request.app):
        raise ClientError(429, "too_many_sockets", "Te veel open verbindingen vanaf dit adres.")
    # A page that vanished (wifi gone) is noticed within about 10-20 s.
    ws = web.WebSocketResponse(heartbeat=10, max_msg_size=MAX_WS_MESSAGE)
    await ws.prepare(request)
    per_ip[address] += 1
    session = request.cookies.get(session_cookie(request))
    if not request.headers.get("Authorization", "").startswith("Bearer ") and (
        browser_sessions.participant(engine.conn, session, room_id) == me.id
    ):
        request.app[WS_COOKIE_SESSIONS][ws] = (room_id, me.id, session)
    first = hub.add(room_id, me.id, ws)
    try:
        if first:
            # Before the welcome: once a page is welcomed, its arrival (attendance) is written, and no write of
            # it is still under way when the page goes on (or the process stalls: SQLite's write lock).
            for arrived in request.app[ON_ARRIVE]:
                try:
                    await arrived(room_id, me.id)
                except Exception:
                    log.exception("on_arrive hook failed")
        await ws.send_json({"type": "welcome", "protocol": PROTOCOL_VERSION, "you": {"id": me.id, "name": me.name}})
        if first:
            await hub.push_state(engine.get(room_id), ("presence",))
        else:
            await ws.send_json(_snapshot_for(request.app, engine.get(room_id), me.id, hub.online(room_id)))
        # One bucket per participant, shared by their sockets: more sockets buy no more messages.
        bucket = request.app[WS_BUCKETS].setdefault((room_id, me.id), RateLimit(rate=20.0, burst=60.0))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                if not bucket.take():
                    await ws.send_json(_error(None, ClientError(429, "too_many", "Te veel berichten; even rustig aan.")))
                    continue
                await _on_message(request.app, ws, room_id, me.id, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_json(_error(None, bad_request("Alleen tekstberichten (JSON).", "bad_message")))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        request.app[WS_COOKIE_SESSIONS].pop(ws, None)
        per_ip[address] -= 1
        if per_ip[address] <= 0:
            del per_ip[address]
        carried_media = hub.media_owner(room_id, me.id) is ws
        # A socket lost without a goodbye (network change, heartbeat) often comes back within
        # seconds: the person stays present meanwhile, so their presence and role do not blink.
        linger = PRESENCE_GRACE if ws.close_code in (None, WSCloseCode.ABNORMAL_CLOSURE) else 0.0
        last = hub.remove(room_id, me.id, ws, linger=linger)
        if carried_media and not last and "media." in request.app[WS_HANDLERS]:
            # The page with the call closed; the person's other pages were told it moved away.
            try:
                await request.app[WS_HANDLERS]["media."](room_id, me.id, {"type": "media.leave"})
            except Exception:
                log.exception("dropping the media of a closed page failed")
        if last:
            # Shielded: aiohttp cancels this handler once a closed page's connection is gone, and the
            # others' presence and the record of who left must not be cut off half way.
            await asyncio.shield(_participant_gone(request.app, room_id, me.id))
    return ws


async def _participant_gone(app: web.Application, room_id: str, participant_id: str) -> None:
    """The participant's last socket closed (or did not come back in time)."""
    app[WS_BUCKETS].pop((room_id, participant_id), None)
    # The others hear of it first: closing the media connection (aiortc's pc.close()) can take seconds,
    # and a facilitator waiting on a dropped inbrenger should not wait for that.
    try:
        await app[HUB].push_state(app[ENGINE].get(room_id), ("presence",))
    except ClientError:
        pass  # room deleted meanwhile
    for gone in app[ON_GONE]:
        try:
            await gone(room_id, participant_id)
        except Exception:
            log.exception("on_gone hook failed")


class RateLimit:
    """Token bucket: a runaway or hostile page cannot flood the room."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _error(msg_id: Any, exc: ClientError) -> dict[str, Any]:
    return {"type": "error", "id": msg_id, **exc.to_dict()}


async def _on_message(app: web.Application, ws: web.WebSocketResponse, room_id: str, pid: str, data: str) -> None:
    msg_id = None
    try:
        try:
            message = json.loads(data)
        except (json.JSONDecodeError, RecursionError):
            raise bad_request("Geen geldige JSON.", "bad_json") from None
        if not isinstance(message, dict):
            raise bad_request("Een JSON-object verwacht.", "bad_message")
        msg_id = message.get("id")
        if not isinstance(msg_id, (int, str, type(None))) or isinstance(msg_id, bool):
            msg_id = None
        kind = message.get("type")
        if kind == "command":
            events = await app[ENGINE].command(room_id, pid, message.get("command"), message.get("args"))
            await ws.send_json({"type": "result", "id": msg_id, "ok": True, "events": list(events)})
        elif kind == "ping":
            await ws.send_json({"type": "pong", "id": msg_id})
        elif isinstance(kind, str) and kind.startswith("media.") and "media." in app[WS_HANDLERS]:
            await _on_media_message(app, ws, room_id, pid, message)
        elif isinstance(kind, str) and "." in kind and kind.split(".", 1)[0] + "." in app[WS_HANDLERS]:
            await app[WS_HANDLERS][kind.split(".", 1)[0] + "."](room_id, pid, message)
        else:
            raise bad_request(f"Onbekend berichttype: {str(kind)[:40]!r}", "unknown_type")
    except ClientError as exc:
        if not ws.closed:
            await ws.send_json(_error(msg_id, exc))
    except Exception:
        log.exception("websocket message failed")
        if not ws.closed:
            await ws.send_json(_error(msg_id, ClientError(500, "internal", "Er ging iets mis op de server.")))


MEDIA_MOVED = {"type": "media.moved", "reason": "other_page"}


async def _on_media_message(app: web.Application, ws: web.WebSocketResponse, room_id: str, pid: str, message: dict) -> None:
    """One person, one media connection: the page that sent the latest ``media.join`` owns it.

    The page it took over from is told (``media.moved``) and stops; what it still sends is
    refused, and its hang-up is ignored, so it cannot answer the new page's offers or cut its call.
    A page that comes back by itself (``resume``) does not take the call from a newer page.
    """
    hub, handle = app[HUB], app[WS_HANDLERS]["media."]
    if message.get("type") == "media.join":
        page = message.get("page")
        page = page[:64] if isinstance(page, str) and page else None
        async with hub.media_lock(room_id, pid):
            granted, previous = hub.claim_media(room_id, pid, ws, page, message.get("resume") is True)
            if not granted:
                await hub.send_to(ws, MEDIA_MOVED)
                return
            if previous is not None:
                await hub.send_to(previous, MEDIA_MOVED)
            await handle(room_id, pid, message)
    elif hub.media_owner(room_id, pid) in (None, ws):
        await handle(room_id, pid, message)
    elif message.get("type") != "media.leave":
        raise conflict("Het gesprek loopt in een ander venster; haal het eerst hierheen.", "media_elsewhere")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


# --------------------------------------------------------------------- app
SWEEP_SECONDS = 60


async def _retention_loop(app: web.Application) -> None:
    while True:
        try:
            engine = app[ENGINE]
            deleted = purge_expired(engine.conn)
            # Rooms the operator deleted with `companion rooms delete` while the server ran.
            stored = {row["id"] for row in engine.conn.execute("SELECT id FROM rooms")}
            deleted += [room_id for room_id in list(engine.rooms) if room_id not in stored and room_id not in deleted]
            for room_id in deleted:
                engine.forget(room_id)
                app[LEASES].forget(room_id)
                await app[HUB].close_room(room_id)
                await app[LIVE].room_deleted(room_id)
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)


def _live_services(app: web.Application, settings: Settings, engine: PhaseEngine, hub: Hub) -> Live:
    live = Live(engine, hub)
    if settings.enable_transcription:
        from .speech.service import TranscriptionService, options_from_settings
        from .speech.store import insert_utterance

        live.transcription = TranscriptionService(options_from_settings(settings), live.on_utterance)
        # Stored before anything else sees it: the transcript outlives a failing advice list.
        live.utterance_listeners.append(lambda utterance: insert_utterance(engine.conn, utterance))
    app[STATE_EXTRAS].append(live.transcription_status)
    app[STATE_EXTRAS].append(live.media_status)
    if settings.enable_media:
        from .media.service import media_service

        live.media = media_service(
            hub.send_media,
            settings.media_forwarder,
            audio_sink=live if live.transcription is not None else None,
            turn=settings.turn,
            session_seconds=lambda room_id: engine.get(room_id).method.total_minutes * 60,
        )
        app[WS_HANDLERS]["media."] = live.media.handle
        app[ON_GONE].append(live.media.participant_gone)
    return live


def create_app(settings: Settings) -> web.Application:
    # A link with a slash added at its end (some mail programs and chat apps do that) goes on to the link without.
    trailing_slash = web.normalize_path_middleware(remove_slash=True, append_slash=False)
    app = web.Application(
        middlewares=[errors_middleware, trailing_slash, http_rate_limit, cross_site_guard, room_lease_guard],
        client_max_size=MAX_BODY,
    )
    app.on_response_prepare.append(security_headers)
    _quiet_request_errors()
    app[SETTINGS] = settings
    app[WS_PER_IP] = defaultdict(int)
    app[WS_BUCKETS] = {}
    app[HTTP_LIMITS] = HttpLimits()
    app[STATE_EXTRAS] = []
    app[WS_HANDLERS] = {}
    app[ON_GONE] = []
    app[ON_ARRIVE] = []
    app[WS_COOKIE_SESSIONS] = {}

    db.prepare_folder(settings.data_dir)
    settings.methods_dir.mkdir(parents=True, exist_ok=True)
    conn = db.connect(settings.database_target)
    if not SHIPPED_METHODS.is_dir():
        log.error("the shipped methods are missing (%s): reinstall companion", SHIPPED_METHODS)
    catalog = load_catalog([SHIPPED_METHODS, settings.methods_dir])
    for error in catalog.errors:
        log.warning("method file refused: %s", error)
    engine = PhaseEngine(conn, catalog)
    engine.max_rooms = settings.max_rooms
    engine.max_rooms_per_facilitator = settings.max_rooms_per_facilitator
    hub = Hub(lambda room, pid, online: _snapshot_for(app, room, pid, online))
    app[ENGINE] = engine
    app[HUB] = hub
    app[LEASES] = Leases(conn, settings.node_id or f"{socket.gethostname()}:{settings.port}",
                         settings.lease_seconds, settings.lease_renew_seconds)
    app[LEASE_LOCKS] = {}
    hub.on_gone = lambda room_id, pid: _participant_gone(app, room_id, pid)
    live = _live_services(app, settings, engine, hub)
    web_advice.setup(app)
    from . import web_groups  # it reads web.py's helpers: imported once this module is complete

    web_groups.setup(app)
    web_followup.setup(app)
    live.utterance_listeners.append(web_advice.utterance_sink(app))
    engine.listeners.append(live.on_change)
    engine.listeners.append(hub.push_state)
    app[LIVE] = live
    from . import web_record  # it reads web.py's helpers: imported once this module is complete

    web_record.setup(app)

    async def on_startup(app: web.Application) -> None:
        await live.start()
        leases = app[LEASES]
        # One live process per node id: a second one with the same --node-id would serve the same rooms.
        seen_before = leases.node_seen()
        wait = leases.node_check_seconds()
        if wait:
            log.info("node id %s was in use moments ago; watching it for %.1f s before taking it", leases.owner, wait)
            await asyncio.sleep(wait)
        try:
            leases.claim_node(seen_before)
        except NodeIdInUse as exc:
            print(f"companion: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2)
        # This node's own rooms and rooms nobody holds; the rest come over when their lease ends and
        # their traffic arrives here.
        # Under a front (serve --workers N) only the rooms the front routes here: a room held elsewhere would wait.
        mine = (lambda i: True) if settings.worker is None else (
            lambda i: worker_for(i, settings.worker[1]) == settings.worker[0])
        resumed = engine.resume_all(lambda ids: [i for i in leases.resumable(ids) if mine(i) and leases.take(i) is None])
        await live.resume()
        if resumed:
            log.info("resumed %d unfinished room(s)", resumed)
        app[RETENTION_TASK] = asyncio.ensure_future(_retention_loop(app))
        app[LEASE_TASK] = asyncio.ensure_future(_lease_loop(app))

    async def on_shutdown(app: web.Application) -> None:
        await hub.close_all()

    async def on_cleanup(app: web.Application) -> None:
        app[RETENTION_TASK].cancel()
        app[LEASE_TASK].cancel()
        try:
            app[LEASES].release()  # another process may take the rooms at once
            app[LEASES].node_release()
        except Exception:
            log.exception("releasing the room leases failed")
        if live.watch is not None:
            await live.watch.stop()
        if live.media is not None:
            await live.media.close()
        if live.transcription is not None:
            await live.transcription.stop(drain_timeout=5.0)
        engine.close()
        conn.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)

    app.router.add_get("/", page("index.html"))
    app.router.add_get("/r/{room_id}/i/{invite}", join_page)
    app.router.add_get("/r/{room_id}", page("room.html"))
    app.router.add_get("/r/{room_id}/k/{token}", personal_link)
    app.router.add_get("/i/{invite}", old_invite_link)
    app.router.add_get("/k/{token}", old_personal_link)
    app.router.add_get("/f/{token}", facilitator_link)
    app.router.add_get("/api/facilitator", facilitator_me)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/methods", list_methods)
    app.router.add_post("/api/rooms", create_room)
    app.router.add_get("/api/rooms/{room_id}/invites/{invite}", invite_info)
    app.router.add_post("/api/rooms/{room_id}/invites/{invite}/join", join_room)
    app.router.add_get("/api/invites/{invite}", old_invite_api)
    app.router.add_post("/api/invites/{invite}/join", old_invite_api)
    app.router.add_get("/api/rooms/{room_id}/state", room_state)
    app.router.add_post("/api/rooms/{room_id}/commands", room_command)
    app.router.add_post("/api/rooms/{room_id}/invite", renew_invite)
    app.router.add_post("/api/rooms/{room_id}/participants/{participant_id}/link", renew_personal_link)
    app.router.add_get("/r/{room_id}/ws", websocket)
    app.router.add_static("/static/", STATIC, show_index=False)
    return app
