"""Server settings, with the defaults a facilitator gets from ``companion serve``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .turn import TurnSettings


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "companion"


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = default_data_dir()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    self_signed: bool = False
    # Public base URL for links (behind a reverse proxy); None: taken from each request.
    public_url: str | None = None
    # Addresses of the operator's reverse proxies: only their X-Forwarded-Proto/Host are believed.
    trusted_proxies: tuple[str, ...] = ()
    # Days a session's data is kept after it ends.
    retention_days: int = 30
    # Rooms stored at once, on the whole server and per facilitator.
    max_rooms: int = 1000
    max_rooms_per_facilitator: int = 50
    # Transcription: None picks the bundled Whisper base.
    asr_engine: str = "faster-whisper"
    whisper_model: str | None = None
    asr_threads: int = 2
    # "full": Whisper's 30 s encoder window; "fitted" trades words for speed (speech/window.py).
    asr_window: str = "full"
    enable_media: bool = True
    # How the server moves media: "rtp" (packets forwarded) or "frames" (aiortc reassembles and re-packetizes);
    # media.service.DEFAULT_FORWARDER.
    media_forwarder: str = "rtp"
    enable_transcription: bool = True
    # A TURN relay (coturn) for participants behind a firewall; None: direct connections only.
    turn: "TurnSettings | None" = None
    # Room leases (companion/leases.py): this process's node id (None: host name and port), how long a
    # lease lasts and how often it is renewed, in seconds.
    node_id: str | None = None
    lease_seconds: float = 15.0
    lease_renew_seconds: float = 5.0
    # Open pages (WebSockets) one client address may hold; None: web.MAX_SOCKETS_PER_IP. Many groups
    # behind one address (a hospital or campus network behind one NAT address) need more.
    pages_per_address: int | None = None
    # Under ``serve --workers N``: (this worker's index, N); the front routes each room to one worker.
    worker: tuple[int, int] | None = None
    # The database (companion/db.py): None for the SQLite file in the data folder, else a URL
    # (postgresql://user@host:port/dbname, shared by several server processes, or sqlite:///path).
    database: str | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "companion.sqlite3"

    @property
    def database_target(self) -> "Path | str":
        """What ``db.connect`` opens: the --database URL, or the SQLite file in the data folder."""
        return self.database or self.db_path

    @property
    def methods_dir(self) -> Path:
        return self.data_dir / "methods"
