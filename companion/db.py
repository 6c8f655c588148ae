"""SQLite storage: one file per server, WAL, schema owned per module.

The room server writes a change here before it tells anyone about it, so a
restart finds every room where it was.  Calls are short and synchronous on
purpose: a handful of rows per change, well under a millisecond with WAL.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    method_id TEXT NOT NULL,
    -- the method as it was when the room was made: editing a file later
    -- never changes a session under way
    method_source TEXT NOT NULL,
    language TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    invite_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    step_index INTEGER,
    step_started_at REAL,
    paused_at REAL,
    paused_total REAL NOT NULL DEFAULT 0,
    extra_seconds REAL NOT NULL DEFAULT 0,
    overtime_notified INTEGER NOT NULL DEFAULT 0,
    inbrenger_id TEXT,
    case_id TEXT,
    question_original TEXT,
    question_reformulated TEXT,
    vote_closed INTEGER NOT NULL DEFAULT 0,
    vote_tie TEXT,
    ended_at REAL,
    retention_days INTEGER NOT NULL DEFAULT 30,
    rev INTEGER NOT NULL DEFAULT 0
);
-- A method's text is stored once, by its SHA-256, however many rooms use it (rooms made before this
-- table keep their own copy in rooms.method_source; new rooms leave that empty).
CREATE TABLE IF NOT EXISTS method_sources (
    hash TEXT PRIMARY KEY,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS room_methods (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    method_hash TEXT NOT NULL REFERENCES method_sources(hash)
);
-- The facilitator's control over who is in: a locked room takes no new joins; a removed
-- participant's links stop working but their words stay in the room under their name.
CREATE TABLE IF NOT EXISTS room_locks (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    locked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS removed_participants (
    participant_id TEXT PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    removed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    joined_at REAL NOT NULL,
    mic_muted_by TEXT,
    camera_off INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS participants_room_name
    ON participants(room_id, name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    question TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (room_id, participant_id)
);
CREATE TABLE IF NOT EXISTS votes (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    voter_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, voter_id)
);
CREATE TABLE IF NOT EXISTS takeaways (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (room_id, participant_id)
);
"""


def _modules() -> list:
    modules = []
    for name in ("companion.speech.store", "companion.advice.store", "companion.advice.aside", "companion.facilitators", "companion.browser_sessions", "companion.signals", "companion.leases"):
        try:
            module = __import__(name, fromlist=["SCHEMA"])
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        modules.append(module)
    return modules


def prepare_folder(folder: Path) -> None:
    """The data folder, readable by the server's own user only (it holds every conversation)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def _private_file(path: Path) -> None:
    # Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def connect(path: Path | str) -> sqlite3.Connection:
    if str(path) != ":memory:":
        _private_file(Path(path))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Deleted words must not linger in free pages of the file.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(CORE_SCHEMA)
    modules = _modules()
    for module in modules:
        conn.executescript(module.SCHEMA)
    # A module's upgrade(conn) moves rows of a database from before one of its new tables; idempotent.
    for module in modules:
        upgrade = getattr(module, "upgrade", None)
        if upgrade is not None:
            upgrade(conn)
    return conn


class Transaction:
    """``with Transaction(conn):`` — all or nothing, so a refused command leaves no half-written state."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
