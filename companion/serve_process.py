"""``companion serve`` in a subprocess, as an operator starts it: for the session bench and the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``companion serve`` in a subprocess on its own data folder, as the operator starts it.

    ``database``: a ``--database`` URL (several processes sharing one PostgreSQL database); None: the
    SQLite file in the data folder."""

    def __init__(self, data_dir: Path, log_path: Path, extra: list[str], database: str | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path
        # One process unless the caller asks for workers: a test's pid is then the server itself.
        self.extra = extra if "--workers" in extra else ["--workers", "1", *extra]
        self.database = database
        self.proc: subprocess.Popen | None = None
        self.facilitator_token: str | None = None

    @property
    def facilitator_url(self) -> str:
        """The facilitator's link: opened in a browser it lets that browser create rooms on the landing page."""
        return f"{self.base}/f/{self.facilitator_token}"

    @property
    def facilitator_headers(self) -> dict[str, str]:
        """For ``POST /api/rooms`` from a client that is not a browser."""
        return {"Authorization": f"Bearer {self.facilitator_token}"}

    def _add_facilitator(self) -> None:
        # As the operator would (companion facilitator add), on the folder before the first start.
        from . import db, facilitators

        db.prepare_folder(self.data_dir)
        conn = db.connect(self.database or self.data_dir / "companion.sqlite3")
        try:
            self.facilitator_token = facilitators.add(conn, "Operator's facilitator")[1]
        finally:
            conn.close()

    def start(self, timeout: float = 300.0) -> None:
        """Returns when /healthz answers: the server listens only after the speech model has loaded."""
        if self.facilitator_token is None:
            self._add_facilitator()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "companion", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                 *(["--database", self.database] if self.database else []), *self.extra],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start:\n" + self.log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
