"""Root mutation fields: each one transaction, re-run on a conflict, published on commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from notifgql.auth import Viewer
from notifgql.errors import NotFound
from notifgql.graphql.context import Info
from notifgql.graphql.inputs import (
    CreateNotificationInput,
    MuteRuleInput,
    NotificationFilterInput,
    PublishInput,
    to_domain_filter,
)
from notifgql.graphql.types import MarkResult, MuteRule, Notification, PublishResult
from notifgql.ids import parse_id
from notifgql.notifications import actions, commands, mute_rules, publishing
from notifgql.notifications.fields import parse_ids
from notifgql.notifications.filters import NotificationFilter
from notifgql.notifications.limits import MAX_MARK_IDS
from notifgql.notifications.queries import Record
from notifgql.notifications.unit_of_work import UnitOfWork, in_transaction

ChangeOne = Callable[[UnitOfWork, Viewer, int], Awaitable[Record]]


async def _change_one(info: Info, id: strawberry.ID, change: ChangeOne) -> Notification:
    viewer = info.context.inbox_viewer
    notification_id = parse_id(id)
    if notification_id is None:
        raise NotFound(f"Notification {id} not found", parameter="id")
    row = await in_transaction(
        info.context.database,
        info.context.broker,
        lambda work: change(work, viewer, notification_id),
    )
    return Notification.from_model(row)


MarkAll = Callable[[UnitOfWork, Viewer, NotificationFilter], Awaitable[int]]


async def _mark_all(
    info: Info, filter: NotificationFilterInput | None, mark: MarkAll
) -> MarkResult:
    viewer = info.context.inbox_viewer
    spec = to_domain_filter(filter)
    count = await in_transaction(
        info.context.database, info.context.broker, lambda work: mark(work, viewer, spec)
    )
    return MarkResult(count=count)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Set readAt (and seenAt) if unset; idempotent.")
    async def read_notification(self, info: Info, id: strawberry.ID) -> Notification:
        return await _change_one(info, id, commands.mark_read)

    @strawberry.mutation(description="Clear readAt.")
    async def unread_notification(self, info: Info, id: strawberry.ID) -> Notification:
        return await _change_one(info, id, commands.mark_unread)

    @strawberry.mutation(description="Set dismissedAt.")
    async def dismiss_notification(self, info: Info, id: strawberry.ID) -> Notification:
        return await _change_one(info, id, commands.dismiss)

    @strawberry.mutation(description="Clear dismissedAt.")
    async def undismiss_notification(self, info: Info, id: strawberry.ID) -> Notification:
        return await _change_one(info, id, commands.undismiss)

    @strawberry.mutation(
        description=(
            "Hide it from every list and count until `until` (in the future, at most a year"
            " ahead); it comes back then unread, at the top. Snoozing again moves the time."
        )
    )
    async def snooze_notification(
        self, info: Info, id: strawberry.ID, until: datetime
    ) -> Notification:
        return await _change_one(
            info, id, lambda work, viewer, found: commands.snooze(work, viewer, found, until)
        )

    @strawberry.mutation(description="Show it again now, as it was.")
    async def unsnooze_notification(self, info: Info, id: strawberry.ID) -> Notification:
        return await _change_one(info, id, commands.unsnooze)

    @strawberry.mutation(description="Never receive publishes matching the rule.")
    async def mute(self, info: Info, rule: MuteRuleInput) -> MuteRule:
        viewer = info.context.inbox_viewer
        new = rule.to_domain()
        row = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: mute_rules.mute(work, viewer, new),
        )
        return MuteRule.from_model(row)

    @strawberry.mutation(description="Delete one of your mute rules; count = 1.")
    async def unmute(self, info: Info, id: strawberry.ID) -> MarkResult:
        viewer = info.context.inbox_viewer
        rule_id = parse_id(id)
        if rule_id is None:
            raise NotFound(f"Mute rule {id} not found", parameter="id")
        count = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: mute_rules.unmute(work, viewer, rule_id),
        )
        return MarkResult(count=count)

    @strawberry.mutation(
        description="Mark one action of your notification done; done already changes nothing."
    )
    async def complete_action(
        self, info: Info, id: strawberry.ID, action_id: strawberry.ID
    ) -> Notification:
        return await _change_one(
            info,
            id,
            lambda work, viewer, notification_id: actions.complete_action(
                work, viewer, notification_id, str(action_id)
            ),
        )

    @strawberry.mutation(
        description="Set seenAt on those of ids that are yours; count = rows changed."
    )
    async def mark_seen(self, info: Info, ids: list[strawberry.ID]) -> MarkResult:
        viewer = info.context.inbox_viewer
        parsed = parse_ids(ids, parameter="ids", most=MAX_MARK_IDS)
        count = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: commands.mark_seen(work, viewer, parsed),
        )
        return MarkResult(count=count)

    @strawberry.mutation(description="Set seenAt on every match, in one statement.")
    async def mark_all_seen(
        self, info: Info, filter: NotificationFilterInput | None = None
    ) -> MarkResult:
        return await _mark_all(info, filter, commands.mark_all_seen)

    @strawberry.mutation(description="Set readAt (and seenAt) on every match, in one statement.")
    async def mark_all_read(
        self, info: Info, filter: NotificationFilterInput | None = None
    ) -> MarkResult:
        return await _mark_all(info, filter, commands.mark_all_read)

    @strawberry.mutation(
        description="Publish a notification into your organization; service tokens only."
    )
    async def create_notification(self, info: Info, input: CreateNotificationInput) -> Notification:
        viewer = info.context.viewer
        viewer.require_service()
        new = input.to_domain()
        row = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: commands.create_notification(work, viewer, new),
        )
        return Notification.from_model(row)

    @strawberry.mutation(
        description=(
            "Store one activity and group it into each recipient's notification for its group"
            " key, creating the notification where there is none; service tokens only."
        )
    )
    async def publish(self, info: Info, input: PublishInput) -> PublishResult:
        viewer = info.context.viewer
        viewer.require_service()
        request = input.to_domain()
        result = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: publishing.publish(work, viewer, request),
        )
        return PublishResult(
            created=result.created,
            updated=result.updated,
            activity_id=strawberry.ID(str(result.activity_id)),
        )

    @strawberry.mutation(
        description=(
            "Remove the group's notifications from every inbox of your organization; count ="
            " notifications removed. A later publish to the group shows it again. Service"
            " tokens only."
        )
    )
    async def withdraw(self, info: Info, group_key: str) -> MarkResult:
        viewer = info.context.viewer
        viewer.require_service()
        count = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: publishing.withdraw(work, viewer, group_key),
        )
        return MarkResult(count=count)

    @strawberry.mutation(
        description=(
            "Mark the action done on the group's notification in every inbox of your"
            " organization; count = notifications changed. Service tokens only."
        )
    )
    async def complete_actions(
        self, info: Info, group_key: str, action_id: strawberry.ID
    ) -> MarkResult:
        viewer = info.context.viewer
        viewer.require_service()
        count = await in_transaction(
            info.context.database,
            info.context.broker,
            lambda work: actions.complete_actions(work, viewer, group_key, str(action_id)),
        )
        return MarkResult(count=count)
