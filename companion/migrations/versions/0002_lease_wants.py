"""A room's lease records which other process asked for the room last and when (companion/leases.py):
the holder hands the room over to it, so a node that comes back gets its rooms back from the node
that took them meanwhile. Two nullable columns: existing leases keep their rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REAL = sa.Double().with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both databases (a nullable column needs no table copy in SQLite).
    # Only what is missing: a file adopted by 0001 that already had them (made by newer code and then
    # unstamped) is taken as it is, as 0001 takes its tables.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("room_leases")}
    if "wanted_by" not in have:
        op.add_column("room_leases", sa.Column("wanted_by", sa.Text(), nullable=True))
    if "wanted_at" not in have:
        op.add_column("room_leases", sa.Column("wanted_at", REAL, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("room_leases") as batch:
        batch.drop_column("wanted_at")
        batch.drop_column("wanted_by")
