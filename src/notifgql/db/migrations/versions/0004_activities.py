"""Activities: notifications grouped by key, the activities of each group and which
notification shows which, idempotency keys.

Every existing notification becomes a group of one, ``notification:<id>``, so the new
unique index (one notification per inbox and group) holds from the start. The inbox
indexes keep their columns and order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPAQUE_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("notifications", sa.Column("group_key", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("expires_at", TIME, nullable=True))
    op.add_column("notifications", sa.Column("withdrawn_at", TIME, nullable=True))
    op.add_column(
        "notifications",
        sa.Column("activity_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.execute(
        "UPDATE notifications SET group_key = 'notification:' || CAST(id AS TEXT)"
        " WHERE group_key IS NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("notifications", "group_key", nullable=False)
    else:
        _sqlite_require_group_key()
    op.create_index(
        "uq_notifications_group_inbox",
        "notifications",
        ["group_key", "organization_id", "recipient_id"],
        unique=True,
    )

    op.create_table(
        "activities",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("organization_id", OPAQUE_ID, nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("actor_id", OPAQUE_ID, nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False, server_default=""),
        sa.Column("changeset", sa.Text(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
    )
    op.create_index(
        "ix_activities_group_order",
        "activities",
        ["organization_id", "group_key", sa.text("occurred_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "notification_activities",
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "notification_id", "occurred_at", "activity_id", name="pk_notification_activities"
        ),
    )
    op.create_index(
        "ix_notification_activities_activity_id", "notification_activities", ["activity_id"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("organization_id", OPAQUE_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE notifications")


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("notification_activities")
    op.drop_table("activities")
    op.drop_index("uq_notifications_group_inbox", "notifications")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("notifications", "withdrawn_at")
        op.drop_column("notifications", "expires_at")
        op.drop_column("notifications", "group_key")
        return
    # SQLite (3.35+) drops a column in place when no index names it.
    for name in ("activity_count", "withdrawn_at", "expires_at", "group_key"):
        op.execute(f"ALTER TABLE notifications DROP COLUMN {name}")


def _sqlite_require_group_key() -> None:
    """Make group_key NOT NULL on SQLite, which can only do so by copying the table.

    As in 0003, the indexes are set aside and recreated from their own saved SQL, so that
    they come back exactly as they were.
    """
    bind = op.get_bind()
    indexes = bind.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'notifications' AND sql IS NOT NULL ORDER BY name"
        )
    ).all()
    for name, _sql in indexes:
        op.execute(f'DROP INDEX "{name}"')
    with op.batch_alter_table("notifications", recreate="always") as batch:
        batch.alter_column("group_key", nullable=False, existing_type=sa.Text())
    for _name, sql in indexes:
        op.execute(sql)
