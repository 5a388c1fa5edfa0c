"""The tables: notifications (the inbox lines), activities (what happened to each line's
thing), which activities each line shows, and idempotency keys (the first result of a
retried publish), each user's mute rules, and what the change feed keeps: each inbox's
change counter and the notifications deleted from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, NamedTuple, get_args, get_type_hints

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
# The clients' own ids (recipient, organization, actor), compared byte for byte: PostgreSQL's
# "C" collation makes the inbox indexes compare them as bytes rather than by a locale's
# rules, as SQLite's default BINARY collation already does.
OpaqueId = Text().with_variant(Text(collation="C"), "postgresql")


@dataclass(frozen=True, slots=True)
class Col:
    """A column's SQL type and options, written beside its Python type in a row class."""

    type: Any
    nullable: bool = True
    server_default: Any = None
    primary_key: bool = False
    # Computed by SQLAlchemy for an INSERT that names no value.
    default: Any = None

    def column(self, name: str) -> Column[Any]:
        """The SQLAlchemy column called ``name``."""
        return Column(
            name,
            self.type,
            nullable=self.nullable and not self.primary_key,
            server_default=self.server_default,
            default=self.default,
            primary_key=self.primary_key,
            autoincrement="auto",
        )


def table_of(name: str, row: type[tuple[Any, ...]]) -> Table:
    """The table whose columns a row class declares, in the same order.

    The row class is what every query returns and every reader reads (mypy checks the
    attribute names and types); the table is built from it, so the two cannot drift.
    """
    hints = get_type_hints(row, include_extras=True)
    columns = []
    for field in row._fields:  # type: ignore[attr-defined]
        col = next(extra for extra in get_args(hints[field])[1:] if isinstance(extra, Col))
        columns.append(col.column(field))
    return Table(name, metadata, *columns)


# The group keys of notifications made one at a time (and of those older than groups):
# publishers may withdraw such a group but not append to it.
SINGLE_GROUP_PREFIX = "notification:"


def new_group_key() -> str:
    """A group key no publisher has used: the group of one notification."""
    return f"{SINGLE_GROUP_PREFIX}{uuid.uuid4()}"


NOT_NULL = Col(Text, nullable=False)
FALSE = Col(Boolean, nullable=False, server_default=text("false"))


class NotificationRow(NamedTuple):
    """One notification as stored: the union of both REST dialects' fields and GraphQL's."""

    id: Annotated[int, Col(Id, primary_key=True)]
    organization_id: Annotated[str, Col(OpaqueId, nullable=False)]
    recipient_id: Annotated[str, Col(OpaqueId, nullable=False)]
    actor_id: Annotated[str | None, Col(OpaqueId)]
    actor_name: Annotated[str | None, Col(Text)]
    title: Annotated[str, NOT_NULL]
    description: Annotated[str | None, Col(Text)]
    excerpt: Annotated[str, Col(Text, nullable=False, server_default="")]
    target_type: Annotated[str | None, Col(Text)]
    target_id: Annotated[int | None, Col(BigInteger)]
    target_title: Annotated[str | None, Col(Text)]
    target_label: Annotated[str | None, Col(Text)]
    parent_type: Annotated[str | None, Col(Text)]
    parent_id: Annotated[int | None, Col(BigInteger)]
    parent_title: Annotated[str | None, Col(Text)]
    root_type: Annotated[str | None, Col(Text)]
    root_id: Annotated[int | None, Col(BigInteger)]
    project_id: Annotated[int | None, Col(BigInteger)]
    resource: Annotated[str | None, Col(Text)]
    reason: Annotated[str | None, Col(Text)]
    important: Annotated[bool, FALSE]
    mention: Annotated[bool, FALSE]
    action_required: Annotated[bool, FALSE]
    made_by_automation: Annotated[bool, FALSE]
    new_activities_count: Annotated[int, Col(Integer, nullable=False, server_default=text("0"))]
    first_unread_activity_id: Annotated[int | None, Col(BigInteger)]
    changeset: Annotated[Any, Col(JSONText, nullable=False)]
    read_at: Annotated[datetime | None, Col(UTCDateTime)]
    seen_at: Annotated[datetime | None, Col(UTCDateTime)]
    dismissed_at: Annotated[datetime | None, Col(UTCDateTime)]
    last_action_at: Annotated[datetime | None, Col(UTCDateTime)]
    created_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]
    # coalesce(last_action_at, created_at), stored so that the list order is a plain index.
    activity_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]
    # The thing this line is about: one notification per (inbox, group key). A notification
    # created on its own is a group of one.
    group_key: Annotated[str, Col(Text, nullable=False, default=new_group_key)]
    expires_at: Annotated[datetime | None, Col(UTCDateTime)]
    withdrawn_at: Annotated[datetime | None, Col(UTCDateTime)]
    # Activities grouped into this line so far. Nonzero means notifgql keeps the activity
    # numbers above (reading resets them); zero, that the publisher set them itself.
    activity_count: Annotated[int, Col(Integer, nullable=False, server_default=text("0"))]
    # Hidden from every list and count until then; set back to null when it wakes up.
    snoozed_until: Annotated[datetime | None, Col(UTCDateTime)]
    # The inbox tab it belongs in, and labels a client may filter by (a JSON list of text).
    category: Annotated[str | None, Col(Text)]
    tags: Annotated[Any, Col(JSONText, nullable=False, server_default="[]")]
    # What the recipient may do about it: a JSON list of objects, each with its status.
    actions: Annotated[Any, Col(JSONText, nullable=False, server_default="[]")]
    # The inbox's version (``inboxes.version``) of the transaction that last changed it:
    # its place in the inbox's change feed.
    change_version: Annotated[int, Col(BigInteger, nullable=False, server_default=text("0"))]
    # When the change feed noted that it expired (expiry itself writes nothing).
    expired_at: Annotated[datetime | None, Col(UTCDateTime)]


notifications = table_of("notifications", NotificationRow)

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
# One notification per (inbox, group key): publishes append to it, concurrently too. The
# group key leads, so that the same index finds a group across every inbox of an
# organization (withdrawing it), and so that no inbox read can mistake it for an inbox index.
Index(
    "uq_notifications_group_inbox",
    notifications.c.group_key,
    notifications.c.organization_id,
    notifications.c.recipient_id,
    unique=True,
)
# The change feed walks one inbox's rows in version order.
Index(
    "ix_notifications_inbox_changes",
    notifications.c.organization_id,
    notifications.c.recipient_id,
    notifications.c.change_version,
    notifications.c.id,
)
# The clock notes expiries: it polls only the rows that will expire and have not yet.
Index(
    "ix_notifications_expiring",
    notifications.c.expires_at,
    postgresql_where=notifications.c.expires_at.is_not(None) & notifications.c.expired_at.is_(None),
    sqlite_where=notifications.c.expires_at.is_not(None) & notifications.c.expired_at.is_(None),
)
# The waker polls only the snoozed rows, a handful beside the whole table.
Index(
    "ix_notifications_snoozed_until",
    notifications.c.snoozed_until,
    postgresql_where=notifications.c.snoozed_until.is_not(None),
    sqlite_where=notifications.c.snoozed_until.is_not(None),
)


class ActivityRow(NamedTuple):
    """One thing that happened to a group's thing, stored once for all its recipients."""

    id: Annotated[int, Col(Id, primary_key=True)]
    organization_id: Annotated[str, Col(OpaqueId, nullable=False)]
    group_key: Annotated[str, NOT_NULL]
    actor_id: Annotated[str | None, Col(OpaqueId)]
    actor_name: Annotated[str | None, Col(Text)]
    title: Annotated[str, NOT_NULL]
    excerpt: Annotated[str, Col(Text, nullable=False, server_default="")]
    changeset: Annotated[Any, Col(JSONText, nullable=False)]
    occurred_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]
    created_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]


activities = table_of("activities", ActivityRow)

# A group's activities, newest first, walked as a keyset.
Index(
    "ix_activities_group_order",
    activities.c.organization_id,
    activities.c.group_key,
    activities.c.occurred_at.desc(),
    activities.c.id.desc(),
)


class NotificationActivityRow(NamedTuple):
    """An activity shown under one notification: those published to its recipient only.

    A group's activities are not all its recipients' business: a watcher added later, or
    left out of one publish, sees what was published to them and nothing else.
    """

    notification_id: Annotated[int, Col(BigInteger, primary_key=True)]
    # The activity's time, copied here so that the primary key is the listing order.
    occurred_at: Annotated[datetime, Col(UTCDateTime, primary_key=True)]
    activity_id: Annotated[int, Col(BigInteger, primary_key=True)]


notification_activities = table_of("notification_activities", NotificationActivityRow)
# Purging finds the activities no notification shows any more.
Index("ix_notification_activities_activity_id", notification_activities.c.activity_id)


class IdempotencyKeyRow(NamedTuple):
    """A publish's key, what it asked for and what it answered, for its retries."""

    organization_id: Annotated[str, Col(OpaqueId, primary_key=True)]
    key: Annotated[str, Col(Text, primary_key=True)]
    # SHA-256 of the request's canonical form: a retry must ask for the same thing.
    fingerprint: Annotated[str, NOT_NULL]
    result: Annotated[Any, Col(JSONText, nullable=False)]
    created_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]


idempotency_keys = table_of("idempotency_keys", IdempotencyKeyRow)
# Expired keys are found and deleted by age.
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)


class MuteRuleRow(NamedTuple):
    """One user's rule: publishes matching all its criteria never reach their inbox."""

    id: Annotated[int, Col(Id, primary_key=True)]
    organization_id: Annotated[str, Col(OpaqueId, nullable=False)]
    recipient_id: Annotated[str, Col(OpaqueId, nullable=False)]
    # Each criterion is null for "any"; at least one is set.
    category: Annotated[str | None, Col(Text)]
    target_type: Annotated[str | None, Col(Text)]
    group_key: Annotated[str | None, Col(Text)]
    project_id: Annotated[int | None, Col(BigInteger)]
    created_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]


mute_rules = table_of("mute_rules", MuteRuleRow)
# A publish looks up the rules of each recipient; a user lists their own.
Index(
    "ix_mute_rules_organization_id_recipient_id",
    mute_rules.c.organization_id,
    mute_rules.c.recipient_id,
)


class InboxRow(NamedTuple):
    """One inbox's change counter.

    Every transaction that changes an inbox's notifications first takes the next version
    here (``UPDATE … SET version = version + 1``), holding the row's lock until it commits:
    versions are therefore given, and committed, in order, and a reader that sees version
    V sees every change up to V. The rows it changes carry that version.
    """

    organization_id: Annotated[str, Col(OpaqueId, primary_key=True)]
    recipient_id: Annotated[str, Col(OpaqueId, primary_key=True)]
    version: Annotated[int, Col(BigInteger, nullable=False)]
    # The newest version of a removal forgotten (pruned with the change history): a client
    # that last synced before it has missed something and must start over.
    forgotten_through: Annotated[int, Col(BigInteger, nullable=False, server_default=text("0"))]


inboxes = table_of("inboxes", InboxRow)


class NotificationRemovalRow(NamedTuple):
    """A notification deleted from an inbox (by retention), kept for the change feed."""

    organization_id: Annotated[str, Col(OpaqueId, primary_key=True)]
    recipient_id: Annotated[str, Col(OpaqueId, primary_key=True)]
    version: Annotated[int, Col(BigInteger, primary_key=True)]
    notification_id: Annotated[int, Col(BigInteger, primary_key=True)]
    removed_at: Annotated[datetime, Col(UTCDateTime, nullable=False)]


notification_removals = table_of("notification_removals", NotificationRemovalRow)
# The change history is pruned by age.
Index("ix_notification_removals_removed_at", notification_removals.c.removed_at)
