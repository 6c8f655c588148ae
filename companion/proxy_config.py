"""``companion proxy-config nginx``: the nginx configuration in front of one or more ``companion serve`` nodes.

One room is served by one process at a time (room leases, companion/leases.py), and every request and
WebSocket about a room carries its id in the path (``/r/<room>/...``, ``/api/rooms/<room>/...``;
docs/protocol.md, "Which process serves a room").  So nginx routes by a consistent hash of that id: all
of a room's traffic reaches the same node, and when a node is gone only its rooms move, to the next
node on the hash ring, which takes them over once their lease ran out.  Paths without a room (the
landing page, ``/static/``, ``/f/<token>``, creating a room, the old ``/k/`` and ``/i/`` links that only
redirect) go to any node.

This module is the one source of these lines: ``docs/deploy/nginx.conf`` is its output for the
command written at the top of that file (tests/test_proxy_config.py checks that they agree).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .web_common import BODY_SECONDS, MAX_BODY

# Open connections per client address at nginx, over all nodes, by default: a room of 6-7 on one
# address (a training room behind its router) needs about 2 each. Many groups behind one address (a
# campus or hospital network behind one NAT address) need --conn-per-address.
CONN_PER_ADDRESS = 40
# A node that refused a connection (dead) is passed over for this long before nginx tries it again.
FAIL_TIMEOUT = "10s"
# A node on another machine that does not answer at all (powered off): give up on it this soon and
# go to the next one, instead of nginx's default of 60 s.
CONNECT_TIMEOUT = "3s"
# The server pings every WebSocket every 10 s, so an open socket is never quiet this long; the long
# time only applies to the WebSocket location, ordinary requests keep nginx's 60 s.
WEBSOCKET_TIMEOUT = "1h"

_UPSTREAM = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


class ProxyConfigError(ValueError):
    """An option that cannot make a working configuration; the message says which."""


@dataclass
class NginxOptions:
    """What the operator chooses.  ``upstreams``: the nodes as ``host:port`` (``[v6]:port``), where each
    runs ``companion serve``; ``listen``: nginx's ``listen`` addresses (default 443 with TLS, else 80);
    ``tls_cert``/``tls_key``: PEM files (full chain, key), or neither for plain http (then a comment
    says where they go)."""

    upstreams: list[str]
    server_name: str = "_"
    listen: list[str] = field(default_factory=list)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    conn_per_address: int = CONN_PER_ADDRESS

    def command_line(self) -> list[str]:
        """The arguments of ``companion proxy-config`` that make this file again."""
        argv = ["nginx"]
        for upstream in self.upstreams:
            argv += ["--upstream", upstream]
        if self.server_name != "_":
            argv += ["--server-name", self.server_name]
        for address in self.listen:
            argv += ["--listen", address]
        if self.tls_cert is not None and self.tls_key is not None:
            argv += ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)]
        if self.conn_per_address != CONN_PER_ADDRESS:
            argv += ["--conn-per-address", str(self.conn_per_address)]
        return argv

    def check(self) -> None:
        if not self.upstreams:
            raise ProxyConfigError("give at least one --upstream host:port (a node running companion serve)")
        for upstream in self.upstreams:
            m = _UPSTREAM.match(upstream)
            if m is None or not 0 < int(m.group(2)) < 65536:
                raise ProxyConfigError(f"--upstream {upstream!r}: write it as host:port, e.g. 10.0.0.11:8080")
        if len(set(self.upstreams)) != len(self.upstreams):
            raise ProxyConfigError("an --upstream is given twice")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ProxyConfigError("--tls-cert and --tls-key go together")
        if not 1 <= self.conn_per_address <= 1_000_000:
            raise ProxyConfigError("--conn-per-address: a number of connections, 1 or more")
        if not re.fullmatch(r"[A-Za-z0-9.*_-]+( [A-Za-z0-9.*_-]+)*", self.server_name):
            raise ProxyConfigError(f"--server-name {self.server_name!r}: a host name such as intervisie.example.nl")
        for item in [*self.listen, *map(str, filter(None, (self.tls_cert, self.tls_key)))]:
            if re.search(r"[\s;{}'\"#$]", item):
                raise ProxyConfigError(f"{item!r}: no spaces, quotes, ';', '{{', '}}', '#' or '$' here")


def _size(n_bytes: int) -> str:
    return f"{n_bytes // 1024}k" if n_bytes % 1024 == 0 else str(n_bytes)


def nginx_conf(options: NginxOptions) -> str:
    """A complete file for Debian's ``/etc/nginx/sites-available/`` (it is read inside ``http { }``).

    Raises ProxyConfigError for options that cannot work."""
    options.check()
    tls = options.tls_cert is not None
    listen = options.listen or (["443"] if tls else ["80"])
    suffix = " ssl" if tls else ""
    nodes = "\n".join(
        f"    server {u} max_fails=1 fail_timeout={FAIL_TIMEOUT};" for u in options.upstreams
    )
    lines = f"""\
# companion behind nginx, made by:
# python -m companion proxy-config {shlex.join(options.command_line())}
# Goes in /etc/nginx/sites-available/companion (linked from sites-enabled/): nginx reads it inside http {{ }}.
#
# Each node runs `companion serve --host <its address> --port <its port> --node-id <unique name>
#   --public-url https://<the name people use> --trusted-proxy <this nginx's address>`, all on one
# database (--database postgresql://... for several machines; docs/protocol.md, "Which process serves a room").
#
# Audio and video do NOT pass through nginx: WebRTC media (UDP) goes straight between the browsers and
# the node that serves their room. Every node must be reachable on UDP from the participants (or
# through a TURN relay: companion turn-config); nginx carries only the pages, the API and the WebSockets.

# The room a request is about, from its path: /r/<room>/... and /api/rooms/<room>/... (every room
# request carries it). Other paths (/, /static/, /f/<link>, creating a room) may go to any node.
map $uri $companion_room {{
    ~^/r/([^/]+)          $1;
    ~^/api/rooms/([^/]+)  $1;
    default               $request_id;
}}

# WebSocket upgrades pass through; other requests close the connection to the node after the answer
# (no keep-alive to the nodes: a node with --workers routes each connection by its first request).
map $http_upgrade $companion_connection {{
    default  upgrade;
    ''       close;
}}

# Connections per client address, so one client cannot hold them all.
limit_conn_zone $binary_remote_addr zone=companion_addr:10m;

# A room's traffic always goes to the same node (consistent hash of its id). A node that refuses
# connections (it died) is skipped for {FAIL_TIMEOUT}: its rooms go to the next node, which takes each
# over once its lease ran out (--lease-seconds) and restores it from the database.
upstream companion_nodes {{
    hash $companion_room consistent;
{nodes}
}}
"""
    if tls:
        lines += f"""
# Plain http only sends people on to https.
server {{
    listen 80;
    server_name {options.server_name};
    return 301 https://$host$request_uri;
}}
"""
    lines += "\nserver {\n"
    lines += "".join(f"    listen {address}{suffix};\n" for address in listen)
    lines += f"    server_name {options.server_name};\n"
    if tls:
        lines += f"""\
    ssl_certificate {options.tls_cert};
    ssl_certificate_key {options.tls_key};
    ssl_protocols TLSv1.2 TLSv1.3;
"""
    else:
        lines += """\
    # Browsers give a page camera and microphone only over https. Add your certificate here
    # (listen 443 ssl; ssl_certificate fullchain.pem; ssl_certificate_key privkey.pem;), e.g. with
    # `certbot --nginx`, or make this file again with --tls-cert and --tls-key.
"""
    lines += f"""
    access_log off;             # paths carry secrets (/r/<room>/k/<personal link>, /r/<room>/i/<invite>, /f/<facilitator link>)
    client_body_timeout {int(BODY_SECONDS)}s;    # a body sent one byte at a time is cut off
    client_header_timeout {int(BODY_SECONDS)}s;
    client_max_body_size {_size(MAX_BODY)};  # the server refuses more anyway
    limit_conn companion_addr {options.conn_per_address};

    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $companion_connection;
    proxy_set_header Host $http_host;
    # For the nodes' --trusted-proxy: the scheme and name people use, and the address nginx saw
    # (not what the client claims: nginx is the first hop).
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    # A dead node: the next one on the ring. A request already sent is never sent twice (POST).
    proxy_next_upstream error timeout;
    proxy_connect_timeout {CONNECT_TIMEOUT};

    location / {{
        proxy_pass http://companion_nodes;
    }}

    # A room's WebSocket stays open for the whole session.
    location ~ ^/r/[^/]+/ws$ {{
        proxy_pass http://companion_nodes;
        proxy_read_timeout {WEBSOCKET_TIMEOUT};
        proxy_send_timeout {WEBSOCKET_TIMEOUT};
    }}
}}
"""
    return lines


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="companion proxy-config",
        description="Print a reverse-proxy configuration for one or more `companion serve` nodes. Each room's "
        "pages, API and WebSockets go to one node (consistent hash of the room id in the path); audio and "
        "video go straight to that node over UDP, never through the proxy.",
    )
    sub = p.add_subparsers(dest="proxy", required=True, metavar="nginx")
    n = sub.add_parser(
        "nginx",
        help="a file for Debian's /etc/nginx/sites-available/",
        description="Print a file for Debian's /etc/nginx/sites-available/ (read inside http { }); check it with nginx -t.",
    )
    n.add_argument("--upstream", action="append", default=[], required=True, metavar="HOST:PORT",
                   help="a node running companion serve, e.g. 10.0.0.11:8080 (repeatable: one per node)")
    n.add_argument("--server-name", default="_", help="the name people use, e.g. intervisie.example.nl (default: any)")
    n.add_argument("--listen", action="append", default=[], metavar="ADDRESS",
                   help="nginx's listen address, e.g. 443 or 203.0.113.5:443 (repeatable; default 443 with TLS, else 80)")
    n.add_argument("--tls-cert", type=Path, help="certificate (PEM, full chain), e.g. /etc/letsencrypt/live/NAME/fullchain.pem")
    n.add_argument("--tls-key", type=Path, help="its private key (PEM), e.g. /etc/letsencrypt/live/NAME/privkey.pem")
    n.add_argument("--conn-per-address", type=int, default=CONN_PER_ADDRESS, metavar="N",
                   help=f"open connections one client address may hold (default {CONN_PER_ADDRESS}: about one room); raise it "
                   "when many groups share one public address, e.g. a campus behind one NAT address (about 2 per person)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    options = NginxOptions(args.upstream, args.server_name, args.listen, args.tls_cert, args.tls_key, args.conn_per_address)
    try:
        conf = nginx_conf(options)
    except ProxyConfigError as exc:
        print(f"companion proxy-config: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(conf)
    return 0
