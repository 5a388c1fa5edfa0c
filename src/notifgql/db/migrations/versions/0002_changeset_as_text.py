"""Keep changesets as JSON text, so that both databases return exactly what was sent.

PostgreSQL's jsonb reordered object keys and normalised numbers; SQLite's column was
declared JSON, whose NUMERIC affinity turned a changeset such as ``5.0`` into ``5``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE notifications ALTER COLUMN changeset TYPE text USING changeset::text"
        )
        return
    # SQLite cannot change a column's type in place: add a TEXT column, copy, swap names.
    # Values the NUMERIC affinity turned into numbers are written back as their JSON text.
    op.execute("ALTER TABLE notifications ADD COLUMN changeset_text TEXT NOT NULL DEFAULT '[]'")
    op.execute(
        "UPDATE notifications SET changeset_text = CASE typeof(changeset)"
        " WHEN 'text' THEN changeset WHEN 'null' THEN 'null' ELSE CAST(changeset AS TEXT) END"
    )
    op.execute("ALTER TABLE notifications DROP COLUMN changeset")
    op.execute("ALTER TABLE notifications RENAME COLUMN changeset_text TO changeset")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE notifications ALTER COLUMN changeset TYPE jsonb USING changeset::jsonb"
        )
    # On SQLite the TEXT column holds the same JSON text the JSON column did.
