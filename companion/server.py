"""Starting the server for real: TLS choice, address printing, clean shutdown."""

from __future__ import annotations

import logging

from aiohttp import web

from .config import Settings
from .tls import ensure_self_signed, ssl_context
from .web import create_app

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
    print(f"companion: open {scheme}://{shown}:{settings.port}/ to create a room (data in {settings.data_dir})", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, ssl_context=context, print=None, access_log=None)
    return 0
