"""GraphQL object types; each ``from_model`` is the one place a field meets a column."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from notifgql.auth import Viewer
from notifgql.graphql.context import Info
from notifgql.notifications import queries
from notifgql.notifications.filters import NotificationFilter
from notifgql.notifications.pagination import MAX_PAGE_SIZE, total_pages
from notifgql.notifications.queries import Record


def _id(value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="Who caused the notification.")
class Actor:
    id: strawberry.ID
    name: str | None


@strawberry.type(description="One notification in the viewer's inbox.")
class Notification:
    id: strawberry.ID
    title: str
    description: str | None
    excerpt: str
    target_type: str | None
    target_id: strawberry.ID | None
    target_title: str | None
    target_label: str | None
    parent_type: str | None
    parent_id: strawberry.ID | None
    parent_title: str | None
    root_type: str | None
    root_id: strawberry.ID | None
    project_id: strawberry.ID | None
    resource: str | None
    reason: str | None
    read: bool
    read_at: datetime | None
    seen: bool = strawberry.field(description="Shown to the person; clears the badge.")
    seen_at: datetime | None
    dismissed: bool
    dismissed_at: datetime | None
    important: bool
    mention: bool
    action_required: bool
    made_by_automation: bool
    new_activities_count: int
    first_unread_activity_id: strawberry.ID | None
    changeset: JSON
    last_action_at: datetime | None
    created_at: datetime
    organization_id: strawberry.ID
    recipient_id: strawberry.ID
    actor: Actor | None

    @classmethod
    def from_model(cls, row: Record) -> Notification:
        """Build from a ``notifications`` row."""
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            description=row.description,
            excerpt=row.excerpt,
            target_type=row.target_type,
            target_id=_id(row.target_id),
            target_title=row.target_title,
            target_label=row.target_label,
            parent_type=row.parent_type,
            parent_id=_id(row.parent_id),
            parent_title=row.parent_title,
            root_type=row.root_type,
            root_id=_id(row.root_id),
            project_id=_id(row.project_id),
            resource=row.resource,
            reason=row.reason,
            read=row.read_at is not None,
            read_at=row.read_at,
            seen=row.seen_at is not None,
            seen_at=row.seen_at,
            dismissed=row.dismissed_at is not None,
            dismissed_at=row.dismissed_at,
            important=row.important,
            mention=row.mention,
            action_required=row.action_required,
            made_by_automation=row.made_by_automation,
            new_activities_count=row.new_activities_count,
            first_unread_activity_id=_id(row.first_unread_activity_id),
            changeset=row.changeset,
            last_action_at=row.last_action_at,
            created_at=row.created_at,
            organization_id=strawberry.ID(str(row.organization_id)),
            recipient_id=strawberry.ID(str(row.recipient_id)),
            actor=(
                None
                if row.actor_id is None
                else Actor(id=strawberry.ID(str(row.actor_id)), name=row.actor_name)
            ),
        )


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


class _LazyTotal:
    """Counts the matches at most once, and only if a selected field asks."""

    def __init__(self, viewer: Viewer, spec: NotificationFilter) -> None:
        self._viewer = viewer
        self._spec = spec
        self._task: asyncio.Future[int] | None = None

    def get(self, info: Info) -> asyncio.Future[int]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._count(info))
        return self._task

    async def _count(self, info: Info) -> int:
        async with info.context.database.read() as conn:
            return await queries.count(conn, self._viewer, self._spec)


@strawberry.type(description="A Relay connection over the viewer's notifications.")
class NotificationConnection:
    edges: list[NotificationEdge]
    nodes: list[Notification]
    page_info: PageInfo
    total: strawberry.Private[_LazyTotal]

    @strawberry.field(description="Notifications matching the filter; counted only when asked.")
    async def total_count(self, info: Info) -> int:
        return await self.total.get(info)


@strawberry.type(description="One page of the viewer's notifications, by page number.")
class NotificationPage:
    nodes: list[Notification]
    current_page: int
    page_size: int
    total: strawberry.Private[_LazyTotal]
    max_page_size: int = MAX_PAGE_SIZE

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await self.total.get(info)

    @strawberry.field
    async def total_pages(self, info: Info) -> int:
        return total_pages(await self.total.get(info), self.page_size)


@strawberry.type(description="Badge numbers; each counts the filtered notifications in that state.")
class NotificationCounts:
    total: int
    unread: int
    unseen: int
    important: int
    mentions: int
    action_required: int

    @classmethod
    def from_model(cls, counts: queries.Counts) -> NotificationCounts:
        """Build from the domain's counts."""
        return cls(
            total=counts.total,
            unread=counts.unread,
            unseen=counts.unseen,
            important=counts.important,
            mentions=counts.mentions,
            action_required=counts.action_required,
        )


@strawberry.type
class MarkResult:
    count: int = strawberry.field(description="Notifications this call changed.")


def lazy_total(viewer: Viewer, spec: NotificationFilter) -> Any:
    """A count that runs only when totalCount or totalPages is selected."""
    return _LazyTotal(viewer, spec)
