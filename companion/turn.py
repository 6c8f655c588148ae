"""TURN relay settings: short-lived credentials for each page, and coturn's configuration.

A participant whose network drops UDP (many hospital, school and office
networks allow only TCP 443) reaches the call through a TURN relay: coturn,
run by the operator next to this server.  The two share one secret and
nothing else: coturn's ``use-auth-secret`` scheme (the "TURN REST API",
draft-uberti-behave-turn-rest-00) lets this server mint credentials coturn
can check on its own:

    username = "<unix expiry time>:<participant id>"
    password = base64(HMAC-SHA1(secret, username))

Every ``media.offer`` carries fresh ones (docs/protocol.md, "Media"), valid
for the planned length of the session plus a margin; a page that reconnects
gets new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_ENV = "COMPANION_TURN_SECRET"
# Time between the start of the page's call and the end of its session that a
# credential must still cover: waiting before the start, pauses, overrunning steps.
MARGIN_SECONDS = 2 * 3600
MIN_SECRET_CHARS = 16
SCHEMES = ("turn:", "turns:", "stun:")


class TurnSettingsError(ValueError):
    """A TURN option that cannot work; the message is for the operator."""


@dataclass(frozen=True)
class TurnSettings:
    urls: tuple[str, ...]
    secret: str = field(repr=False)
    # Also let the server's own peer connections allocate a relay: only for a
    # server without a reachable address of its own (behind NAT).
    server_relay: bool = False

    def credentials(self, user: str, valid_seconds: float, now: float | None = None) -> tuple[str, str]:
        """``(username, password)`` for ``user`` (a participant id), valid ``valid_seconds`` from ``now``."""
        expiry = int((time.time() if now is None else now) + valid_seconds)
        username = f"{expiry}:{user}"
        digest = hmac.new(self.secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode("ascii")

    def ice_servers(self, user: str, valid_seconds: float, now: float | None = None) -> list[dict[str, Any]]:
        """The ``iceServers`` of an RTCConfiguration (browser JSON form) for one participant."""
        username, password = self.credentials(user, valid_seconds, now)
        return [{"urls": list(self.urls), "username": username, "credential": password}]


def check_urls(urls: list[str]) -> tuple[str, ...]:
    for url in urls:
        if not url.startswith(SCHEMES) or len(url) <= len(url.split(":", 1)[0]) + 1:
            raise TurnSettingsError(
                f"TURN URL {url!r}: expected turn:host:port (UDP/TCP), turn:host:port?transport=tcp or turns:host:443?transport=tcp (TLS)"
            )
    return tuple(urls)


def read_secret(path: Path | None, environ: dict[str, str] | None = None) -> str | None:
    """The shared secret from a file (first line) or, without one, from $COMPANION_TURN_SECRET."""
    environ = os.environ if environ is None else environ
    if path is not None:
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TurnSettingsError(f"cannot read the TURN secret file {path}: {exc.strerror}") from None
    else:
        secret = environ.get(SECRET_ENV, "").strip()
        if not secret:
            return None
    if len(secret) < MIN_SECRET_CHARS or any(ch.isspace() for ch in secret):
        raise TurnSettingsError(f"the TURN secret must be one line of at least {MIN_SECRET_CHARS} characters without spaces")
    return secret


def new_secret_file(path: Path) -> str:
    """Write a new random secret to ``path`` (mode 0600) and return it."""
    secret = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    return secret


def settings_from_options(urls: list[str], secret_file: Path | None, server_relay: bool = False) -> TurnSettings | None:
    """None when no TURN URL is given; an error when URLs come without a secret (or the reverse)."""
    secret = read_secret(secret_file)
    if not urls:
        if secret_file is not None:
            raise TurnSettingsError("a TURN secret without --turn-url: add the relay's address")
        return None
    if secret is None:
        raise TurnSettingsError(f"--turn-url needs the shared secret: --turn-secret-file FILE or ${SECRET_ENV}")
    return TurnSettings(check_urls(urls), secret, server_relay)


# Address ranges a relay must not reach on the operator's side: coturn would
# otherwise let anyone with a credential talk to machines on the internal network.
PRIVATE_RANGES = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "240.0.0.0-255.255.255.255",
    "::1",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


def turnserver_conf(
    secret: str,
    realm: str,
    *,
    port: int = 3478,
    tls_port: int | None = None,
    cert: Path | None = None,
    pkey: Path | None = None,
    listening_ips: list[str] = (),
    external_ip: str | None = None,
    allowed_peers: list[str] = (),
) -> str:
    """A complete turnserver.conf (coturn 4.6) for ``secret``; TLS when ``cert`` and ``pkey`` are given."""
    if bool(cert) != bool(pkey):
        raise TurnSettingsError("--cert and --pkey go together")
    lines = [
        "# coturn for companion, made by `python -m companion turn-config`.",
        "# companion hands each page credentials made with the same secret (TURN REST scheme);",
        "# keep this file readable for coturn only.",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={realm}",
        "fingerprint",
        f"listening-port={port}",
    ]
    lines += [f"listening-ip={ip}" for ip in listening_ips]
    if external_ip:
        lines.append(f"external-ip={external_ip}")
    if cert and pkey:
        lines += [
            f"tls-listening-port={tls_port or 5349}",
            f"cert={cert}",
            f"pkey={pkey}",
            "no-tlsv1",
            "no-tlsv1_1",
            "no-dtls",
        ]
    else:
        lines += ["no-tls", "no-dtls"]
    lines += [
        "no-cli",
        "no-multicast-peers",
        "no-software-attribute",
        "log-file=stdout",
        "simple-log",
        "# No relaying into private networks, except the addresses below (the companion server).",
    ]
    lines += [f"denied-peer-ip={r}" for r in PRIVATE_RANGES]
    lines += [f"allowed-peer-ip={ip}" for ip in allowed_peers]
    return "\n".join(lines) + "\n"


def config_main(argv: list[str]) -> int:
    """``companion turn-config``: print a turnserver.conf for the secret ``serve`` uses."""
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="companion turn-config",
        description="Print a coturn configuration (turnserver.conf) that accepts the credentials this server "
        "hands out. Give it the same secret as `serve`: --turn-secret-file FILE (made with a new random "
        f"secret when it does not exist yet) or ${SECRET_ENV}.",
    )
    p.add_argument("--turn-secret-file", type=Path, help="file with the shared secret; created (mode 0600) when missing")
    p.add_argument("--realm", required=True, help="the relay's domain name, e.g. turn.example.nl")
    p.add_argument("--port", type=int, default=3478, help="plain TURN port, UDP and TCP (default 3478)")
    p.add_argument("--tls-port", type=int, default=5349, help="TURN over TLS port (default 5349; 443 gets through most firewalls)")
    p.add_argument("--cert", type=Path, help="certificate (PEM, full chain) for TURN over TLS")
    p.add_argument("--pkey", type=Path, help="its private key (PEM)")
    p.add_argument("--listening-ip", action="append", default=[], help="address to listen on (default: all); repeatable")
    p.add_argument("--external-ip", help="public address when coturn sits behind NAT (public or public/private)")
    p.add_argument(
        "--allow-peer",
        action="append",
        default=[],
        help="a private address the relay may reach: the companion server's own, when it is on a private network; repeatable",
    )
    args = p.parse_args(argv)
    try:
        if args.turn_secret_file is not None and not args.turn_secret_file.exists():
            secret = new_secret_file(args.turn_secret_file)
            print(f"companion: a new TURN secret is in {args.turn_secret_file}", file=sys.stderr)
        else:
            secret = read_secret(args.turn_secret_file)
        if secret is None:
            raise TurnSettingsError(f"no secret: give --turn-secret-file FILE or set ${SECRET_ENV}")
        conf = turnserver_conf(
            secret,
            args.realm,
            port=args.port,
            tls_port=args.tls_port,
            cert=args.cert,
            pkey=args.pkey,
            listening_ips=args.listening_ip,
            external_ip=args.external_ip,
            allowed_peers=args.allow_peer,
        )
    except TurnSettingsError as exc:
        print(f"companion turn-config: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(conf)
    return 0
