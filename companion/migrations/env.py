"""Alembic's entry: runs the revisions on the connection companion.db.migrate hands over.

Run programmatically (``companion.db.migrate``: at server start and by ``companion migrate``), so there
is no alembic.ini; for a new revision a developer runs ``alembic`` with ``-x url=...`` pointing here, and
compares with ``companion/schema.py`` (tests/test_migrations.py checks that head and schema agree).
"""

from __future__ import annotations

from alembic import context

from companion import schema

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    import sqlalchemy as sa

    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("run through `python -m companion migrate`, or give alembic -x url=<database URL>")
    connection = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()

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
