"""Alembic's entry: runs the revisions on the connection companion.db.migrate hands over.

Run programmatically (``companion.db.migrate``: at server start and by ``companion migrate``); for a new
revision a developer runs the ``alembic`` command with ``alembic.ini`` beside this file, which says how,
and compares with ``companion/schema.py`` (tests/test_migrations.py checks that head and schema agree).
"""

from __future__ import annotations

from alembic import context

from companion import schema

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    # The alembic command of a developer (companion/migrations/alembic.ini says how).
    from logging.config import fileConfig

    from companion import db

    if config.config_file_name:
        fileConfig(config.config_file_name)
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database: alembic -c companion/migrations/alembic.ini -x url=<database URL> ...")
    connection = db._engine(url if db.is_postgresql(url) else db.sqlite_path(url)).connect()

context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    # SQLite cannot ALTER most things in place: Alembic's batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    lock = config.attributes.get("lock")
    if lock is not None and connection.dialect.name == "postgresql":
        # Two nodes starting at once: the second waits here, then finds the schema at head.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock})")
    config.attributes["before"] = context.get_context().get_current_revision()
    context.run_migrations()
