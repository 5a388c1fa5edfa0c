"""Root query fields."""

from __future__ import annotations

import strawberry

from notifgql.graphql.context import Info
from notifgql.graphql.inputs import NotificationFilterInput, to_domain_filter
from notifgql.graphql.types import (
    Notification,
    NotificationConnection,
    NotificationCounts,
    NotificationEdge,
    NotificationPage,
    PageInfo,
    lazy_total,
)
from notifgql.ids import parse_id
from notifgql.notifications import pagination, queries
from notifgql.notifications.pagination import DEFAULT_PAGE_SIZE


@strawberry.type
class Query:
    @strawberry.field(description="One notification; null when absent or not yours.")
    async def notification(self, info: Info, id: strawberry.ID) -> Notification | None:
        viewer = info.context.inbox_viewer
        notification_id = parse_id(id)
        if notification_id is None:
            return None
        async with info.context.database.read() as conn:
            row = await queries.get_notification(conn, viewer, notification_id)
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
        spec = to_domain_filter(filter)
        codec = info.context.cursors
        window = pagination.window(codec, first=first, after=after, last=last, before=before)
        async with info.context.database.read() as conn:
            found = await queries.list_window(conn, viewer, spec, window)
        edges = [
            NotificationEdge(
                cursor=codec.encode(queries.position_of(row)), node=Notification.from_model(row)
            )
            for row in found.rows
        ]
        return NotificationConnection(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=found.has_next_page,
                has_previous_page=found.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total=lazy_total(viewer, spec),
        )

    @strawberry.field(description="Page numbers; pageSize 1..200; null means the default.")
    async def notifications_page(
        self,
        info: Info,
        filter: NotificationFilterInput | None = None,
        page: int | None = 1,
        page_size: int | None = DEFAULT_PAGE_SIZE,
    ) -> NotificationPage:
        viewer = info.context.inbox_viewer
        spec = to_domain_filter(filter)
        page, page_size = pagination.page_arguments(page, page_size)
        offset, limit = pagination.page_bounds(page, page_size)
        async with info.context.database.read() as conn:
            rows = await queries.list_page(conn, viewer, spec, offset, limit)
        return NotificationPage(
            nodes=[Notification.from_model(row) for row in rows],
            current_page=page,
            page_size=page_size,
            total=lazy_total(viewer, spec),
        )

    @strawberry.field(description="Badge numbers over the notifications the filter matches.")
    async def notification_counts(
        self, info: Info, filter: NotificationFilterInput | None = None
    ) -> NotificationCounts:
        viewer = info.context.inbox_viewer
        spec = to_domain_filter(filter)
        async with info.context.database.read() as conn:
            return NotificationCounts.from_model(await queries.counts(conn, viewer, spec))
