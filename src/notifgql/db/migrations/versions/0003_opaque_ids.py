"""Recipient, organization and actor ids become text: the clients' own opaque ids.

Each stored integer id becomes its decimal text (3030 → "3030"), so every existing inbox
keeps its notifications and every token naming it keeps working. PostgreSQL compares the
new columns byte for byte (collation "C"), as SQLite does by default. The inbox indexes
keep their columns and order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-14
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("organization_id", "recipient_id", "actor_id")
NULLABLE = {"organization_id": False, "recipient_id": False, "actor_id": True}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # One statement: PostgreSQL rewrites the table and rebuilds its indexes once.
        op.execute(
            "ALTER TABLE notifications "
            + ", ".join(
                f'ALTER COLUMN {name} TYPE text COLLATE "C" USING {name}::text' for name in COLUMNS
            )
        )
        # Changing a column's type drops its planner statistics; the inbox reads need them.
        op.execute("ANALYZE notifications")
        return
    _sqlite_retype(sa.BigInteger(), sa.Text())


def downgrade() -> None:
    _refuse_unless_integers()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE notifications "
            + ", ".join(f"ALTER COLUMN {name} TYPE bigint USING {name}::bigint" for name in COLUMNS)
        )
        op.execute("ANALYZE notifications")
        return
    _sqlite_retype(sa.Text(), sa.BigInteger())


def _sqlite_retype(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    """Change the id columns' type on SQLite, which cannot do it in place.

    Batch mode copies the table into a new one (casting each value) and swaps the two.
    The indexes are set aside first and recreated afterwards from their own saved SQL, so
    that they come back exactly as they were, partial and descending parts included.
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
        for name in COLUMNS:
            batch.alter_column(name, type_=new, existing_type=old, existing_nullable=NULLABLE[name])
    for _name, sql in indexes:
        op.execute(sql)


def _refuse_unless_integers() -> None:
    """Stop the downgrade, changing nothing, if some id is not the decimal text of a bigint.

    Casting "auth0|abc" or "01" to an integer would fail on PostgreSQL and, worse, quietly
    turn it into another id on SQLite.
    """
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # A 19-digit id beyond the bigint range passes this and fails the cast itself.
        not_integer = "{name} !~ '^(0|-?[1-9][0-9]{{0,18}})$'"
    else:
        not_integer = "CAST(CAST({name} AS INTEGER) AS TEXT) IS NOT {name}"
    found = bind.execute(
        sa.text(
            "SELECT count(*) FROM notifications WHERE "  # noqa: S608 (names are constants here)
            + " OR ".join(not_integer.format(name=name) for name in COLUMNS)
        )
    ).scalar_one()
    if found:
        raise RuntimeError(
            f"cannot downgrade: {found} notifications have recipient, organization or actor"
            " ids that are not integers"
        )
