"""Snoozing and mute rules: notifications.snoozed_until with a partial index on it, and
the mute_rules table.

Adding a nullable column needs no table copy on either database, and every existing
notification is simply not snoozed.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPAQUE_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
SNOOZED = sa.text("snoozed_until IS NOT NULL")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("snoozed_until", TIME, nullable=True))
    op.create_index(
        "ix_notifications_snoozed_until",
        "notifications",
        ["snoozed_until"],
        postgresql_where=SNOOZED,
        sqlite_where=SNOOZED,
    )
    op.create_table(
        "mute_rules",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("organization_id", OPAQUE_ID, nullable=False),
        sa.Column("recipient_id", OPAQUE_ID, nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("target_type", sa.Text(), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=True),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mute_rules"),
    )
    op.create_index(
        "ix_mute_rules_organization_id_recipient_id",
        "mute_rules",
        ["organization_id", "recipient_id"],
    )


def downgrade() -> None:
    op.drop_table("mute_rules")
    op.drop_index("ix_notifications_snoozed_until", "notifications")
    # SQLite (3.35+) drops a column in place once no index names it.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("notifications", "snoozed_until")
    else:
        op.execute("ALTER TABLE notifications DROP COLUMN snoozed_until")
