"""Groups that meet again (issue 17): a group lasts, with members and their personal links; a meeting is a
sequence of case rooms; attendance and each member's role per meeting make the record of hours;
follow-up statuses and updates belong to a later meeting. ``participants.member_id`` ties a room's
participant to the member they are.

Every existing room becomes what a room made on its own is from now on: a one-off group with one meeting
whose single case is that room (group id = meeting id = room id), and a member per participant (member id =
participant id) without a group link, so every room link keeps working as it did.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REAL = sa.Double().with_variant(sa.REAL(), "sqlite")


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def upgrade() -> None:
    bind = op.get_bind()
    have = set(sa.inspect(bind).get_table_names())
    if "member_id" not in {c["name"] for c in sa.inspect(bind).get_columns("participants")}:
        op.add_column("participants", sa.Column("member_id", sa.Text(), nullable=True))
    op.create_index("participants_member", "participants", ["member_id"], if_not_exists=True)
    if "groups" not in have:
        op.create_table(
            "groups",
            sa.Column("id", sa.Text(), primary_key=True),
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("language", sa.Text(), nullable=False),
            sa.Column("method_id", sa.Text(), nullable=False),
            sa.Column("invite_hash", sa.Text(), nullable=True, unique=True),
            sa.Column("one_off", sa.Integer(), nullable=False, server_default=sa.text("0")),
            sa.Column("content_retention_days", sa.Integer(), nullable=False, server_default=sa.text("30")),
            sa.Column("record_retention_days", sa.Integer(), nullable=False, server_default=sa.text("730")),
            sa.Column("created_at", REAL, nullable=False),
        )
    if "group_facilitators" not in have:
        op.create_table(
            "group_facilitators",
            sa.Column("group_id", sa.Text(), _fk("groups"), primary_key=True),
            sa.Column("facilitator_id", sa.Text(), primary_key=True),
        )
    if "members" not in have:
        op.create_table(
            "members",
            sa.Column("id", sa.Text(), primary_key=True),
            sa.Column("group_id", sa.Text(), _fk("groups"), nullable=False),
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("token_hash", sa.Text(), nullable=True, unique=True),
            sa.Column("role", sa.Text(), nullable=False, server_default=sa.text("'deelnemer'")),
            sa.Column("facilitator_id", sa.Text(), nullable=True),
            sa.Column("created_at", REAL, nullable=False),
        )
        op.create_index("members_group_lower_name", "members", ["group_id", sa.text("lower(name)")], unique=True)
    if "meetings" not in have:
        op.create_table(
            "meetings",
            sa.Column("id", sa.Text(), primary_key=True),
            sa.Column("group_id", sa.Text(), _fk("groups"), nullable=False),
            sa.Column("number", sa.Integer(), nullable=False),
            sa.Column("method_id", sa.Text(), nullable=False),
            sa.Column("created_at", REAL, nullable=False),
            sa.Column("started_at", REAL, nullable=True),
            sa.Column("ended_at", REAL, nullable=True),
        )
        op.create_index("meetings_group", "meetings", ["group_id", "number"])
    if "meeting_rooms" not in have:
        op.create_table(
            "meeting_rooms",
            sa.Column("room_id", sa.Text(), _fk("rooms"), primary_key=True),
            sa.Column("meeting_id", sa.Text(), _fk("meetings"), nullable=False),
            sa.Column("case_no", sa.Integer(), nullable=False),
        )
        op.create_index("meeting_rooms_meeting", "meeting_rooms", ["meeting_id", "case_no"])
    if "attendance" not in have:
        op.create_table(
            "attendance",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("meeting_id", sa.Text(), _fk("meetings"), nullable=False),
            sa.Column("member_id", sa.Text(), _fk("members"), nullable=False),
            sa.Column("joined_at", REAL, nullable=False),
            sa.Column("left_at", REAL, nullable=True),
            sqlite_autoincrement=True,
        )
        op.create_index("attendance_meeting_member", "attendance", ["meeting_id", "member_id"])
    if "meeting_members" not in have:
        op.create_table(
            "meeting_members",
            sa.Column("meeting_id", sa.Text(), _fk("meetings"), primary_key=True),
            sa.Column("member_id", sa.Text(), _fk("members"), primary_key=True),
            sa.Column("role", sa.Text(), nullable=False),
        )
    if "followups" not in have:
        op.create_table(
            "followups",
            sa.Column("member_id", sa.Text(), _fk("members"), primary_key=True),
            sa.Column("room_id", sa.Text(), _fk("rooms"), primary_key=True),
            sa.Column("item_id", sa.Text(), primary_key=True),
            sa.Column("status", sa.Text(), nullable=False),
            sa.Column("updated_at", REAL, nullable=False),
        )
    if "followup_updates" not in have:
        op.create_table(
            "followup_updates",
            sa.Column("meeting_id", sa.Text(), _fk("meetings"), primary_key=True),
            sa.Column("member_id", sa.Text(), _fk("members"), primary_key=True),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("shared", sa.Integer(), nullable=False, server_default=sa.text("0")),
            sa.Column("updated_at", REAL, nullable=False),
        )
    _backfill()


# Rooms from before groups, each made a one-off group with one meeting (rooms already in one are left alone).
_NEW = "FROM rooms r WHERE NOT EXISTS (SELECT 1 FROM meeting_rooms m WHERE m.room_id = r.id)"


def _backfill() -> None:
    op.execute(
        "INSERT INTO groups (id, name, language, method_id, invite_hash, one_off, content_retention_days,"
        " record_retention_days, created_at)"
        f" SELECT r.id, r.name, r.language, r.method_id, NULL, 1, r.retention_days, 730, r.created_at {_NEW}"
    )
    op.execute(
        "INSERT INTO group_facilitators (group_id, facilitator_id) SELECT o.room_id, o.facilitator_id"
        " FROM room_owners o JOIN groups g ON g.id = o.room_id"
        " WHERE NOT EXISTS (SELECT 1 FROM meeting_rooms m WHERE m.room_id = o.room_id)"
    )
    op.execute(
        "INSERT INTO meetings (id, group_id, number, method_id, created_at, started_at, ended_at)"
        f" SELECT r.id, r.id, 1, r.method_id, r.created_at, NULL, r.ended_at {_NEW}"
    )
    op.execute(
        "INSERT INTO members (id, group_id, name, token_hash, role, facilitator_id, created_at)"
        " SELECT p.id, p.room_id, p.name, NULL,"
        " CASE WHEN p.role = 'facilitator' THEN 'begeleider' ELSE 'deelnemer' END, NULL, p.joined_at"
        " FROM participants p WHERE p.member_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM meeting_rooms m WHERE m.room_id = p.room_id)"
    )
    op.execute(
        "INSERT INTO meeting_members (meeting_id, member_id, role)"
        " SELECT p.room_id, p.id, CASE WHEN p.role = 'facilitator' THEN 'begeleider'"
        " WHEN p.id = r.inbrenger_id THEN 'inbrenger' ELSE 'deelnemer' END"
        " FROM participants p JOIN rooms r ON r.id = p.room_id WHERE p.member_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM meeting_rooms m WHERE m.room_id = p.room_id)"
    )
    op.execute(
        "UPDATE participants SET member_id = id WHERE member_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM meeting_rooms m WHERE m.room_id = participants.room_id)"
    )
    op.execute(f"INSERT INTO meeting_rooms (room_id, meeting_id, case_no) SELECT r.id, r.id, 1 {_NEW}")


def downgrade() -> None:
    for table in ("followup_updates", "followups", "meeting_members", "attendance", "meeting_rooms", "meetings",
                  "members", "group_facilitators", "groups"):
        op.drop_table(table)
    op.drop_index("participants_member", "participants")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("member_id")
