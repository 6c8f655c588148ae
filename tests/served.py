"""`companion serve` in a subprocess, as an operator starts it, and the Chromium set-up the browser tests share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Headless as root on a closed network; fake camera and microphone, no permission prompt.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedCompanion:
    """A server on a fresh data folder; restartable on the same port."""

    def __init__(self, tmp_path: Path, *extra_args: str):
        self.tmp = tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args or ("--no-transcription",)
        self.proc: subprocess.Popen | None = None
        self.log = open(tmp_path / "server.log", "ab")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", "--port", str(self.port), "--data-dir", str(self.tmp / "data"),
             *self.extra_args],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError((self.tmp / "server.log").read_text(errors="replace"))
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        self.log.close()
