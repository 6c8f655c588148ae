"""Storage: an embedded SQLite file (the default) or a shared PostgreSQL database, behind one small interface.

The room server writes a change here before it tells anyone about it, so a restart (or another node,
with PostgreSQL) finds every room where it was.  Calls are short and synchronous on purpose: a handful
of rows per change, well under a millisecond with SQLite's WAL, about a network round trip with
PostgreSQL.

Which database: :func:`connect` takes a path (an SQLite file, as ``companion serve`` has always made in
its data folder), ``sqlite:///<path>`` or ``postgresql://user@host:port/dbname`` (libpq's URL form;
``?sslmode=...`` and the other libpq parameters pass through).  Several server processes, on one machine
or several, can share one PostgreSQL database; an SQLite file serves the processes of one machine.

The interface is the one of Python's ``sqlite3`` module, which the code was written against: ``execute(sql,
params)`` with ``?`` placeholders returns a cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``,
``description``), rows are read by column name or index, ``with Transaction(conn):`` is all or nothing.
For SQLite it *is* a ``sqlite3.Connection``; for PostgreSQL :class:`PgConnection` translates the
placeholders for psycopg 3 and gives rows that behave like ``sqlite3.Row``.  The SQL itself is written in
what both databases understand (``INSERT ... ON CONFLICT``, ``IS NOT DISTINCT FROM``, flags as 0/1
integers).

The schema is made and changed by Alembic (``companion/migrations``), run by :func:`connect` when the
database is behind (``companion migrate`` does it by hand); ``companion/schema.py`` describes the result.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

log = logging.getLogger(__name__)


class PgError(Exception):
    """PostgreSQL refused or failed a statement, or could not be reached (the psycopg error is its cause)."""


class PgIntegrityError(PgError):
    """PostgreSQL refused a row: a unique key, a foreign key, a NOT NULL."""


class PgUnavailable(PgError):
    """PostgreSQL could not be reached, dropped the connection (a restart, a failover) or gave up waiting
    for a lock: nothing is wrong with the request, which may be tried again in a few seconds."""


# Either driver's "a constraint refused this row" / "the database failed", for ``except db.IntegrityError``
# (psycopg is imported only when a PostgreSQL database is opened: its import costs a quarter second).
IntegrityError = (sqlite3.IntegrityError, PgIntegrityError)
DatabaseError = (sqlite3.Error, PgError)


def _pg_error(exc: Exception) -> PgError:
    import psycopg

    kind = (PgIntegrityError if isinstance(exc, psycopg.IntegrityError)
            else PgUnavailable if isinstance(exc, psycopg.OperationalError) else PgError)
    error = kind(str(exc).strip())
    error.__cause__ = exc
    return error

# pg_advisory_xact_lock keys: one for every write transaction (what BEGIN IMMEDIATE is to SQLite: one
# writer at a time, so a read-then-write inside a transaction sees no other writer between), one for
# the migrations (two nodes starting at once).  Arbitrary constants, the same in every process.
_WRITE_LOCK = 0x636F6D7061_01
_MIGRATE_LOCK = 0x636F6D7061_02

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# A database host that takes the connection but never answers (hung, or behind a firewall that drops
# packets) fails ``serve`` and ``migrate`` with a message after this many seconds, instead of a silent
# wait of minutes. A ``?connect_timeout=`` in the URL wins.
CONNECT_SECONDS = 10
# Connecting again while serving, after the database went away: shorter, because the calls are made on the
# event loop, and every second spent here is a second no room on this process moves.
RECONNECT_SECONDS = 3
# A statement that has not come back after this many seconds means the database is stuck or out of reach
# (a host gone from the network, a stopped backend, a failover that moved the address): its socket is cut
# and the request gets 503 database_unavailable, instead of the event loop, and every room on it, waiting
# for TCP to give up after a quarter of an hour. PostgreSQL's own statement_timeout (set a little below)
# ends a statement first when the server is only slow; lock waits end sooner still (lock_timeout).
STATEMENT_SECONDS = 10.0
# After the database could not be reached, a new connection is tried at most this often (doubling up to
# the maximum while it stays away); requests in between fail at once (503) instead of each waiting.
RETRY_SECONDS = (2.0, 30.0)
# TCP keepalives, so that a connection whose peer vanished while it was idle is known dead before it is used.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}


def _pg_options(url: str, connect_seconds: int = CONNECT_SECONDS) -> dict[str, Any]:
    """psycopg's keyword arguments besides the URL: the connect timeout and TCP keepalives, each unless
    the URL gives its own."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(url)
    except Exception:  # a malformed URL: connecting says what is wrong with it
        given = {}
    wanted = {"connect_timeout": connect_seconds, **KEEPALIVES}
    return {k: v for k, v in wanted.items() if k not in given}


class _Watchdog:
    """One thread per process that cuts the socket of a statement running past its deadline.

    ``shutdown`` (not ``close``) on the socket: the blocked read in libpq returns at once with "server closed
    the connection", psycopg raises, and the file descriptor stays libpq's to close."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, int]] = {}  # token -> (monotonic deadline, socket fd)
        self._fired: set[int] = set()  # tokens whose statement was cut, until disarmed
        self._tokens = iter(range(1, 1 << 62))
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> int:
        with self._cond:
            token = next(self._tokens)
            self._armed[token] = (time.monotonic() + seconds, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> bool:
        """The statement is over; True when it was cut for running past its deadline."""
        with self._cond:
            self._armed.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def _run(self) -> None:
        import socket

        while True:
            with self._cond:
                now = time.monotonic()
                due = [t for t, (deadline, _) in self._armed.items() if deadline <= now]
                fds = [self._armed.pop(t)[1] for t in due]
                self._fired.update(due)
                if not fds:
                    nearest = min((d for d, _ in self._armed.values()), default=None)
                    self._cond.wait(None if nearest is None else max(0.0, nearest - now))
                    continue
            for fd in fds:
                log.warning("database: a statement ran past %.0f s; cutting its connection", STATEMENT_SECONDS)
                try:
                    sock = socket.socket(fileno=os.dup(fd))
                except OSError:
                    continue  # closed meanwhile: the statement is over
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    sock.close()


_watchdog = _Watchdog()


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


def is_postgresql(target: Path | str) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def sqlite_path(target: Path | str) -> str:
    """The SQLite file a target names (a path or ``sqlite:///path``; ``:memory:`` as is)."""
    text = str(target)
    if text.startswith("sqlite://"):
        rest = text[len("sqlite://"):]
        if rest in ("", "/", "/:memory:"):
            return ":memory:"
        if not rest.startswith("/"):
            raise ValueError(f"an SQLite URL names its file after three slashes (sqlite:///path): {text}")
        # SQLAlchemy's form: sqlite:///relative/path, sqlite:////absolute/path.
        return rest[1:]
    # Any other scheme, also a mistyped one (postgresql:/..., postgresq://...), is not taken for a file name
    # (SQLite's own file: URIs, which connect() makes for in-memory databases, excepted).
    if isinstance(target, str) and re.match(r"(?!file:)[A-Za-z][A-Za-z0-9+.-]+:", text):
        raise ValueError(f"unknown database (sqlite:///path or postgresql://user@host:port/db): {text}")
    return text


def database_url(text: str) -> str:
    """``--database`` as given on a command line (argparse ``type``): ``sqlite:///PATH`` or
    ``postgresql://USER@HOST:PORT/DBNAME``. ValueError (argparse shows its message) for a bare word,
    which would otherwise become an SQLite file of that name wherever the command was started, and for a
    URL whose host or port cannot be read."""
    import argparse
    from urllib.parse import urlsplit

    if is_postgresql(text):
        try:
            urlsplit(text).port  # a port that is no number, an unclosed [IPv6 address
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a database URL ({exc}): {describe(text)}") from None
        return text
    if not text.startswith("sqlite://"):
        raise argparse.ArgumentTypeError(
            f"unknown database (sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME): {describe(text)}")
    try:
        sqlite_path(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def describe(target: Path | str) -> str:
    """The target for a log line, without a password."""
    if is_postgresql(target) or "://" in str(target):
        return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", str(target))
    return str(target)


def dialect(conn: Any) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return "postgresql" if isinstance(conn, PgConnection) else "sqlite"


def connect(target: Path | str) -> "sqlite3.Connection | PgConnection":
    """Open the database (made and brought to the newest schema if it is behind).

    Raises ``ValueError`` for a target that names neither database, and the driver's error
    (one of ``DatabaseError``) when it cannot be opened."""
    if is_postgresql(target):
        conn = PgConnection(str(target))
        if _version(conn) != head():
            migrate(target)
        return conn
    path = sqlite_path(target)
    if path == ":memory:":
        # One private in-memory database, reachable by the migration's own connection while this one is open.
        path = f"file:companion-{uuid.uuid4().hex}?mode=memory&cache=shared"
    else:
        _private_file(Path(path))
    conn = _sqlite_connect(path)
    if _version(conn) != head() and not _create_fresh(conn):
        migrate(path)
    return conn


def _sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, uri=path.startswith("file:"))
    conn.row_factory = sqlite3.Row
    _sqlite_pragmas(conn)
    return conn


def _sqlite_pragmas(conn: Any) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Deleted words must not linger in free pages of the file.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=5000")


_template_lock = threading.Lock()


@lru_cache(maxsize=1)
def _fresh_schema() -> tuple[tuple[str, ...], str]:
    """The statements SQLite stored for a database Alembic brought to head, and that head.

    Made once per process in memory: a new SQLite file gets them in one transaction instead of a run of
    the migrations (half a second each time, which a test suite making hundreds of files feels)."""
    with _template_lock:
        path = f"file:companion-template-{uuid.uuid4().hex}?mode=memory&cache=shared"
        keep = sqlite3.connect(path, uri=True)
        try:
            _, version = migrate(path)
            rows = keep.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            ).fetchall()
        finally:
            keep.close()
    return tuple(row[0] for row in rows), version


def _create_fresh(conn: sqlite3.Connection) -> bool:
    """Give an SQLite database without any table the newest schema; False if it has tables (then migrate)."""
    if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
        return False
    statements, version = _fresh_schema()
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Checked again under the write lock: another process may have made the schema meanwhile.
        if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
            conn.execute("ROLLBACK")
            return False
        for sql in statements:
            conn.execute(sql)
        conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True


def _version(conn: Any) -> str | None:
    if isinstance(conn, PgConnection):
        if conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None:
            return None
    elif conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone() is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest schema revision this code knows (checked against Alembic's own view by the tests;
    read from a constant so that opening a database does not import Alembic)."""
    from .migrations import HEAD

    return HEAD


def _engine(target: Path | str):
    import sqlalchemy as sa

    if is_postgresql(target):
        url = sa.make_url(str(target)).set(drivername="postgresql+psycopg")
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=_pg_options(str(target)))
    path = sqlite_path(target)
    engine = sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(path, uri=path.startswith("file:"), isolation_level=None),
        poolclass=sa.pool.NullPool,
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        # Another process may be migrating the same file: wait for it (a migration may take a while).
        cursor.execute("PRAGMA busy_timeout=120000")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    # One migration at a time on one file (several workers may start together), and DDL inside the
    # transaction: SQLAlchemy's own pysqlite handling would leave both to the driver's guesses.
    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(target: Path | str, revision: str = "head") -> tuple[str | None, str]:
    """Bring the database's schema to ``revision`` with Alembic; returns (revision before, after).

    A database made before Alembic (an SQLite file of an earlier release) is adopted by the first
    revision, its rows kept.  Safe to run from several processes at once: they take turns."""
    # Alembic lists each of its autogenerate plugins at INFO when it is loaded: noise in the server's log, where
    # only the revisions it runs ("Running upgrade ...") say something.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    import sqlalchemy as sa
    from alembic import command

    config = _alembic_config()
    engine = _engine(target)
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise (_pg_error(exc.orig) if is_postgresql(target) else exc.orig) from exc
        with connection:
            config.attributes["connection"] = connection
            config.attributes["lock"] = _MIGRATE_LOCK if is_postgresql(target) else None
            config.attributes["before"] = None
            command.upgrade(config, revision)
            connection.commit()
            after = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()
    return config.attributes["before"], after


def _translate(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` outside quotes and comments, and every ``%`` to ``%%``."""
    out = []
    quote = None
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if quote:
            # psycopg reads % inside quotes too; a ? there is text, not a placeholder.
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_translated: dict[str, str] = {}


def _params(params: Any) -> Any:
    # Flags are 0/1 integers in the schema; PostgreSQL will not put a boolean into an integer column.
    if isinstance(params, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return [int(v) if isinstance(v, bool) else v for v in params]


class PgRow(tuple):
    """A result row read by index or by column name, like ``sqlite3.Row`` (``keys()``, ``dict(row)``)."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> "PgRow":
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor):
    index = {col.name: i for i, col in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, index)


class PgConnection:
    """A PostgreSQL connection (psycopg 3) with the ``sqlite3.Connection`` surface the code uses.

    Autocommit outside ``Transaction``, as the SQLite connection is opened (``isolation_level=None``).
    Parameters are bound on the client (psycopg's ``ClientCursor``): a value compares with a column as a
    literal would, the way SQLite's loose typing let the code pass ids and numbers."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.RLock()
        self._in_transaction = False
        self._retry_at = 0.0  # monotonic: no new connection before this (the database was out of reach)
        self._backoff = RETRY_SECONDS[0]
        self._conn = self._open(CONNECT_SECONDS)

    def _open(self, connect_seconds: int):
        import psycopg

        try:
            conn = psycopg.connect(
                self.url, autocommit=True, cursor_factory=psycopg.ClientCursor, row_factory=_row_factory,
                application_name="companion", **_pg_options(self.url, connect_seconds),
            )
            # As SQLite's busy_timeout: a write that waits for another process's transaction longer than
            # this fails (that command is refused) instead of hanging the room. And a process stopped inside a
            # transaction (SIGSTOP, a swapping machine) loses it, so that the others' writes go on.
            conn.execute("SET lock_timeout = '5s'")
            conn.execute("SET idle_in_transaction_session_timeout = '15s'")
            conn.execute(f"SET statement_timeout = '{int(STATEMENT_SECONDS * 1000) - 1000}ms'")
        except psycopg.Error as exc:
            raise _pg_error(exc) from exc
        self._backoff = RETRY_SECONDS[0]
        return conn

    def _unreachable(self) -> None:
        """The database just failed to answer: try a new connection only after the backoff."""
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, RETRY_SECONDS[1])

    def _sql(self, sql: str) -> str:
        done = _translated.get(sql)
        if done is None:
            done = _translated[sql] = _translate(sql)
        return done

    def _live(self):
        # A connection the server dropped (a restart of PostgreSQL, a failover) is opened again before
        # the next statement; a statement inside a transaction fails instead, as the transaction is lost.
        if self._conn.closed and not self._in_transaction:
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise PgUnavailable(f"database unreachable; the next try in {wait:.0f} s")
            try:
                self._conn = self._open(RECONNECT_SECONDS)
            except PgUnavailable:
                self._unreachable()
                raise
        return self._conn

    def _run(self, call: Callable[[Any], Any]):
        """``call(connection)`` under the statement deadline, its errors as ours."""
        import psycopg

        with self._lock:
            conn = self._live()
            token = _watchdog.arm(conn.pgconn.socket, STATEMENT_SECONDS)
            try:
                result = call(conn)
            except psycopg.Error as exc:
                # Cut for not answering: the database is out of reach, so connecting again waits its turn. A
                # connection the server closed (a restart, a terminated backend) is opened again at once.
                if _watchdog.disarm(token):
                    self._unreachable()
                raise _pg_error(exc) from exc
            _watchdog.disarm(token)
            return result

    def execute(self, sql: str, params: Any = ()):
        """Run one statement; returns psycopg's cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``).

        Raises :class:`PgUnavailable` when the database cannot be reached or the statement has not come
        back within ``STATEMENT_SECONDS``."""
        # Always with a parameter list, even empty: psycopg then reads %% as %, as _translate wrote it.
        return self._run(lambda conn: conn.execute(self._sql(sql), _params(params)))

    def executemany(self, sql: str, seq: Iterable[Any]):
        def many(conn):
            cur = conn.cursor()
            cur.executemany(self._sql(sql), [_params(p) for p in seq])
            return cur

        return self._run(many)

    def begin(self) -> None:
        self.execute("BEGIN")
        self._in_transaction = True
        self.execute(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")

    def end(self, commit: bool) -> None:
        try:
            self.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self._in_transaction = False

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "PgConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Transaction:
    """``with Transaction(conn):`` — all or nothing, so a refused command leaves no half-written state.

    One writer at a time, as SQLite's ``BEGIN IMMEDIATE`` gives: on PostgreSQL every write transaction
    takes one advisory lock first, so a check and the write it allows are never split by another
    process's write (room limits, unique names, positions in the advice list)."""

    def __init__(self, conn: Any):
        self.conn = conn

    def __enter__(self) -> Any:
        if isinstance(self.conn, PgConnection):
            self.conn.begin()
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if isinstance(self.conn, PgConnection):
            self.conn.end(commit=exc_type is None)
        else:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


# What the rest of the code names in its annotations: either driver's connection and row.
Connection = sqlite3.Connection | PgConnection
Row = sqlite3.Row | PgRow
