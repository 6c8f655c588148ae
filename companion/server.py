"""Starting the server for real: TLS choice, address printing, clean shutdown."""

from __future__ import annotations

import logging

from aiohttp import web

from . import facilitators
from .config import Settings
from .tls import ensure_self_signed, ssl_context
from .web import ENGINE, create_app

log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
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
    # No access log: paths carry secrets (/k/<token>, /i/<invite>). Header lines up to 32 KB: a browser
    # with many old per-room cookies still gets through once, and is told to drop them.
    web.run_app(app, host=settings.host, port=settings.port, ssl_context=context, print=None, access_log=None,
                max_field_size=32 * 1024)
    return 0
