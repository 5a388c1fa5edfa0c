"""Categories, tags and actions on notifications.

Existing notifications get no category, no tags and no actions: the new JSON text columns
are added NOT NULL with the default ``'[]'``, which both databases write into every row
already there. ``action_required`` keeps its meaning for them (no actions: the flag as
published).

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = ("category", "tags", "actions")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("category", sa.Text(), nullable=True))
    for name in ("tags", "actions"):
        op.add_column(
            "notifications", sa.Column(name, sa.Text(), nullable=False, server_default="[]")
        )
    # The default filled every existing row already; this only guards against a database
    # that left NULLs behind (none of ours does), so the NOT NULL always holds.
    op.execute("UPDATE notifications SET tags = '[]' WHERE tags IS NULL")
    op.execute("UPDATE notifications SET actions = '[]' WHERE actions IS NULL")


def downgrade() -> None:
    # No index names these columns, so SQLite (3.35+) drops them in place too.
    for name in reversed(NEW_COLUMNS):
        if op.get_bind().dialect.name == "postgresql":
            op.drop_column("notifications", name)
        else:
            op.execute(f"ALTER TABLE notifications DROP COLUMN {name}")
