"""`companion proxy-config nginx`: the printed configuration is accepted by Debian's nginx itself
(`nginx -t`, with and without TLS, one node or several), routes every room path of the server by its
room id and nothing else, and docs/deploy/nginx.conf is exactly its output for the command written in it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from companion import proxy_config
from companion.config import Settings
from companion.serve_process import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = ROOT / "docs" / "deploy" / "nginx.conf"
needs_nginx = pytest.mark.skipif(not os.path.exists(NGINX) and not os.environ.get("CI"), reason="no nginx")


def proxy_config_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion", "proxy-config", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def nginx_main_conf(folder: Path, site: Path) -> Path:
    """An nginx.conf as Debian's, reduced: the site file read inside http { }, every path in ``folder``."""
    main = folder / "nginx.conf"
    main.write_text(f"""
user root;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
  include {site};
}}
""")
    return main


def nginx_test(folder: Path, site_text: str) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "companion.conf"
    site.write_text(site_text)
    main = nginx_main_conf(folder, site)
    return subprocess.run([NGINX, "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)],
                          capture_output=True, text=True, timeout=60)


@needs_nginx
def test_the_printed_configuration_passes_nginx_t_with_and_without_tls(tmp_path):
    from companion.tls import ensure_self_signed

    two = ["--upstream", "127.0.0.1:8081", "--upstream", "[::1]:8082"]
    plain = proxy_config_cli("nginx", *two, "--listen", f"127.0.0.1:{free_port()}", "--conn-per-address", "400")
    assert plain.returncode == 0, plain.stderr
    checked = nginx_test(tmp_path / "plain", plain.stdout)
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr
    # Without TLS the file says where the certificate goes.
    assert "ssl_certificate" in plain.stdout and "listen 443" not in plain.stdout.replace("# (listen 443", "")

    cert, key = ensure_self_signed(tmp_path / "tls", "intervisie.example.nl")
    tls = proxy_config_cli("nginx", *two, "--server-name", "intervisie.example.nl",
                           "--tls-cert", str(cert), "--tls-key", str(key))
    assert tls.returncode == 0, tls.stderr
    checked = nginx_test(tmp_path / "tls-site", tls.stdout)
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr
    assert "listen 443 ssl;" in tls.stdout and "return 301 https://$host$request_uri;" in tls.stdout

    # What routing needs, in nginx's own words: the room's consistent hash, both nodes with a way to
    # be passed over when dead, the next node for a dead one, WebSocket upgrades, a long WebSocket read.
    for text in (plain.stdout, tls.stdout):
        assert "hash $companion_room consistent;" in text
        assert "server 127.0.0.1:8081 max_fails=1 fail_timeout=" in text and "server [::1]:8082 max_fails=1" in text
        assert "proxy_next_upstream error timeout;" in text
        assert "proxy_http_version 1.1;" in text and "proxy_set_header Upgrade $http_upgrade;" in text
        assert "proxy_set_header Connection $companion_connection;" in text
        assert re.search(r"location ~ \^/r/\[\^/\]\+/ws\$ \{[^}]*proxy_read_timeout 1h;", text)
        assert "X-Forwarded-Proto $scheme;" in text and "access_log off;" in text
        assert "UDP" in text  # media goes straight to the node: said in the file
    assert "limit_conn companion_addr 400;" in plain.stdout and "--conn-per-address 400" in plain.stdout
    assert f"limit_conn companion_addr {proxy_config.CONN_PER_ADDRESS};" in tls.stdout

    # An nginx that cannot parse something says so: the check above can fail.
    broken = nginx_test(tmp_path / "broken", plain.stdout.replace("hash $companion_room consistent;", "hash;"))
    assert broken.returncode != 0


def test_the_deploy_file_is_the_generators_output_for_the_command_written_in_it():
    text = DEPLOY.read_text(encoding="utf-8")
    command = text.splitlines()[1]
    assert command.startswith("# python -m companion proxy-config nginx "), command
    argv = shlex.split(command[len("# python -m companion proxy-config "):])
    made = proxy_config_cli(*argv)
    assert made.returncode == 0, made.stderr
    assert made.stdout == text, "docs/deploy/nginx.conf differs from `companion proxy-config`: make it again with the command in its 2nd line"


def test_options_that_cannot_work_are_refused_with_a_reason(capsys):
    for args, words in (
        ([], "--upstream"),
        (["--upstream", "10.0.0.1"], "host:port"),
        (["--upstream", "10.0.0.1:99999"], "host:port"),
        (["--upstream", "a:1", "--upstream", "a:1"], "twice"),
        (["--upstream", "a:1", "--tls-cert", "/x.pem"], "--tls-key"),
        (["--upstream", "a:1", "--server-name", "x; include /etc/passwd"], "--server-name"),
        (["--upstream", "a:1", "--listen", "80; foo"], "no spaces"),
        (["--upstream", "a:1", "--conn-per-address", "0"], "--conn-per-address"),
    ):
        try:
            code = proxy_config.main(["nginx", *args])
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2 and words in err, (args, err)
    with pytest.raises(SystemExit):
        proxy_config.main(["haproxy", "--upstream", "a:1"])


def _room_patterns(text: str) -> list[re.Pattern]:
    block = re.search(r"map \$uri \$companion_room \{(.*?)\}", text, re.S).group(1)
    return [re.compile(m.group(1)) for m in re.finditer(r"~(\S+)\s+\$1;", block)]


def _room_of(patterns: list[re.Pattern], path: str) -> str | None:
    for pattern in patterns:
        m = pattern.search(path)
        if m:
            return m.group(1)
    return None


def test_every_room_route_of_the_server_is_routed_by_its_room_and_no_other_route_is(tmp_path):
    """Each route of the real application, with a made-up room id where it has one: the map in the
    printed file (its regular expressions run as Python's, the same for these) finds that room id;
    routes without a room (landing page, /static/, /f/<link>, creating a room, the old links) get none."""
    from companion.web import create_app

    patterns = _room_patterns(proxy_config.nginx_conf(proxy_config.NginxOptions(["127.0.0.1:8080"])))
    assert len(patterns) >= 2
    app = create_app(Settings(data_dir=tmp_path / "data", enable_media=False, enable_transcription=False))
    seen_room_routes = 0
    for resource in app.router.resources():
        canonical = resource.canonical
        path = re.sub(r"\{fmt[^}]*\}", "md", canonical)
        path = path.replace("{room_id}", "Rm0-_x9").rstrip("/")
        path = re.sub(r"\{[^}]+\}", "abc", path) or "/"
        if canonical.startswith("/static"):
            path = "/static/room.js"
        if "{room_id}" in canonical:
            seen_room_routes += 1
            assert _room_of(patterns, path) == "Rm0-_x9", canonical
            assert _room_of(patterns, path + "/") in (None, "Rm0-_x9")
        else:
            assert _room_of(patterns, path) is None, canonical
    assert seen_room_routes >= 20  # pages, API, WebSocket, advice list and its exports
    assert _room_of(patterns, "/api/rooms") is None  # creating a room: any node
