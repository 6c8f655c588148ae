"""Starting the server for real: TLS choice, address printing, clean shutdown."""

from __future__ import annotations

import logging

from aiohttp import web

from . import facilitators
from .config import Settings
from .tls import ensure_self_signed, ssl_context
from .web import ENGINE, create_app

log = logging.getLogger(__name__)


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


def run(settings: Settings) -> int:
    before, after = raise_open_files_limit()
    if after < 4096:
        log.warning("open-files limit is %d; a busy server may need more (ulimit -n)", after)
    context = None
    if settings.tls_cert and settings.tls_key:
        context = ssl_context(settings.tls_cert, settings.tls_key)
    elif settings.self_signed:
        cert, key = ensure_self_signed(settings.data_dir / "tls", settings.host)
        context = ssl_context(cert, key)
    app = create_app(settings)
    scheme = "https" if context else "http"
    shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    base = (settings.public_url or f"{scheme}://{shown}:{settings.port}").rstrip("/")
    conn = app[ENGINE].conn
    first = facilitators.first_run(conn)
    if first is not None:
        # Printed once, on the first start of a data folder: a facilitator on a laptop needs nothing else.
        print(f"companion: your facilitator link (shown once, keep it; it lets a browser create rooms):\n"
              f"  {base}{facilitators.LINK_PATH}{first}", flush=True)
    elif facilitators.count(conn) == 0:
        print("companion: no facilitator can create rooms; add one with: companion facilitator add NAME", flush=True)
    print(f"companion: open {base}/ (data in {settings.data_dir})", flush=True)
    # No access log: paths carry secrets (/r/<room>/k/<token>, /r/<room>/i/<invite>). Header lines up to 32 KB: a browser
    # with many old per-room cookies still gets through once, and is told to drop them.
    web.run_app(app, host=settings.host, port=settings.port, ssl_context=context, print=None, access_log=None,
                max_field_size=32 * 1024)
    return 0
