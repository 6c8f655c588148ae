"""Secrets in links: random, long, and only their hashes stored."""

from __future__ import annotations

import hashlib
import secrets

# 32 url-safe characters carry 192 bits: not guessable, and short enough to paste.
TOKEN_BYTES = 24


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_id() -> str:
    # Public ids (in room URLs) are random too, so no one can walk room numbers.
    return secrets.token_urlsafe(9)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
