"""Create the notifications table and its inbox indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONValue = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
false = sa.text("false")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("excerpt", sa.Text(), server_default="", nullable=False),
        sa.Column("target_type", sa.Text(), nullable=True),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("target_title", sa.Text(), nullable=True),
        sa.Column("target_label", sa.Text(), nullable=True),
        sa.Column("parent_type", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_title", sa.Text(), nullable=True),
        sa.Column("root_type", sa.Text(), nullable=True),
        sa.Column("root_id", sa.BigInteger(), nullable=True),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("resource", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("important", sa.Boolean(), server_default=false, nullable=False),
        sa.Column("mention", sa.Boolean(), server_default=false, nullable=False),
        sa.Column("action_required", sa.Boolean(), server_default=false, nullable=False),
        sa.Column("made_by_automation", sa.Boolean(), server_default=false, nullable=False),
        sa.Column(
            "new_activities_count", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("first_unread_activity_id", sa.BigInteger(), nullable=True),
        sa.Column("changeset", JSONValue, nullable=False),
        sa.Column("read_at", Timestamp, nullable=True),
        sa.Column("seen_at", Timestamp, nullable=True),
        sa.Column("dismissed_at", Timestamp, nullable=True),
        sa.Column("last_action_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("activity_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_inbox_order",
        "notifications",
        [
            "organization_id",
            "recipient_id",
            sa.literal_column("activity_at DESC"),
            sa.literal_column("id DESC"),
        ],
    )
    op.create_index(
        "ix_notifications_inbox_unread",
        "notifications",
        ["organization_id", "recipient_id"],
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_inbox_unseen",
        "notifications",
        ["organization_id", "recipient_id"],
        postgresql_where=sa.text("seen_at IS NULL"),
        sqlite_where=sa.text("seen_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_inbox_unseen", table_name="notifications")
    op.drop_index("ix_notifications_inbox_unread", table_name="notifications")
    op.drop_index("ix_notifications_inbox_order", table_name="notifications")
    op.drop_table("notifications")
