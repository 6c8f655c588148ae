"""Facilitators the operator knows: only they create rooms.

The operator hands each facilitator a personal link (``/f/<token>``) made with
``companion facilitator add NAME``; the server keeps only the token's hash, so
a lost link is renewed by removing the facilitator and adding them again.
``companion serve`` on a fresh data folder makes the first link itself, so one
facilitator on a laptop needs no extra step.
"""

from __future__ import annotations

import time
from typing import Any

from . import tokens
from .engine import clean_text
from .db import Connection, Transaction
from .errors import ClientError


MAX_NAME = 40
FIRST_NAME = "begeleider"
LINK_PATH = "/f/"


def add(conn: Connection, name: Any) -> tuple[str, str]:
    """A new facilitator; returns (id, token). The token is shown once and stored only as a hash.

    Raises ClientError (409) when the name is taken (names are how the operator removes them)."""
    display = clean_text(name, "Naam", MAX_NAME)
    token = tokens.new_token()
    fid = tokens.new_id()
    with Transaction(conn):
        if conn.execute("SELECT 1 FROM facilitators WHERE lower(name) = lower(?)", (display,)).fetchone():
            raise ClientError(409, "name_taken", f"Er is al een begeleider met de naam {display!r}.")
        conn.execute(
            "INSERT INTO facilitators (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (fid, display, tokens.token_hash(token), time.time()),
        )
    return fid, token


def remove(conn: Connection, name: str) -> bool:
    """Revoke a facilitator's link (by name or id). Their rooms stay; they can make no new ones."""
    with Transaction(conn):
        cur = conn.execute("DELETE FROM facilitators WHERE lower(name) = lower(?) OR id = ?", (name, name))
    return cur.rowcount > 0


def listing(conn: Connection) -> list[dict[str, Any]]:
    """Every facilitator with how many rooms they hold now: [{id, name, created_at, rooms}]."""
    rows = conn.execute(
        """SELECT f.id, f.name, f.created_at,
                  (SELECT COUNT(*) FROM room_owners o WHERE o.facilitator_id = f.id) AS rooms
           FROM facilitators f ORDER BY f.created_at"""
    )
    return [dict(row) for row in rows]


def authenticate(conn: Connection, token: Any) -> dict[str, Any] | None:
    """The facilitator a token belongs to ({id, name}), or None."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = conn.execute("SELECT id, name FROM facilitators WHERE token_hash = ?", (tokens.token_hash(token),)).fetchone()
    return dict(row) if row else None


def first_run(conn: Connection) -> str | None:
    """On a data folder that never had a facilitator: make one and return its token, once ever.

    Later starts return None, also when the operator has removed every facilitator since."""
    with Transaction(conn):
        if conn.execute("SELECT 1 FROM server_meta WHERE key = 'first_facilitator'").fetchone():
            return None
        conn.execute("INSERT INTO server_meta (key, value) VALUES ('first_facilitator', ?)", (str(time.time()),))
        if conn.execute("SELECT 1 FROM facilitators").fetchone():
            return None  # the operator added facilitators before the first start
    return add(conn, FIRST_NAME)[1]


def count(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM facilitators").fetchone()[0]
