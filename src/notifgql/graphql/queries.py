"""Root query fields: each wraps the root function of ``roots`` in its declared type."""

from __future__ import annotations

import strawberry

from notifgql.graphql import roots
from notifgql.graphql.context import Info
from notifgql.graphql.inputs import NotificationFilterInput, to_domain_filter
from notifgql.graphql.types import (
    InboxChanges,
    MuteRule,
    Notification,
    NotificationConnection,
    NotificationCounts,
    NotificationPage,
)
from notifgql.notifications import mute_rules
from notifgql.notifications.pagination import DEFAULT_PAGE_SIZE


@strawberry.type
class Query:
    @strawberry.field(description="One notification; null when absent or not yours.")
    async def notification(self, info: Info, id: strawberry.ID) -> Notification | None:
        row = await roots.notification(info.context.database.reader, info.context.inbox_viewer, id)
        return None if row is None else Notification.from_model(row)

    @strawberry.field(
        description="Newest activity first. Default first: 30; first/last must be 1..200."
    )
    async def notifications(
        self,
        info: Info,
        filter: NotificationFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> NotificationConnection:
        viewer = info.context.inbox_viewer
        found = await roots.notifications(
            info.context.database.reader,
            viewer,
            info.context.cursors,
            to_domain_filter(filter),
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return NotificationConnection.from_model(found)

    @strawberry.field(description="Page numbers; pageSize 1..200; null means the default.")
    async def notifications_page(
        self,
        info: Info,
        filter: NotificationFilterInput | None = None,
        page: int | None = 1,
        page_size: int | None = DEFAULT_PAGE_SIZE,
    ) -> NotificationPage:
        viewer = info.context.inbox_viewer
        found = await roots.notifications_page(
            info.context.database.reader,
            viewer,
            to_domain_filter(filter),
            page=page,
            page_size=page_size,
        )
        return NotificationPage.from_model(found)

    @strawberry.field(description="Badge numbers over the notifications the filter matches.")
    async def notification_counts(
        self, info: Info, filter: NotificationFilterInput | None = None
    ) -> NotificationCounts:
        viewer = info.context.inbox_viewer
        found = await roots.notification_counts(
            info.context.database.reader, viewer, to_domain_filter(filter)
        )
        return NotificationCounts.from_model(found)

    @strawberry.field(
        description=(
            "What changed in your inbox after since (a next of an earlier answer; null: from"
            " nothing, every current notification), oldest change first; first 1..500."
            " RESYNC_REQUIRED when since is older than the changes kept: start again from"
            " null."
        )
    )
    async def inbox_changes(
        self, info: Info, since: str | None = None, first: int | None = 100
    ) -> InboxChanges:
        context = info.context
        found = await roots.inbox_changes(
            context.database.reader, context.inbox_viewer, context.change_tokens, since, first
        )
        return InboxChanges.from_model(found)

    @strawberry.field(description="Your mute rules, newest first.")
    async def mute_rules(self, info: Info) -> list[MuteRule]:
        viewer = info.context.inbox_viewer
        async with info.context.database.reader() as reader:
            rows = await mute_rules.list_rules(reader, viewer)
        return [MuteRule.from_model(row) for row in rows]
