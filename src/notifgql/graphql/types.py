"""GraphQL output types, each field declared once with its reader (see ``declared``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from operator import itemgetter
from typing import Any

import strawberry
from strawberry.scalars import JSON

from notifgql.db.models import MuteRuleRow
from notifgql.db.models import NotificationRow as Row
from notifgql.graphql import roots
from notifgql.graphql.context import Info
from notifgql.graphql.declared import Declared, Reads, output_type
from notifgql.graphql.roots import ActivityListing, InboxChangesAnswer, Listing, Page
from notifgql.notifications.activities import ShownActivity
from notifgql.notifications.pagination import MAX_PAGE_SIZE
from notifgql.notifications.queries import Counts


def _id(value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


on = Reads[Row]()


# (id, name): the notification's or the activity's actor.
who = Reads[tuple[str, str | None]]()


@output_type("Who caused the notification, or the activity.")
class Actor(Declared):
    id: strawberry.ID = who.value(itemgetter(0))
    name: str | None = who.value(itemgetter(1))


activity = Reads[ShownActivity]()
activity_edge = Reads[tuple[ShownActivity, str]]()
activity_listing = Reads[ActivityListing]()
listing = Reads[Listing]()


@output_type("Where a window lies in the whole list.")
class PageInfo(Declared):
    has_next_page: bool = listing.value(lambda found: found.has_next_page)
    has_previous_page: bool = listing.value(lambda found: found.has_previous_page)
    start_cursor: str | None = listing.value(
        lambda found: found.cursors[0] if found.cursors else None
    )
    end_cursor: str | None = listing.value(
        lambda found: found.cursors[-1] if found.cursors else None
    )


@output_type("Something that happened to the thing a notification is about.")
class Activity(Declared):
    id: strawberry.ID = activity.value(lambda item: str(item.id))
    actor: Actor | None = activity.one(
        Actor, lambda item: None if item.actor_id is None else (item.actor_id, item.actor_name)
    )
    title: str = activity.column(ShownActivity.title)
    excerpt: str = activity.column(ShownActivity.excerpt)
    changeset: JSON = activity.column(ShownActivity.changeset)
    occurred_at: datetime = activity.column(ShownActivity.occurred_at)
    unread: bool = activity.column(
        ShownActivity.unread, "Published after the notification was last read."
    )


@output_type("An activity and its cursor.")
class ActivityEdge(Declared):
    cursor: str = activity_edge.value(lambda pair: pair[1])
    node: Activity = activity_edge.one(Activity, lambda pair: pair[0])


@output_type("The activities a notification shows, newest first.")
class ActivityConnection(Declared):
    edges: list[ActivityEdge] = activity_listing.many(
        ActivityEdge, lambda found: zip(found.rows, found.cursors, strict=True)
    )
    nodes: list[Activity] = activity_listing.many(Activity, lambda found: found.rows)
    # The same fields over an activity window as over a list window.
    page_info: PageInfo = activity_listing.one(PageInfo, lambda found: found)
    total_count: int = activity_listing.value(
        lambda found: found.total, "Activities this notification has had."
    )


@strawberry.enum(description="Whether the recipient has done an action yet.")
class ActionStatus(Enum):
    PENDING = "PENDING"
    DONE = "DONE"


# One action as the ``actions`` column holds it (see notifications.actions).
action = Reads[Mapping[str, Any]]()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@output_type("Something the recipient may do about a notification.")
class NotificationAction(Declared):
    id: strawberry.ID = action.value(itemgetter("id"), "Its publisher's id for it.")
    label: str = action.value(itemgetter("label"))
    url: str | None = action.value(itemgetter("url"))
    primary: bool = action.value(itemgetter("primary"))
    status: ActionStatus = action.value(lambda item: ActionStatus(item["status"]))
    completed_at: datetime | None = action.value(lambda item: _time(item["completed_at"]))


@output_type("One notification in the viewer's inbox.")
class Notification(Declared):
    id: strawberry.ID = on.value(lambda row: str(row.id))
    title: str = on.column(Row.title)
    description: str | None = on.column(Row.description)
    excerpt: str = on.column(Row.excerpt)
    target_type: str | None = on.column(Row.target_type)
    target_id: strawberry.ID | None = on.value(lambda row: _id(row.target_id))
    target_title: str | None = on.column(Row.target_title)
    target_label: str | None = on.column(Row.target_label)
    parent_type: str | None = on.column(Row.parent_type)
    parent_id: strawberry.ID | None = on.value(lambda row: _id(row.parent_id))
    parent_title: str | None = on.column(Row.parent_title)
    root_type: str | None = on.column(Row.root_type)
    root_id: strawberry.ID | None = on.value(lambda row: _id(row.root_id))
    project_id: strawberry.ID | None = on.value(lambda row: _id(row.project_id))
    resource: str | None = on.column(Row.resource)
    reason: str | None = on.column(Row.reason)
    read: bool = on.value(lambda row: row.read_at is not None)
    read_at: datetime | None = on.column(Row.read_at)
    seen: bool = on.value(
        lambda row: row.seen_at is not None, "Shown to the person; clears the badge."
    )
    seen_at: datetime | None = on.column(Row.seen_at)
    dismissed: bool = on.value(lambda row: row.dismissed_at is not None)
    dismissed_at: datetime | None = on.column(Row.dismissed_at)
    important: bool = on.column(Row.important)
    mention: bool = on.column(Row.mention)
    action_required: bool = on.column(Row.action_required)
    made_by_automation: bool = on.column(Row.made_by_automation)
    new_activities_count: int = on.column(Row.new_activities_count)
    first_unread_activity_id: strawberry.ID | None = on.value(
        lambda row: _id(row.first_unread_activity_id)
    )
    # A stored JSON null (older rows) reads as the empty changeset a null input means.
    changeset: JSON = on.value(lambda row: [] if row.changeset is None else row.changeset)
    last_action_at: datetime | None = on.column(Row.last_action_at)
    created_at: datetime = on.column(Row.created_at)
    organization_id: strawberry.ID = on.column(Row.organization_id)
    recipient_id: strawberry.ID = on.column(Row.recipient_id)
    actor: Actor | None = on.one(
        Actor, lambda row: None if row.actor_id is None else (row.actor_id, row.actor_name)
    )
    group_key: str = on.column(
        Row.group_key, "What it is about: publishes with this key append to it in place."
    )
    expires_at: datetime | None = on.column(Row.expires_at, "When it leaves every list.")
    snoozed_until: datetime | None = on.column(
        Row.snoozed_until, "When it comes back, unread, at the top; null when not snoozed."
    )
    snoozed: bool = on.value(
        lambda row: row.snoozed_until is not None and row.snoozed_until > datetime.now(UTC),
        "Hidden from lists and counts until snoozedUntil.",
    )
    category: str | None = on.column(Row.category, "The inbox tab it belongs in.")
    tags: list[str] = on.column(Row.tags)
    actions: list[NotificationAction] = on.many(
        NotificationAction,
        lambda row: row.actions,
        "What the recipient may do about it; actionRequired while one is pending.",
    )

    @strawberry.field(
        description=(
            "The activities published to you about this thing, newest first. Default first:"
            " 30; first must be 1..200."
        )
    )
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ActivityConnection:
        found = await roots.activities(
            info.context.database.reader,
            info.context.activity_cursors,
            self.__source__,
            first=first,
            after=after,
        )
        return ActivityConnection.from_model(found)


edge = Reads[tuple[Row, str]]()
page = Reads[Page]()
counts = Reads[Counts]()


@output_type("A notification and its cursor.")
class NotificationEdge(Declared):
    cursor: str = edge.value(lambda pair: pair[1])
    node: Notification = edge.one(Notification, lambda pair: pair[0])


@output_type("A Relay connection over the viewer's notifications.")
class NotificationConnection(Declared):
    edges: list[NotificationEdge] = listing.many(
        NotificationEdge, lambda found: zip(found.rows, found.cursors, strict=True)
    )
    nodes: list[Notification] = listing.many(Notification, lambda found: found.rows)
    page_info: PageInfo = listing.one(PageInfo, lambda found: found)
    total_count: int = listing.later(
        lambda found: found.total.get(),
        "Notifications matching the filter; counted only when asked.",
    )


@output_type("One page of the viewer's notifications, by page number.")
class NotificationPage(Declared):
    nodes: list[Notification] = page.many(Notification, lambda found: found.rows)
    current_page: int = page.value(lambda found: found.current_page)
    page_size: int = page.value(lambda found: found.page_size)
    total_count: int = page.later(lambda found: found.total.get())
    total_pages: int = page.later(lambda found: found.total_pages())
    max_page_size: int = page.value(lambda _found: MAX_PAGE_SIZE)


@output_type("Badge numbers; each counts the filtered notifications in that state.")
class NotificationCounts(Declared):
    total: int = counts.value(lambda found: found.total)
    unread: int = counts.value(lambda found: found.unread)
    unseen: int = counts.value(lambda found: found.unseen)
    important: int = counts.value(lambda found: found.important)
    mentions: int = counts.value(lambda found: found.mentions)
    action_required: int = counts.value(lambda found: found.action_required)


inbox_changes = Reads[InboxChangesAnswer]()


@output_type(
    "What changed in your inbox after a position, oldest change first: pass `next` as"
    " `since` next time."
)
class InboxChanges(Declared):
    changed: list[Notification] = inbox_changes.many(
        Notification,
        lambda found: found.changes.changed,
        "Notifications created or changed since, each as it is now (snoozed ones too).",
    )
    removed: list[strawberry.ID] = inbox_changes.value(
        lambda found: [str(item) for item in found.changes.removed],
        "Notifications gone from your inbox since: withdrawn, expired or deleted.",
    )
    counts: NotificationCounts = inbox_changes.later_one(
        NotificationCounts,
        lambda found: found.counts.get(),
        "Your badge numbers now; counted only when asked (a large inbox takes a while).",
    )
    next: str = inbox_changes.value(
        lambda found: found.next, "Your position after these changes: the next call's since."
    )
    has_more: bool = inbox_changes.value(
        lambda found: found.changes.has_more,
        "More changes wait: ask again with since: next at once.",
    )


rule = Reads[MuteRuleRow]()


@output_type("Publishes matching all of a rule's criteria never reach your inbox.")
class MuteRule(Declared):
    id: strawberry.ID = rule.value(lambda row: str(row.id))
    category: str | None = rule.column(MuteRuleRow.category)
    target_type: str | None = rule.column(MuteRuleRow.target_type, "Case-insensitive.")
    group_key: str | None = rule.column(MuteRuleRow.group_key)
    project_id: strawberry.ID | None = rule.value(lambda row: _id(row.project_id))
    created_at: datetime = rule.column(MuteRuleRow.created_at)


@strawberry.type
class MarkResult:
    count: int = strawberry.field(description="Notifications this call changed.")


@strawberry.type
class PublishResult:
    created: int = strawberry.field(description="Notifications this publish created.")
    updated: int = strawberry.field(description="Existing notifications it appended to.")
    activity_id: strawberry.ID = strawberry.field(description="The one activity it stored.")
