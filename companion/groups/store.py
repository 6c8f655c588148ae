"""A group, its facilitators, its members and their links.

A group is what lasts: a name, a language, a default method, its facilitators (the server's facilitator
accounts, companion/facilitators.py) and its members.  Each member has a personal link
``/g/<group>/m/<token>`` that stays valid from meeting to meeting; only its SHA-256 is stored, so a lost
link is renewed (the old one stops working) or revoked one by one.  The group's invite link
``/g/<group>/i/<invite>`` lets a person type their name and become a member with a personal link; it is
renewable too.  A one-off room (``POST /api/rooms``) is a group with ``one_off = 1`` and one meeting
(companion/groups/meetings.py makes those).

Errors are ClientError with a Dutch message (400 invalid input, 404 unknown, 409 a name taken).
"""

from __future__ import annotations

from typing import Any

from .. import tokens
from ..db import Connection, IntegrityError, Row, Transaction
from ..errors import ClientError, bad_request, conflict, not_found
from ..names import name_key

MAX_GROUP_NAME = 80
MAX_MEMBER_NAME = 40
# Case content is kept this many days after a meeting (as a room's retention_days), the record of hours
# (no content) this many; the bounds keep a typo from keeping conversations for decades.
CONTENT_DAYS = (1, 365)
RECORD_DAYS = (1, 3650)
DEFAULT_CONTENT_DAYS = 30
DEFAULT_RECORD_DAYS = 730
MEMBER_ROLE = "deelnemer"
FACILITATOR_ROLE = "begeleider"
LANGUAGES = ("nl", "en")


def _clean(value: Any, what: str, max_len: int) -> str:
    from ..engine import clean_text  # the engine imports this package's meetings module

    return clean_text(value, what, max_len)


def _days(value: Any, default: int, bounds: tuple[int, int], what: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise bad_request(f"{what} moet een heel aantal dagen tussen {bounds[0]} en {bounds[1]} zijn.", "invalid")
    return value


def create_group(
    conn: Connection,
    *,
    name: Any,
    language: Any,
    method_id: Any,
    known_method: Any,
    facilitator: dict[str, Any],
    now: float,
    content_retention_days: Any = None,
    record_retention_days: Any = None,
) -> Row:
    """A new group led by ``facilitator`` ({id, name}); returns its row.

    ``known_method(method_id) -> bool`` says whether the server has that method. The facilitator gets
    a member row of their own (role ``begeleider``), so their meetings count in their record of hours."""
    display = _clean(name, "Groepsnaam", MAX_GROUP_NAME)
    if language not in LANGUAGES:
        raise bad_request("Taal moet nl of en zijn.", "invalid")
    if not isinstance(method_id, str) or not known_method(method_id):
        raise bad_request("Onbekende methode.", "unknown_method")
    content_days = _days(content_retention_days, DEFAULT_CONTENT_DAYS, CONTENT_DAYS, "Bewaartermijn van de inhoud")
    record_days = _days(record_retention_days, DEFAULT_RECORD_DAYS, RECORD_DAYS, "Bewaartermijn van de urenregistratie")
    group_id = tokens.new_id()
    with Transaction(conn):
        conn.execute(
            """INSERT INTO groups (id, name, language, method_id, invite_hash, one_off, content_retention_days,
                                   record_retention_days, created_at) VALUES (?, ?, ?, ?, NULL, 0, ?, ?, ?)""",
            (group_id, display, language, method_id, content_days, record_days, now),
        )
        conn.execute(
            "INSERT INTO group_facilitators (group_id, facilitator_id) VALUES (?, ?)", (group_id, facilitator["id"])
        )
        facilitator_member(conn, group_id, facilitator, now)
    return group(conn, group_id)


def update_group(conn: Connection, group_id: str, changes: dict[str, Any], known_method: Any) -> Row:
    """Change a group's name, language, default method or retention (only the keys given; others are
    refused with 400). A new content retention counts for every meeting not yet deleted, as retention
    is worked out from a meeting's end (companion/retention.py). Returns the group's row."""
    allowed = {"name", "language", "method", "content_retention_days", "record_retention_days"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise bad_request(f"Onbekend veld: {unknown[0][:40]}", "invalid")
    columns: dict[str, Any] = {}
    if "name" in changes:
        columns["name"] = _clean(changes["name"], "Groepsnaam", MAX_GROUP_NAME)
    if "language" in changes:
        if changes["language"] not in LANGUAGES:
            raise bad_request("Taal moet nl of en zijn.", "invalid")
        columns["language"] = changes["language"]
    if "method" in changes:
        if not isinstance(changes["method"], str) or not known_method(changes["method"]):
            raise bad_request("Onbekende methode.", "unknown_method")
        columns["method_id"] = changes["method"]
    if "content_retention_days" in changes:
        columns["content_retention_days"] = _days(changes["content_retention_days"], DEFAULT_CONTENT_DAYS,
                                                  CONTENT_DAYS, "Bewaartermijn van de inhoud")
    if "record_retention_days" in changes:
        columns["record_retention_days"] = _days(changes["record_retention_days"], DEFAULT_RECORD_DAYS,
                                                 RECORD_DAYS, "Bewaartermijn van de urenregistratie")
    if columns:
        with Transaction(conn):
            assignments = ", ".join(f"{column} = ?" for column in columns)
            conn.execute(f"UPDATE groups SET {assignments} WHERE id = ?", (*columns.values(), group_id))
    return group(conn, group_id)


def group(conn: Connection, group_id: Any) -> Row | None:
    if not isinstance(group_id, str) or len(group_id) > 64:
        return None
    return conn.execute("SELECT * FROM groups WHERE id = ?", (group_id,)).fetchone()


def groups_of(conn: Connection, facilitator_id: str) -> list[Row]:
    """The lasting groups a facilitator leads (one-off rooms left out), newest first."""
    return conn.execute(
        """SELECT g.* FROM groups g JOIN group_facilitators f ON f.group_id = g.id
           WHERE f.facilitator_id = ? AND g.one_off = 0 ORDER BY g.created_at DESC""",
        (facilitator_id,),
    ).fetchall()


def is_facilitator(conn: Connection, group_id: str, facilitator_id: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM group_facilitators WHERE group_id = ? AND facilitator_id = ?", (group_id, facilitator_id)
    ).fetchone() is not None


def facilitators_of(conn: Connection, group_id: str) -> list[Row]:
    """The group's facilitators that still have an account: [{id, name}]."""
    return conn.execute(
        """SELECT f.id, f.name FROM group_facilitators g JOIN facilitators f ON f.id = g.facilitator_id
           WHERE g.group_id = ? ORDER BY f.name""",
        (group_id,),
    ).fetchall()


def led_group(conn: Connection, group_id: Any, facilitator_id: str) -> Row:
    """The group, if this facilitator leads it. ClientError 404 otherwise (another's group is not
    told apart from one that does not exist)."""
    found = group(conn, group_id)
    if found is None or not is_facilitator(conn, found["id"], facilitator_id):
        raise not_found("Deze groep bestaat niet, of je bent er geen begeleider van.", "unknown_group")
    return found


def add_facilitator(conn: Connection, group_id: str, name: Any, now: float) -> Row:
    """A second (third...) facilitator for the group, by the name of their facilitator account.
    Returns the account's {id, name}. ClientError 404 for an unknown name."""
    display = _clean(name, "Naam van de begeleider", MAX_MEMBER_NAME)
    with Transaction(conn):
        account = conn.execute("SELECT id, name FROM facilitators WHERE lower(name) = lower(?)", (display,)).fetchone()
        if account is None:
            raise not_found(
                "Deze server kent geen begeleider met die naam. De beheerder maakt begeleiders aan.",
                "unknown_facilitator",
            )
        conn.execute(
            "INSERT INTO group_facilitators (group_id, facilitator_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (group_id, account["id"]),
        )
        facilitator_member(conn, group_id, dict(account), now)
    return account


def remove_facilitator(conn: Connection, group_id: str, facilitator_id: Any) -> None:
    """The facilitator account no longer leads the group (their member row and record stay).
    ClientError 404 for an account that does not lead it, 409 for the group's last facilitator."""
    with Transaction(conn):
        if not isinstance(facilitator_id, str) or not is_facilitator(conn, group_id, facilitator_id):
            raise not_found("Deze begeleider hoort niet bij deze groep.", "unknown_facilitator")
        left = conn.execute("SELECT COUNT(*) FROM group_facilitators WHERE group_id = ?", (group_id,)).fetchone()[0]
        if left <= 1:
            raise conflict("Een groep houdt minstens één begeleider.", "last_facilitator")
        conn.execute(
            "DELETE FROM group_facilitators WHERE group_id = ? AND facilitator_id = ?", (group_id, facilitator_id)
        )


def facilitator_member(conn: Connection, group_id: str, facilitator: dict[str, Any], now: float) -> str:
    """The member row of a facilitator in their group (role ``begeleider``), made when missing; its id.
    Call inside a transaction. A member already named like the facilitator keeps the name; the
    facilitator's row then says "(begeleider)" after it."""
    row = conn.execute(
        "SELECT id FROM members WHERE group_id = ? AND facilitator_id = ?", (group_id, facilitator["id"])
    ).fetchone()
    if row is not None:
        return row["id"]
    name = str(facilitator["name"])[:MAX_MEMBER_NAME]
    if _name_taken(conn, group_id, name):
        name = f"{name[:MAX_MEMBER_NAME - 14]} (begeleider)"
    member_id = tokens.new_id()
    conn.execute(
        """INSERT INTO members (id, group_id, name, token_hash, role, facilitator_id, created_at)
           VALUES (?, ?, ?, NULL, ?, ?, ?)""",
        (member_id, group_id, name, FACILITATOR_ROLE, facilitator["id"], now),
    )
    return member_id


def _name_taken(conn: Connection, group_id: str, name: str) -> bool:
    key = name_key(name)
    return any(name_key(row["name"]) == key for row in conn.execute("SELECT name FROM members WHERE group_id = ?", (group_id,)))


NAME_TAKEN = (
    "Deze naam is al in gebruik in deze groep, of lijkt er zo op dat niemand het verschil ziet; "
    "kies een andere (bijvoorbeeld met je achternaam erbij)."
)


def insert_member(conn: Connection, group_id: str, name: str, now: float, *, member_id: str | None = None,
                  token_hash: str | None = None, role: str = MEMBER_ROLE) -> str:
    """Write a member row (inside the caller's transaction); its id. ClientError 409 when the name is
    taken in the group (names are compared as in a room: companion/names.py)."""
    if _name_taken(conn, group_id, name):
        raise conflict(NAME_TAKEN, "name_taken")
    member_id = member_id or tokens.new_id()
    try:
        conn.execute(
            """INSERT INTO members (id, group_id, name, token_hash, role, facilitator_id, created_at)
               VALUES (?, ?, ?, ?, ?, NULL, ?)""",
            (member_id, group_id, name, token_hash, role, now),
        )
    except IntegrityError:
        raise conflict(NAME_TAKEN, "name_taken") from None
    return member_id


def add_member(conn: Connection, group_id: str, name: Any, now: float) -> tuple[str, str]:
    """A new member with a personal link; returns (member id, token). The token is shown once."""
    display = _clean(name, "Naam", MAX_MEMBER_NAME)
    if not name_key(display):
        raise bad_request("Naam is leeg", "invalid")
    token = tokens.new_token()
    with Transaction(conn):
        member_id = insert_member(conn, group_id, display, now, token_hash=tokens.token_hash(token))
    return member_id, token


def members(conn: Connection, group_id: str) -> list[Row]:
    """The group's members, in the order they came: [{id, name, role, facilitator_id, has_link, created_at}]."""
    return conn.execute(
        """SELECT id, name, role, facilitator_id, created_at, token_hash IS NOT NULL AS has_link
           FROM members WHERE group_id = ? ORDER BY created_at, name""",
        (group_id,),
    ).fetchall()


def member(conn: Connection, group_id: str, member_id: Any) -> Row:
    """ClientError 404 for a member id that is not of this group."""
    row = (
        conn.execute("SELECT * FROM members WHERE id = ? AND group_id = ?", (member_id, group_id)).fetchone()
        if isinstance(member_id, str) else None
    )
    if row is None:
        raise not_found("Dit lid bestaat niet in deze groep.", "unknown_member")
    return row


def renew_member_link(conn: Connection, group_id: str, member_id: Any) -> str:
    """A new personal link for a member; the old one stops working. Returns the new token."""
    token = tokens.new_token()
    with Transaction(conn):
        found = member(conn, group_id, member_id)
        conn.execute("UPDATE members SET token_hash = ? WHERE id = ?", (tokens.token_hash(token), found["id"]))
        _forget_browsers(conn, found["id"])
    return token


def revoke_member_link(conn: Connection, group_id: str, member_id: Any) -> None:
    """The member's personal link stops working (no new one); they stay a member with their history."""
    with Transaction(conn):
        found = member(conn, group_id, member_id)
        conn.execute("UPDATE members SET token_hash = NULL WHERE id = ?", (found["id"],))
        _forget_browsers(conn, found["id"])


def _forget_browsers(conn: Connection, member_id: str) -> None:
    # A leaked link may have been opened elsewhere: every browser that entered a room with it is out.
    conn.execute(
        "DELETE FROM browser_rooms WHERE participant_id IN (SELECT id FROM participants WHERE member_id = ?)",
        (member_id,),
    )


def member_by_token(conn: Connection, group_id: Any, token: Any) -> Row | None:
    """The member whose personal link this is (in this group), or None (unknown, renewed or revoked)."""
    if not isinstance(token, str) or not token or len(token) > 128 or not isinstance(group_id, str):
        return None
    return conn.execute(
        "SELECT * FROM members WHERE token_hash = ? AND group_id = ?", (tokens.token_hash(token), group_id)
    ).fetchone()


def renew_invite(conn: Connection, group_id: str) -> str:
    """A new invite link for the group (the first, or instead of a leaked one); returns its token."""
    invite = tokens.new_token()
    with Transaction(conn):
        conn.execute("UPDATE groups SET invite_hash = ? WHERE id = ?", (tokens.token_hash(invite), group_id))
    return invite


def group_by_invite(conn: Connection, group_id: Any, invite: Any) -> Row:
    """The group an invite opens. ClientError 404 ``unknown_invite``."""
    found = None
    if isinstance(invite, str) and invite and len(invite) <= 128 and isinstance(group_id, str):
        found = conn.execute(
            "SELECT * FROM groups WHERE invite_hash = ? AND id = ?", (tokens.token_hash(invite), group_id)
        ).fetchone()
    if found is None:
        raise not_found("Deze uitnodiging is onbekend of verlopen.", "unknown_invite")
    return found


def join_by_invite(conn: Connection, group_id: str, invite: Any, name: Any, now: float) -> tuple[str, str]:
    """A person who opened the group's invite becomes a member: (member id, personal token)."""
    group_by_invite(conn, group_id, invite)
    return add_member(conn, group_id, name, now)
