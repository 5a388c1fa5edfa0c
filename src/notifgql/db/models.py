"""The ``notifications`` table: the union of both REST dialects' fields and GraphQL's."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from notifgql.db.types import JSONText, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
Id = BigInteger().with_variant(Integer(), "sqlite")

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organization_id", BigInteger, nullable=False),
    Column("recipient_id", BigInteger, nullable=False),
    Column("actor_id", BigInteger),
    Column("actor_name", Text),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("excerpt", Text, nullable=False, server_default=""),
    Column("target_type", Text),
    Column("target_id", BigInteger),
    Column("target_title", Text),
    Column("target_label", Text),
    Column("parent_type", Text),
    Column("parent_id", BigInteger),
    Column("parent_title", Text),
    Column("root_type", Text),
    Column("root_id", BigInteger),
    Column("project_id", BigInteger),
    Column("resource", Text),
    Column("reason", Text),
    Column("important", Boolean, nullable=False, server_default=text("false")),
    Column("mention", Boolean, nullable=False, server_default=text("false")),
    Column("action_required", Boolean, nullable=False, server_default=text("false")),
    Column("made_by_automation", Boolean, nullable=False, server_default=text("false")),
    Column("new_activities_count", Integer, nullable=False, server_default=text("0")),
    Column("first_unread_activity_id", BigInteger),
    Column("changeset", JSONText, nullable=False),
    Column("read_at", UTCDateTime),
    Column("seen_at", UTCDateTime),
    Column("dismissed_at", UTCDateTime),
    Column("last_action_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    # coalesce(last_action_at, created_at), stored so that the list order is a plain index.
    Column("activity_at", UTCDateTime, nullable=False),
)

# The list order per inbox, walked as a keyset in both directions.
Index(
    "ix_notifications_inbox_order",
    notifications.c.organization_id,
    notifications.c.recipient_id,
    notifications.c.activity_at.desc(),
    notifications.c.id.desc(),
)
# Badge counts touch only the unread / unseen rows of one inbox.
Index(
    "ix_notifications_inbox_unread",
    notifications.c.organization_id,
    notifications.c.recipient_id,
    postgresql_where=notifications.c.read_at.is_(None),
    sqlite_where=notifications.c.read_at.is_(None),
)
Index(
    "ix_notifications_inbox_unseen",
    notifications.c.organization_id,
    notifications.c.recipient_id,
    postgresql_where=notifications.c.seen_at.is_(None),
    sqlite_where=notifications.c.seen_at.is_(None),
)
