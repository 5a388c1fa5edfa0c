"""The change feed: notifications.change_version and expired_at, each inbox's change counter
(``inboxes``) and the removals it reports (``notification_removals``).

Existing notifications get version 0 (before any change the feed numbers) and no inbox has
a counter yet: the first change of an inbox makes its row at version 1. Adding a column with
a constant default rewrites no table on PostgreSQL (11+) or SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPAQUE_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
EXPIRING = sa.text("expires_at IS NOT NULL AND expired_at IS NULL")


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("change_version", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("notifications", sa.Column("expired_at", TIME, nullable=True))
    op.create_index(
        "ix_notifications_inbox_changes",
        "notifications",
        ["organization_id", "recipient_id", "change_version", "id"],
    )
    op.create_index(
        "ix_notifications_expiring",
        "notifications",
        ["expires_at"],
        postgresql_where=EXPIRING,
        sqlite_where=EXPIRING,
    )
    op.create_table(
        "inboxes",
        sa.Column("organization_id", OPAQUE_ID, nullable=False),
        sa.Column("recipient_id", OPAQUE_ID, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "forgotten_through", sa.BigInteger(), nullable=False, server_default=sa.text("0")
        ),
        sa.PrimaryKeyConstraint("organization_id", "recipient_id", name="pk_inboxes"),
    )
    op.create_table(
        "notification_removals",
        sa.Column("organization_id", OPAQUE_ID, nullable=False),
        sa.Column("recipient_id", OPAQUE_ID, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "recipient_id",
            "version",
            "notification_id",
            name="pk_notification_removals",
        ),
    )
    op.create_index("ix_notification_removals_removed_at", "notification_removals", ["removed_at"])


def downgrade() -> None:
    op.drop_table("notification_removals")
    op.drop_table("inboxes")
    op.drop_index("ix_notifications_expiring", "notifications")
    op.drop_index("ix_notifications_inbox_changes", "notifications")
    # SQLite (3.35+) drops a column in place once no index names it.
    for column in ("expired_at", "change_version"):
        if op.get_bind().dialect.name == "postgresql":
            op.drop_column("notifications", column)
        else:
            op.execute(f"ALTER TABLE notifications DROP COLUMN {column}")
