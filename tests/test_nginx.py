"""The nginx site file the README points to (docs/deploy/nginx.conf, printed by `companion proxy-config
nginx`), run by a real nginx in front of `python -m companion serve`, on loopback:
a room is made, joined and entered through it (personal link, WebSocket upgrade); nothing it
logs holds a secret (no access log); a request body sent too slowly is cut off
(client_body_timeout); one address cannot hold more connections than limit_conn allows."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time

import aiohttp
import pytest
from served import ServedCompanion

from companion import proxy_config
from companion.serve_process import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# In CI the README's command installs nginx: missing there is a failure, not a skip.
pytestmark = pytest.mark.skipif(not shutil.which(NGINX) and not os.environ.get("CI"), reason="no nginx")


def nginx_conf(folder, listen: int, upstream: int) -> str:
    """nginx.conf with the site file `companion proxy-config nginx` prints (docs/deploy/nginx.conf is that
    file for the deploy's command), for this test's ports, read inside http { } as Debian's nginx does."""
    site = folder / "companion.conf"
    site.write_text(proxy_config.nginx_conf(proxy_config.NginxOptions([f"127.0.0.1:{upstream}"], listen=[f"127.0.0.1:{listen}"])))
    return f"""
user root;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
daemon off;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
  include {site};
}}
"""


@pytest.fixture
def proxied(tmp_path):
    listen = free_port()
    served = ServedCompanion(tmp_path, "--public-url", f"http://127.0.0.1:{listen}")
    served.start()
    folder = tmp_path / "nginx"
    folder.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, listen, served.port))
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield served, f"http://127.0.0.1:{listen}", folder
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        served.close()


async def test_the_deploy_nginx_lines_proxy_logs_no_secret_and_holds_its_limits(proxied):
    served, base, folder = proxied
    secrets = {"facilitator link": served.facilitator_token}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{base}/f/{served.facilitator_token}", allow_redirects=False) as r:
            assert r.status == 303
        async with http.post(f"{base}/api/rooms", json={"name": "Team Proxy", "method": "roddelmodel", "facilitator_name": "Fleur"},
                             headers={"Origin": base}) as r:
            assert r.status == 201, await r.text()
            room = await r.json()
        secrets["facilitator"] = room["token"]
        secrets["invite"] = room["invite_url"].rsplit("/", 1)[1]
        assert room["invite_url"].startswith(f"{base}/r/{room['room_id']}/i/")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as anne:
            async with anne.post(f"{base}/api/rooms/{room['room_id']}/invites/{secrets['invite']}/join", json={"name": "Anne"}) as r:
                assert r.status == 201
                secrets["Anne"] = (await r.json())["token"]
            async with anne.get(f"{base}/r/{room['room_id']}/k/{secrets['Anne']}") as r:  # the personal link, through to the room page
                assert r.status == 200 and str(r.url).endswith(f"/r/{room['room_id']}")
            ws = await anne.ws_connect(f"{base}/r/{room['room_id']}/ws", headers={"Origin": base})
            welcome = await ws.receive_json(timeout=10)
            assert welcome["type"] == "welcome" and welcome["you"]["name"] == "Anne"
            await ws.close()

    # client_body_timeout: a body that stops coming is cut off by nginx, not held for ever.
    reader, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
    writer.write(f"POST /api/rooms/{room['room_id']}/invites/{secrets['invite']}/join HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 "Content-Length: 200\r\n\r\n{\"na".encode())
    await writer.drain()
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(200), 30)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer
    assert 8 < waited < 25, waited
    writer.close()

    # limit_conn: one address holds at most the deploy file's number of connections at once.
    limit = proxy_config.CONN_PER_ADDRESS
    held = []
    try:
        for _ in range(limit):  # each waits in the middle of its body, so each holds its connection
            r, w = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
            w.write(b"POST /api/rooms HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            await w.drain()
            held.append((r, w))
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 503
        for _, w in held:
            w.close()
        held.clear()
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
    finally:
        for _, w in held:
            w.close()

    # Nothing nginx wrote holds a secret; there is no access log at all.
    await asyncio.sleep(0.5)
    written = {p.name: p.read_text(errors="replace") for p in folder.rglob("*.log")}
    assert "access.log" not in written and "error.log" in written, written.keys()
    leaks = {what for what, token in secrets.items() for text in written.values() if token[:16] in text}
    assert leaks == set(), leaks
