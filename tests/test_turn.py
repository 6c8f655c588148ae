"""TURN settings: the credentials coturn's use-auth-secret scheme expects, the options of
`serve`, the configuration `turn-config` prints, and the relay in every media offer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys

import pytest

from companion.config import Settings
from companion.turn import TurnSettings, TurnSettingsError, read_secret, settings_from_options, turnserver_conf

SECRET = "s3cret-s3cret-s3cret"


def test_credentials_follow_the_turn_rest_scheme():
    turn = TurnSettings(("turns:turn.example.nl:443?transport=tcp",), SECRET)
    username, password = turn.credentials("p-123", valid_seconds=3600, now=1_000_000)
    assert username == "1003600:p-123"
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"1003600:p-123", hashlib.sha1).digest()).decode()
    assert password == expected
    servers = turn.ice_servers("p-123", 3600, now=1_000_000)
    assert servers == [{"urls": ["turns:turn.example.nl:443?transport=tcp"], "username": username, "credential": password}]
    assert SECRET not in repr(turn)


def test_secret_from_file_or_environment(tmp_path):
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    assert read_secret(path, environ={}) == SECRET
    assert read_secret(None, environ={"COMPANION_TURN_SECRET": SECRET}) == SECRET
    assert read_secret(None, environ={}) is None
    path.write_text("kort\n")
    with pytest.raises(TurnSettingsError):
        read_secret(path, environ={})
    with pytest.raises(TurnSettingsError):
        read_secret(tmp_path / "missing", environ={})


def test_serve_options_refuse_what_cannot_work(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_TURN_SECRET", raising=False)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    assert settings_from_options([], None) is None
    with pytest.raises(TurnSettingsError, match="secret"):
        settings_from_options(["turn:turn.example.nl:3478"], None)
    with pytest.raises(TurnSettingsError, match="turn-url"):
        settings_from_options([], secret)
    with pytest.raises(TurnSettingsError, match="expected"):
        settings_from_options(["https://turn.example.nl"], secret)
    turn = settings_from_options(["turn:turn.example.nl:3478", "turns:turn.example.nl:443?transport=tcp"], secret)
    assert turn.urls[1].startswith("turns:") and turn.secret == SECRET


def test_serve_refuses_a_turn_url_without_secret(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "companion", "serve", "--data-dir", str(tmp_path), "--turn-url", "turn:turn.example.nl:3478"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "COMPANION_TURN_SECRET" in result.stderr


def test_turn_config_makes_a_secret_once_and_prints_a_matching_conf(tmp_path):
    secret_file = tmp_path / "etc" / "turn-secret"

    def turn_config(*extra):
        return subprocess.run(
            [sys.executable, "-m", "companion", "turn-config", "--realm", "turn.example.nl", "--turn-secret-file", str(secret_file), *extra],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout

    first = turn_config()
    secret = secret_file.read_text().strip()
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert f"static-auth-secret={secret}\n" in first and "use-auth-secret\n" in first
    assert "no-tls\n" in first
    second = turn_config("--cert", "/etc/letsencrypt/live/turn/fullchain.pem", "--pkey", "/etc/letsencrypt/live/turn/privkey.pem",
                         "--tls-port", "443", "--allow-peer", "10.0.0.5")
    assert f"static-auth-secret={secret}\n" in second  # the same secret, not a new one
    assert "tls-listening-port=443\n" in second and "cert=/etc/letsencrypt/live/turn/fullchain.pem\n" in second
    assert "denied-peer-ip=10.0.0.0-10.255.255.255\n" in second and "allowed-peer-ip=10.0.0.5\n" in second
    with pytest.raises(TurnSettingsError):
        turnserver_conf(secret, "x", cert=tmp_path / "c.pem")


async def test_every_offer_carries_the_relay_with_fresh_credentials(tmp_path):
    """A page gets the relay in each media.offer, valid for the session's planned length plus a margin."""
    import asyncio
    import time

    from conftest import MediaHarness
    from media_page import MediaPage

    turn = TurnSettings(("turn:turn.example.nl:3478?transport=tcp",), SECRET)

    class Harness(MediaHarness):
        def settings(self) -> Settings:
            return Settings(data_dir=self.data_dir, enable_media=True, enable_transcription=False, turn=turn)

    h = Harness(tmp_path / "data")
    await h.start()
    try:
        facilitator, _, _ = await h.create_room()
        planned = sum(step["minutes"] for step in (await facilitator.state())["room"]["method"]["steps"]) * 60
        page = MediaPage(h, facilitator)
        offers: list[dict] = []
        deliver = page.peer.deliver
        page.peer.deliver = lambda m: (offers.append(m) if m.get("type") == "media.offer" else None, deliver(m))
        await page.open()
        deadline = time.monotonic() + 20
        while not offers and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert offers, "no media.offer"
        servers = offers[0]["ice_servers"]
        assert servers[0]["urls"] == list(turn.urls)
        expiry, user = servers[0]["username"].split(":")
        assert user == facilitator.id
        assert planned > 3600
        assert 2 * 3600 - 60 <= int(expiry) - time.time() - planned <= 2 * 3600 + 1
        digest = hmac.new(SECRET.encode(), servers[0]["username"].encode(), hashlib.sha1).digest()
        assert servers[0]["credential"] == base64.b64encode(digest).decode()
        await page.close()
    finally:
        await h.close()


async def test_server_side_relay_only_when_asked():
    from companion.media.service import MediaService

    async def send(*_):
        pass

    turn = TurnSettings(("turn:turn.example.nl:3478",), SECRET)
    assert MediaService(send, turn=turn)._server_ice("r") == []
    relayed = MediaService(send, turn=TurnSettings(turn.urls, SECRET, server_relay=True))._server_ice("r")
    assert relayed[0].urls == list(turn.urls) and relayed[0].username.endswith(":server")


TURNSERVER = "/usr/bin/turnserver"


@pytest.fixture
def local_coturn(tmp_path):
    """coturn on loopback with the configuration turn-config writes; yields its port."""
    import shutil
    import socket
    import time

    from companion.serve_process import free_port

    if not shutil.which(TURNSERVER):
        pytest.skip("coturn is not installed (apt-get install coturn)")
    port = free_port()
    conf = tmp_path / "turnserver.conf"
    conf.write_text(turnserver_conf(SECRET, "companion.test", port=port, listening_ips=["127.0.0.1"]))
    log = open(tmp_path / "coturn.log", "wb")
    proc = subprocess.Popen([TURNSERVER, "-c", str(conf), "--pidfile", str(tmp_path / "pid"), "--userdb", str(tmp_path / "db"),
                             "--relay-ip", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "coturn.log").read_text(errors="replace")[-2000:])
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_server_side_relay_is_granted_by_coturn(local_coturn, transport):
    """With --turn-server-relay the server's own ICE agent (aioice) gets a relay from coturn with
    the credentials we mint; credentials made with another secret get none."""
    from aioice import Connection
    from aiortc.rtcicetransport import connection_kwargs

    from companion.media.service import MediaService

    async def send(*_):
        pass

    url = f"turn:127.0.0.1:{local_coturn}?transport={transport}"

    async def relay_candidates(secret: str) -> list:
        service = MediaService(send, turn=TurnSettings((url,), secret, server_relay=True), session_seconds=lambda _: 3600)
        connection = Connection(ice_controlling=True, components=1, **connection_kwargs(service._server_ice("r")))
        try:
            await connection.gather_candidates()
            return [c for c in connection.local_candidates if c.type == "relay"]
        except Exception:
            return []
        finally:
            await connection.close()

    granted = await relay_candidates(SECRET)
    assert granted and granted[0].host == "127.0.0.1", granted
    assert await relay_candidates("another-secret-of-enough-length") == []
