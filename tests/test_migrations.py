"""The schema's migrations (Alembic, companion/migrations): an existing data folder is adopted with every
row, the newest revision is what companion/schema.py describes on SQLite and on PostgreSQL, several
processes starting at once migrate once, and ``companion serve --database postgresql://...`` runs on it."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import urllib.request
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from companion import db, schema
from companion.advice import store
from companion.room import Room
from companion.serve_process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
# A data folder's database as the code before the migrations made it (tests/data/db/make_before_alembic.py).
BEFORE = Path(__file__).resolve().parent / "data" / "db" / "companion-before-alembic.sql"


GROUP_TABLES = ("groups", "group_facilitators", "members", "meetings", "meeting_rooms", "attendance", "meeting_members",
                "followups", "followup_updates")


def _every_row(conn) -> dict[str, list[tuple]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: sorted(tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')) for t in tables}


def _differences(target) -> list:
    """What Alembic's autogenerate would change to make the database match companion/schema.py."""
    if db.is_postgresql(target):
        engine = sa.create_engine(sa.make_url(target).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool)
    else:
        engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite cannot reflect expression indexes (lower(name)): checked by hand below.
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.metadata)
    finally:
        engine.dispose()


def _old_file(tmp_path: Path) -> Path:
    path = tmp_path / "companion.sqlite3"
    raw = sqlite3.connect(path)
    raw.executescript(BEFORE.read_text(encoding="utf-8"))
    raw.close()
    return path


def test_the_head_constant_is_the_newest_revision():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert db.head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_from_before_the_migrations_is_adopted_with_every_row(tmp_path):
    path = _old_file(tmp_path)
    raw = sqlite3.connect(path)
    before = _every_row(raw)
    raw.close()
    assert "alembic_version" not in before and sum(map(len, before.values())) > 50
    # rows in every table the code of then had (lease_nodes came with 0003, the group tables with 0004)
    assert not [t for t in schema.metadata.tables if not before.get(t) and t not in ("lease_nodes", *GROUP_TABLES)]

    conn = db.connect(path)  # as `companion serve` opens its data folder
    assert db.dialect(conn) == "sqlite"
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == db.head()
    raw = sqlite3.connect(path)
    after = _every_row(raw)
    raw.close()
    assert after.pop("alembic_version") == [(db.head(),)]
    # 0002: a lease has no want yet.
    assert after.pop("room_leases") == [(*r, None, None) for r in before.pop("room_leases")]
    # 0003: no process has used a node id yet.
    assert after.pop("lease_nodes") == []
    # 0004: each room is a one-off group with one meeting (ids = the room's), each participant its member.
    rooms = {r[0]: r for r in before["rooms"]}
    assert [g[0] for g in after.pop("groups")] == sorted(rooms)
    assert sorted((m[0], m[1], m[2]) for m in after.pop("meetings")) == sorted((r, r, 1) for r in rooms)
    assert after.pop("meeting_rooms") == sorted((r, r, 1, None) for r in rooms)  # 0005: follow-up not decided yet
    assert after.pop("group_facilitators") == sorted(before["room_owners"])
    people = before.pop("participants")
    assert after.pop("participants") == sorted((*p, p[0]) for p in people)
    assert sorted((m[0], m[1], m[2]) for m in after.pop("members")) == sorted((p[0], p[1], p[2]) for p in people)
    roles = {(m[1], m[2]) for m in after.pop("meeting_members")}
    assert {"begeleider", "deelnemer"} <= {role for _, role in roles} and len(roles) == len(people)
    for t in ("attendance", "followups", "followup_updates"):
        assert after.pop(t) == []
    # Every row is there, unchanged, but for the marks the code before advice_marks kept on an item:
    # they moved to their inbrenger's row and left the item.
    moved = [r for r in before["advice_items"] if r[-2] is not None]
    assert len(moved) == 1
    item_id, room_id, mark, note = moved[0][0], moved[0][1], moved[0][-2], moved[0][-1]
    inbrenger = conn.execute("SELECT inbrenger_id FROM rooms WHERE id = ?", (room_id,)).fetchone()[0]
    assert after.pop("advice_items") == sorted(r if r[0] != item_id else (*r[:-2], None, "") for r in before.pop("advice_items"))
    marks = after.pop("advice_marks")
    assert [m for m in marks if m[1] != item_id] == before.pop("advice_marks")
    assert [m[:5] for m in marks if m[1] == item_id] == [(room_id, item_id, inbrenger, mark, note)]
    assert after == before

    # The server reads it as its own: rooms load, the moved mark shows to its inbrenger only.
    for rid in [r[0] for r in before["rooms"]]:
        assert Room.load(conn, rid) is not None
    mine = {i["id"]: i["mark"] for i in store.list_items(conn, room_id, inbrenger_id=inbrenger)}
    assert mine[item_id] == mark
    assert all(i["mark"] is None for i in store.list_items(conn, room_id, inbrenger_id=None))
    # A name differing only in case is still refused in a room, now by the index on lower(name).
    name, room_of = conn.execute("SELECT name, room_id FROM participants LIMIT 1").fetchone()
    with pytest.raises(db.IntegrityError):
        conn.execute("INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES ('x', ?, ?, 'deelnemer', 'x', 0)",
                     (room_of, name.upper()))
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"participants_room_lower_name", "facilitators_lower_name"} <= indexes
    assert not {"participants_room_name", "facilitators_name"} & indexes
    conn.close()

    # What still differs from a new file is how SQLite's old CREATE TABLE text reads back, not what it does:
    # a TEXT PRIMARY KEY written without NOT NULL, and ON DELETE CASCADE inside a column's REFERENCES, which
    # SQLAlchemy's reflection does not parse (PRAGMA foreign_key_list shows it, checked here).
    left = []
    for diff in _differences(path):
        ops = diff if isinstance(diff, list) else [diff]
        left += [op for op in ops if op[0] not in ("modify_nullable", "remove_fk", "add_fk")]
        assert all(op[0] != "modify_nullable" or op[3] in [c.name for c in schema.metadata.tables[op[2]].primary_key]
                   for op in ops)
    assert left == []
    raw = sqlite3.connect(path)
    for table in schema.metadata.sorted_tables:
        actions = {(fk[3], fk[6]) for fk in raw.execute(f'PRAGMA foreign_key_list("{table.name}")')}
        wanted = {(fk.parent.name, fk.ondelete or "NO ACTION") for fk in table.foreign_keys}
        assert actions == wanted, table.name
    raw.close()

    # Opened again: nothing more to do.
    assert db.migrate(path) == (db.head(), db.head())


def test_the_newest_revision_is_the_schema_module_on_sqlite(tmp_path):
    migrated = tmp_path / "migrated.sqlite3"
    assert db.migrate(migrated) == (None, db.head())
    assert _differences(migrated) == []
    # A new file is given the same schema in one go (db._create_fresh) as the migrations make it.
    fresh = tmp_path / "fresh.sqlite3"
    db.connect(fresh).close()
    schema_of = lambda p: sorted(sqlite3.connect(p).execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    assert schema_of(fresh) == schema_of(migrated)
    assert sqlite3.connect(fresh).execute("SELECT version_num FROM alembic_version").fetchall() == [(db.head(),)]


def test_the_newest_revision_is_the_schema_module_on_postgresql(pg_cluster):
    url = pg_cluster.new_database()
    assert db.migrate(url) == (None, db.head())
    assert _differences(url) == []
    conn = db.connect(url)
    indexes = {r[0]: r[1] for r in conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")}
    assert "lower(name)" in indexes["participants_room_lower_name"] and "lower(name)" in indexes["facilitators_lower_name"]
    # Seconds are doubles: a Unix time with its microseconds comes back as it went in.
    kinds = {r[0] for r in conn.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND column_name LIKE '%_at'")}
    assert kinds == {"double precision"}
    conn.close()


def _migrate(target: str, barrier, results) -> None:
    barrier.wait(60)
    try:
        results.put(db.migrate(target))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_starting_together_migrate_once(backend, tmp_path, request):
    """Workers of one machine on one file, or nodes on one PostgreSQL database, started at the same moment."""
    target = str(tmp_path / "companion.sqlite3") if backend == "sqlite" else request.getfixturevalue("pg_cluster").new_database()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_migrate, args=(target, barrier, results)) for _ in range(3)]
    for p in procs:
        p.start()
    try:
        outcomes = sorted((results.get(timeout=180) for _ in procs), key=repr)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    # One of them made the schema; the others waited for it and found it at head.
    assert outcomes == sorted([(None, db.head()), (db.head(), db.head()), (db.head(), db.head())], key=repr), outcomes
    conn = db.connect(target)
    assert conn.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0] == 1
    conn.close()


def test_the_operator_migrates_a_postgresql_database_by_hand(pg_cluster, tmp_path):
    url = pg_cluster.new_database()
    cmd = [sys.executable, "-m", "companion", "migrate", "--database", url]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and f"(none) -> {db.head()}" in first.stdout, first.stderr
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already" in again.stdout
    down = subprocess.run([sys.executable, "-m", "companion", "rooms", "list", "--database", url.replace(
        f":{pg_cluster.port}/", ":1/")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert down.returncode == 1 and "cannot open the database" in down.stderr and "Traceback" not in down.stderr


def test_serve_on_a_shared_postgresql_database(pg_cluster, tmp_path):
    """`companion serve --database postgresql://...`: the room is in PostgreSQL, not in the data folder."""
    import json

    url = pg_cluster.new_database()
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", ["--no-transcription"], database=url)
    server.start(timeout=180)
    try:
        body = json.dumps({"name": "Team Noord", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur"})
        request = urllib.request.Request(server.base + "/api/rooms", data=body.encode(), method="POST",
                                         headers={**server.facilitator_headers, "Content-Type": "application/json",
                                                  "Origin": server.base})
        with urllib.request.urlopen(request, timeout=30) as r:
            room_id = json.loads(r.read())["room_id"]
    finally:
        server.stop()
    conn = db.connect(url)
    assert conn.execute("SELECT name FROM rooms WHERE id = ?", (room_id,)).fetchone()[0] == "Team Noord"
    conn.close()
    assert not (tmp_path / "data" / "companion.sqlite3").exists()
    assert "database postgresql://" in (tmp_path / "server.log").read_text()
