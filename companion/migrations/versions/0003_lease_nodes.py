"""Which running process uses each node id (companion/leases.py): a second process started with the
node id of one that still runs refuses to start instead of serving the same rooms beside it.
A new table: no existing row changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REAL = sa.Double().with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("lease_nodes"):  # adopted with it already (see 0002)
        return
    op.create_table(
        "lease_nodes",
        sa.Column("node_id", sa.Text(), primary_key=True),
        sa.Column("instance", sa.Text(), nullable=False),
        sa.Column("seen_at", REAL, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lease_nodes")
