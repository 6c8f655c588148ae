"""Whether a case room runs its method's follow-up step is decided once and kept (``meeting_rooms.followup``):
worked out at every load, a running room could lose the step, and jump one step ahead, when the previous
meeting's only inbrenger was deleted meanwhile. NULL: not decided yet (the room's next load decides).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "followup" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("meeting_rooms")}:
        op.add_column("meeting_rooms", sa.Column("followup", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_rooms") as batch:
        batch.drop_column("followup")
