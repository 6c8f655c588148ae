"""Starting the server for real: TLS choice, address printing, clean shutdown; one process, or a front and its
workers (``--workers N``, companion/front.py). The front imports no more than it needs: it stays small."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys

from aiohttp import web

from . import db, facilitators
from .config import Settings
from .tls import ensure_self_signed, ssl_context

log = logging.getLogger(__name__)

MAX_FIELD_SIZE = 32 * 1024


def raise_open_files_limit(want: int = 65536) -> tuple[int, int]:
    """Each participant holds sockets (WebSocket, UDP for media): a low soft limit (often 1024) made the
    server stop answering. Raised towards the hard limit, which only root can lift. Returns (before, after)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d: %s", soft, exc)
            return soft, soft
        return soft, target
    return soft, soft


def _tls_context(settings: Settings):
    if settings.tls_cert and settings.tls_key:
        return ssl_context(settings.tls_cert, settings.tls_key)
    if settings.self_signed:
        cert, key = ensure_self_signed(settings.data_dir / "tls", settings.host)
        return ssl_context(cert, key)
    return None


def announce(settings: Settings, conn, scheme: str) -> None:
    """The facilitator link on the first start of a data folder, and where to open the server."""
    shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    base = (settings.public_url or f"{scheme}://{shown}:{settings.port}").rstrip("/")
    first = facilitators.first_run(conn)
    if first is not None:
        # Printed once, on the first start of a data folder: a facilitator on a laptop needs nothing else.
        print(f"companion: your facilitator link (shown once, keep it; it lets a browser create rooms):\n"
              f"  {base}{facilitators.LINK_PATH}{first}", flush=True)
    elif facilitators.count(conn) == 0:
        print("companion: no facilitator can create rooms; add one with: companion facilitator add NAME", flush=True)
    stored = f"database {db.describe(settings.database)}" if settings.database else f"data in {settings.data_dir}"
    # Behind a proxy the address people open is not the one this process listens on: say both.
    listening = f"; listening on {settings.host}:{settings.port}" if settings.public_url else ""
    print(f"companion: open {base}/ ({stored}{listening})", flush=True)


def _check_open_files() -> None:
    before, after = raise_open_files_limit()
    if after < 4096:
        log.warning("open-files limit is %d; a busy server may need more (ulimit -n)", after)


def run(settings: Settings) -> int:
    from .web import ENGINE, create_app

    _check_open_files()
    context = _tls_context(settings)
    try:
        app = create_app(settings)
    except db.DatabaseError as exc:
        print(f"companion: cannot open the database {db.describe(settings.database_target)}: {exc}", file=sys.stderr)
        return 1
    announce(settings, app[ENGINE].conn, "https" if context else "http")
    # No access log: paths carry secrets (/r/<room>/k/<token>, /r/<room>/i/<invite>). Header lines up to 32 KB: a browser
    # with many old per-room cookies still gets through once, and is told to drop them.
    web.run_app(app, host=settings.host, port=settings.port, ssl_context=context, print=None, access_log=None,
                max_field_size=MAX_FIELD_SIZE)
    return 0


def run_front(settings: Settings, count: int, argv: list[str]) -> int:
    """``serve --workers N`` (N > 1): the front process (companion/front.py) and its N workers."""
    from .front import Front

    _check_open_files()
    front = Front(settings.host, settings.port, count, argv)
    try:
        front.listen()
    except OSError as exc:
        print(f"companion: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    db.prepare_folder(settings.data_dir)
    try:
        # The workers open it too; the schema is made or migrated here, once, before they start.
        conn = db.connect(settings.database_target)
    except db.DatabaseError as exc:
        print(f"companion: cannot open the database {db.describe(settings.database_target)}: {exc}", file=sys.stderr)
        return 1
    try:
        announce(settings, conn, "http")
    finally:
        conn.close()
    log.info("%d worker processes, each room on one of them", count)
    return asyncio.run(front.run())


def run_worker(settings: Settings, index: int, count: int, channel_fd: int, front_pid: int) -> int:
    """One of the front's workers: a whole server that takes its connections from the front."""
    from .front import die_with_parent

    die_with_parent(front_pid)
    _check_open_files()
    base_id = settings.node_id or f"{socket.gethostname()}:{settings.port}"
    settings.node_id = f"{base_id}/w{index}"  # stable over a restart: the worker takes its own rooms back
    settings.worker = (index, count)
    return asyncio.run(_serve_from_front(settings, channel_fd))


async def _one_request_per_connection(request: web.Request, response: web.StreamResponse) -> None:
    """The front routed this connection by its first request; the browser's next request on it may be
    another room's, so it opens a new connection (WebSockets stay: their upgrade named the room)."""
    if not isinstance(response, web.WebSocketResponse):
        response.force_close()
        # Said in the header too: this hook runs after aiohttp wrote its connection header into the response.
        response.headers["Connection"] = "close"


async def _serve_from_front(settings: Settings, channel_fd: int) -> int:
    from .web import create_app

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    channel = socket.socket(fileno=channel_fd)
    channel.setblocking(False)
    app = create_app(settings)
    app.on_response_prepare.append(_one_request_per_connection)
    # Open requests get 10 s at a stop, well inside the front's wait, so the leases are always released.
    runner = web.AppRunner(app, access_log=None, max_field_size=MAX_FIELD_SIZE, shutdown_timeout=10.0)
    await runner.setup()  # the speech model loads and this worker's rooms resume here
    connecting: set[asyncio.Task] = set()

    def on_channel() -> None:
        for _ in range(256):
            try:
                message, fds, _, _ = socket.recv_fds(channel, 16, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the front is gone
                loop.remove_reader(channel_fd)
                stop.set()
                return
            for fd in fds:
                sock = socket.socket(fileno=fd)
                if stop.is_set():
                    sock.close()
                    continue
                sock.setblocking(False)
                task = loop.create_task(loop.connect_accepted_socket(runner.server, sock))
                connecting.add(task)
                task.add_done_callback(connecting.discard)

    try:
        if not stop.is_set():
            loop.add_reader(channel_fd, on_channel)
            channel.send(b"ready")
            await stop.wait()
            loop.remove_reader(channel_fd)
    finally:
        channel.close()
        await runner.cleanup()
    return 0
