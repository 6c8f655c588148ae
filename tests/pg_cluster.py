"""A throwaway PostgreSQL cluster for the tests: Debian's PostgreSQL 15 binaries, a fresh ``initdb`` in a
temporary folder, listening on a free port of 127.0.0.1 (and a unix socket inside the folder), stopped and
removed at the end of the test session.

``initdb`` and ``postgres`` refuse to run as root; CI runs as root, so there the cluster runs as the
``postgres`` system user (Debian's package makes it) with the folder given to that user.

Use (tests/conftest.py): the session fixture ``pg_cluster`` is a :class:`PgCluster`;
``pg_cluster.new_database()`` makes an empty database and returns its URL
(``postgresql://postgres@127.0.0.1:<port>/<name>``), for ``companion serve --database <url>`` or
``companion.db.connect(url)``; ``new_database(migrated=True)`` one with the schema made already.
The fixture ``database`` runs a storage test on both backends (a path to an SQLite file, or such a URL).  The fixture skips only when the binaries are missing, and fails instead
when ``CI=true`` (CI installs them).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path(os.environ.get("COMPANION_PG_BIN", "/usr/lib/postgresql/15/bin"))


def missing_reason() -> str | None:
    """Why no cluster can be made here, or None."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if not (BIN / name).exists():
            return f"PostgreSQL 15 binaries not found in {BIN} (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the cluster as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable_tmp() -> str:
    """The temporary folder, if the postgres user can reach into it (root's own TMPDIR may be closed)."""
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(os.stat(p).st_mode & 0o001 for p in [base, *base.parents]):
        return str(base)
    return "/tmp"


class PgCluster:
    """One running cluster; ``url(name)`` / ``new_database()`` give connection URLs for the test code."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="companion-pg-", dir=_reachable_tmp()))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = _free_port()
        self.user = "postgres"
        self._names = itertools.count(1)
        self._template: str | None = None
        self._run_as: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self._run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        os.chmod(self.folder, 0o700)
        self.running = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(self.folder)}
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:]], cwd=self.folder, env=env, capture_output=True, text=True,
            timeout=timeout, **self._run_as,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}")

    def start(self) -> "PgCluster":
        self._run("initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--locale=C.UTF-8")
        # A test cluster: durability off (it is thrown away), enough connections for several server
        # processes and the tests' own, only loopback and the socket in the folder.
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-p {self.port}", f"-c unix_socket_directories={self.folder}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200",
            "-c shared_buffers=32MB", "-c log_min_messages=warning",
        ])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t", migrated: bool = False) -> str:
        """A database of its own (for one test or one multi-node set-up); returns its URL.

        Empty (``companion serve --database URL`` makes the schema at its start), or with ``migrated``
        a copy of one database brought to the newest schema once per session (CREATE DATABASE ...
        TEMPLATE: a tenth of a second instead of a run of the migrations)."""
        import psycopg

        template = "template0"
        if migrated:
            if self._template is None:
                self._template = self.new_database("companion_template")
                from companion import db

                db.migrate(self._template)
            template = self._template.rsplit("/", 1)[1]
        name = f"{prefix}_{os.getpid()}_{next(self._names)}_{time.monotonic_ns() % 10**6}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def stop(self) -> None:
        if self.running:
            started = time.monotonic()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")
            finally:
                self.running = False
            if time.monotonic() - started > 10:
                print(f"pg_cluster: stopping took {time.monotonic() - started:.0f} s; its log ends:\n"
                      + self.log.read_text(errors="replace")[-2000:])
        shutil.rmtree(self.folder, ignore_errors=True)
