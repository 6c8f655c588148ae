"""The server as an operator starts it: a subprocess on a free port."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from companion.serve_process import free_port


def wait_up(url: str, context: ssl.SSLContext | None = None, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def serve(tmp_path):
    procs = []

    def start(*args: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-transcription", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(proc)
        return proc, port

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_self_signed_makes_one_certificate_and_reuses_it(serve, tmp_path):
    proc, port = serve("--self-signed")
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    assert b'"ok": true' in wait_up(f"https://127.0.0.1:{port}/healthz", insecure)
    cert = tmp_path / "data" / "tls" / "self-signed.crt"
    key = tmp_path / "data" / "tls" / "self-signed.key"
    first = cert.read_bytes()
    assert key.stat().st_mode & 0o077 == 0  # the key is private to its owner
    proc.terminate()
    proc.wait(10)
    proc, port = serve("--self-signed")
    wait_up(f"https://127.0.0.1:{port}/healthz", insecure)
    assert cert.read_bytes() == first
    # The certificate names this machine so a browser on the LAN can accept it.
    pem = ssl.PEM_cert_to_DER_cert(first.decode())
    assert b"localhost" in pem


def test_serve_plain_http_and_bad_tls_options(serve):
    proc, port = serve()
    assert b'"ok": true' in wait_up(f"http://127.0.0.1:{port}/healthz")
    result = subprocess.run(
        [sys.executable, "-m", "companion", "serve", "--tls-cert", "x.pem"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "--tls-key" in result.stderr


def test_help_explains_the_options():
    result = subprocess.run([sys.executable, "-m", "companion", "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for option in ("--host", "--port", "--data-dir", "--tls-cert", "--tls-key", "--self-signed", "--public-url", "--retention-days"):
        assert option in result.stdout


def test_readme_test_command_is_what_ci_runs():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    assert "python -m pytest" in readme and "pip install -e . && python -m companion serve" in readme
    assert "README.md" in (root / ".ci" / "run").read_text()
