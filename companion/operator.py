"""The operator's commands: ``companion facilitator ...`` and ``companion rooms ...``.

They work on the database directly (the data folder's SQLite file, or ``--database URL`` as the
server was started with), also while ``companion serve`` runs: the database serialises the writes,
and the server notices a deleted room within a minute (its pages are closed then).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from . import db, facilitators
from .config import default_data_dir
from .errors import ClientError
from .retention import delete_room


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=default_data_dir(),
                   help=f"the server's data folder (default {default_data_dir()})")
    p.add_argument("--database", metavar="URL", type=db.database_url,
                   help="the server's --database (postgresql://USER@HOST:PORT/DBNAME), if it was started with one")


def facilitator_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="companion facilitator",
        description="Who may create rooms on this server. Each facilitator gets a personal link; "
        "opening it once in a browser lets that browser create rooms. Only a hash of the link is stored: "
        "a lost link is replaced by removing the facilitator and adding them again.",
    )
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="make a facilitator and print their personal link (shown once)")
    add.add_argument("name", help="the facilitator's name (unique on this server)")
    add.add_argument("--public-url", default="http://localhost:8080",
                     help="the server's address as people open it (default http://localhost:8080)")
    _common(add)
    remove = sub.add_parser("remove", help="revoke a facilitator's link; their rooms keep running")
    remove.add_argument("name", help="name (or id) as `facilitator list` shows it")
    _common(remove)
    _common(sub.add_parser("list", help="facilitators and how many rooms each holds"))
    return p


def rooms_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="companion rooms", description="The rooms stored on this server.")
    sub = p.add_subparsers(dest="action", required=True)
    _common(sub.add_parser("list", help="every room: id, status, created, people, facilitator"))
    delete = sub.add_parser("delete", help="delete a room and everything said and written in it, now")
    delete.add_argument("room_id", help="the id from `rooms list` (also the part after /r/ in the room's address)")
    _common(delete)
    return p


def _target(args: argparse.Namespace) -> "Path | str":
    return args.database or args.data_dir / "companion.sqlite3"


def _open(args: argparse.Namespace, create: bool = False):
    """The server's database, or None (with a message) when there is none or it cannot be opened."""
    target = _target(args)
    if not args.database:
        if create:
            db.prepare_folder(args.data_dir)
        elif not (args.data_dir / "companion.sqlite3").exists():
            print(f"companion: no server data in {args.data_dir} (use --data-dir or --database)", file=sys.stderr)
            return None
    try:
        return db.connect(target)
    except (ValueError, *db.DatabaseError) as exc:
        print(f"companion: cannot open the database {db.describe(target)}: {exc}", file=sys.stderr)
        return None


def _when(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def facilitator_main(argv: list[str]) -> int:
    args = facilitator_parser().parse_args(argv)
    conn = _open(args, create=args.action == "add")
    if conn is None:
        return 1
    try:
        if args.action == "add":
            try:
                _, token = facilitators.add(conn, args.name)
            except ClientError as exc:
                print(f"companion: {exc.message}", file=sys.stderr)
                return 1
            print(f"Persoonlijke begeleiderslink / personal facilitator link for {args.name}:")
            print(f"  {args.public_url.rstrip('/')}{facilitators.LINK_PATH}{token}")
            print("Shown once: only a hash is stored. Send it privately.")
            return 0
        if args.action == "remove":
            if not facilitators.remove(conn, args.name):
                print(f"companion: no facilitator {args.name!r}", file=sys.stderr)
                return 1
            print(f"removed {args.name}: the link no longer creates rooms (existing rooms keep running)")
            return 0
        rows = facilitators.listing(conn)
        if not rows:
            print("no facilitators (add one with: companion facilitator add NAME)")
        for row in rows:
            print(f"{row['name']}\tid {row['id']}\tsince {_when(row['created_at'])}\t{row['rooms']} room(s)")
        return 0
    finally:
        conn.close()


def rooms_main(argv: list[str]) -> int:
    args = rooms_parser().parse_args(argv)
    conn = _open(args)
    if conn is None:
        return 1
    try:
        if args.action == "delete":
            if conn.execute("SELECT 1 FROM rooms WHERE id = ?", (args.room_id,)).fetchone() is None:
                print(f"companion: no room {args.room_id!r}", file=sys.stderr)
                return 1
            delete_room(conn, args.room_id)
            print(f"deleted room {args.room_id}; a running server closes its pages within a minute")
            return 0
        rows = conn.execute(
            """SELECT r.id, r.name, r.status, r.created_at, r.ended_at,
                      (SELECT COUNT(*) FROM participants p WHERE p.room_id = r.id) AS people,
                      (SELECT f.name FROM room_owners o JOIN facilitators f ON f.id = o.facilitator_id
                        WHERE o.room_id = r.id) AS owner
               FROM rooms r ORDER BY r.created_at"""
        ).fetchall()
        if not rows:
            print("no rooms")
        for row in rows:
            # The group name is the facilitator's own words; shown to the operator who stores it anyway.
            print(f"{row['id']}\t{row['status']}\tcreated {_when(row['created_at'])}\tended {_when(row['ended_at'])}"
                  f"\t{row['people']} people\tby {row['owner'] or '-'}\t{row['name']}")
        return 0
    finally:
        conn.close()


def migrate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="companion migrate",
        description="Bring the database to the schema of this release (Alembic migrations; rows are kept). "
        "companion serve does the same at start; run it by hand before starting the new release on several "
        "machines, or to see which revision a database is at.",
    )
    _common(p)
    return p


def migrate_main(argv: list[str]) -> int:
    args = migrate_parser().parse_args(argv)
    target = _target(args)
    if not args.database:
        db.prepare_folder(args.data_dir)
    try:
        before, after = db.migrate(target)
    except (ValueError, *db.DatabaseError) as exc:
        print(f"companion: cannot migrate {db.describe(target)}: {exc}", file=sys.stderr)
        return 1
    where = db.describe(target)
    if before == after:
        print(f"{where}: at revision {after} already")
    else:
        print(f"{where}: revision {before or '(none)'} -> {after}")
    return 0

