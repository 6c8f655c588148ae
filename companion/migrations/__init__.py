"""Alembic migrations of the database schema (see companion/db.py: run by ``connect`` and ``companion migrate``)."""

# The newest revision in versions/: a database at it needs no migration (tests/test_migrations.py keeps
# it equal to what Alembic finds). A new revision changes this line too.
HEAD = "0005"
