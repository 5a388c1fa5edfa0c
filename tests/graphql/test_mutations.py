"""Mutations: state changes of one notification, bulk marks, and publishing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api
from tests.graphql.documents import (
    CREATE,
    DISMISS,
    MARK_ALL_READ,
    MARK_ALL_SEEN,
    MARK_SEEN,
    NOTIFICATION,
    READ,
    UNDISMISS,
    UNREAD,
    assert_error,
    when,
)

EARLIER = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def recent(moment: datetime | None) -> bool:
    """Whether ``moment`` is the time of a change made by this test."""
    assert moment is not None
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


class TestReadNotification:
    async def test_sets_read_at_and_seen_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        node = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        assert node["id"] == str(notification_id)
        assert (node["read"], node["seen"], node["dismissed"]) == (True, True, False)
        assert recent(when(node["readAt"]))
        assert when(node["seenAt"]) == when(node["readAt"])
        row = await api.row(notification_id)
        assert row.read_at == when(node["readAt"])
        assert row.seen_at == when(node["seenAt"])

    async def test_keeps_an_earlier_seen_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE, seen_at=EARLIER)
        node = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        assert when(node["seenAt"]) == EARLIER
        assert recent(when(node["readAt"]))
        assert (await api.row(notification_id)).seen_at == EARLIER

    async def test_is_idempotent(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        first = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        second = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        assert second == first
        assert (await api.row(notification_id)).read_at == when(first["readAt"])

    async def test_keeps_an_earlier_read_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE, read_at=EARLIER, seen_at=EARLIER)
        node = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        assert when(node["readAt"]) == EARLIER

    async def test_changes_only_that_notification(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        other = await api.add(ALICE)
        await api.data(READ, {"id": str(notification_id)})
        assert (await api.row(other)).read_at is None
        assert (await api.row(other)).seen_at is None

    async def test_absent_is_not_found(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        before = await api.snapshot()
        body = await api.gql(READ, {"id": str(notification_id + 1000)})
        assert_error(body, "NOT_FOUND")
        assert body["data"] is None
        assert await api.snapshot() == before


class TestUnreadNotification:
    async def test_clears_read_at_and_keeps_seen(self, api: Api) -> None:
        notification_id = await api.add(ALICE, read_at=EARLIER, seen_at=EARLIER)
        node = (await api.data(UNREAD, {"id": str(notification_id)}))["unreadNotification"]
        assert (node["read"], node["readAt"]) == (False, None)
        assert (node["seen"], when(node["seenAt"])) == (True, EARLIER)
        row = await api.row(notification_id)
        assert row.read_at is None
        assert row.seen_at == EARLIER

    async def test_unread_stays_unread(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        node = (await api.data(UNREAD, {"id": str(notification_id)}))["unreadNotification"]
        assert (node["read"], node["seen"]) == (False, False)
        assert (await api.row(notification_id)).seen_at is None

    async def test_read_again_gets_a_new_read_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE, read_at=EARLIER, seen_at=EARLIER)
        await api.data(UNREAD, {"id": str(notification_id)})
        node = (await api.data(READ, {"id": str(notification_id)}))["readNotification"]
        assert recent(when(node["readAt"]))
        assert when(node["seenAt"]) == EARLIER

    async def test_absent_is_not_found(self, api: Api) -> None:
        body = await api.gql(UNREAD, {"id": "424242"})
        assert_error(body, "NOT_FOUND")


class TestDismissNotification:
    async def test_sets_dismissed_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        node = (await api.data(DISMISS, {"id": str(notification_id)}))["dismissNotification"]
        assert node["dismissed"] is True
        assert recent(when(node["dismissedAt"]))
        assert (node["read"], node["seen"]) == (False, False)
        assert (await api.row(notification_id)).dismissed_at == when(node["dismissedAt"])

    async def test_is_idempotent(self, api: Api) -> None:
        notification_id = await api.add(ALICE, dismissed_at=EARLIER)
        node = (await api.data(DISMISS, {"id": str(notification_id)}))["dismissNotification"]
        assert when(node["dismissedAt"]) == EARLIER
        assert (await api.row(notification_id)).dismissed_at == EARLIER

    async def test_absent_is_not_found(self, api: Api) -> None:
        body = await api.gql(DISMISS, {"id": "424242"})
        assert_error(body, "NOT_FOUND")


class TestUndismissNotification:
    async def test_clears_dismissed_at(self, api: Api) -> None:
        notification_id = await api.add(ALICE, dismissed_at=EARLIER, read_at=EARLIER)
        node = (await api.data(UNDISMISS, {"id": str(notification_id)}))["undismissNotification"]
        assert (node["dismissed"], node["dismissedAt"]) == (False, None)
        assert node["read"] is True
        row = await api.row(notification_id)
        assert row.dismissed_at is None
        assert row.read_at == EARLIER

    async def test_not_dismissed_stays(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        node = (await api.data(UNDISMISS, {"id": str(notification_id)}))["undismissNotification"]
        assert node["dismissed"] is False

    async def test_absent_is_not_found(self, api: Api) -> None:
        body = await api.gql(UNDISMISS, {"id": "424242"})
        assert_error(body, "NOT_FOUND")


class TestMarkSeen:
    async def test_counts_only_rows_it_changed(self, api: Api) -> None:
        unseen_1 = await api.add(ALICE)
        unseen_2 = await api.add(ALICE)
        already = await api.add(ALICE, seen_at=EARLIER)
        untouched = await api.add(ALICE)
        bobs = await api.add(BOB)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        wanted = [unseen_1, unseen_2, already, bobs, elsewhere, untouched + 1000]
        data = await api.data(MARK_SEEN, {"ids": [str(i) for i in wanted]})
        assert data == {"markSeen": {"count": 2}}
        assert recent((await api.row(unseen_1)).seen_at)
        assert recent((await api.row(unseen_2)).seen_at)
        assert (await api.row(already)).seen_at == EARLIER
        assert (await api.row(untouched)).seen_at is None
        assert (await api.row(bobs)).seen_at is None
        assert (await api.row(elsewhere)).seen_at is None

    async def test_does_not_read(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        await api.data(MARK_SEEN, {"ids": [str(notification_id)]})
        row = await api.row(notification_id)
        assert row.seen_at is not None
        assert row.read_at is None

    async def test_second_call_counts_zero(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        variables = {"ids": [str(notification_id)]}
        assert (await api.data(MARK_SEEN, variables))["markSeen"]["count"] == 1
        seen_at = (await api.row(notification_id)).seen_at
        assert (await api.data(MARK_SEEN, variables))["markSeen"]["count"] == 0
        assert (await api.row(notification_id)).seen_at == seen_at

    async def test_duplicate_ids_count_once(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        data = await api.data(MARK_SEEN, {"ids": [str(notification_id)] * 3})
        assert data["markSeen"]["count"] == 1

    async def test_empty_list_counts_zero(self, api: Api) -> None:
        notification_id = await api.add(ALICE)
        assert (await api.data(MARK_SEEN, {"ids": []}))["markSeen"]["count"] == 0
        assert (await api.row(notification_id)).seen_at is None

    async def test_only_foreign_ids_count_zero(self, api: Api) -> None:
        bobs = await api.add(BOB)
        before = await api.snapshot()
        assert (await api.data(MARK_SEEN, {"ids": [str(bobs)]}))["markSeen"]["count"] == 0
        assert await api.snapshot() == before


class TestMarkAllSeen:
    async def test_without_filter_marks_every_unseen(self, api: Api) -> None:
        unseen = [await api.add(ALICE), await api.add(ALICE, dismissed_at=EARLIER)]
        already = await api.add(ALICE, seen_at=EARLIER)
        bobs = await api.add(BOB)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        assert (await api.data(MARK_ALL_SEEN))["markAllSeen"]["count"] == 2
        for notification_id in unseen:
            row = await api.row(notification_id)
            assert recent(row.seen_at)
            assert row.read_at is None
        assert (await api.row(already)).seen_at == EARLIER
        assert (await api.row(bobs)).seen_at is None
        assert (await api.row(elsewhere)).seen_at is None
        assert (await api.data(MARK_ALL_SEEN))["markAllSeen"]["count"] == 0

    async def test_with_filter_marks_only_matches(self, api: Api) -> None:
        important = [await api.add(ALICE, important=True) for _ in range(3)]
        other = [await api.add(ALICE) for _ in range(2)]
        await api.add(BOB, important=True)
        data = await api.data(MARK_ALL_SEEN, {"filter": {"important": True}})
        assert data["markAllSeen"]["count"] == 3
        for notification_id in important:
            assert (await api.row(notification_id)).seen_at is not None
        for notification_id in other:
            assert (await api.row(notification_id)).seen_at is None

    async def test_with_ids_filter(self, api: Api) -> None:
        chosen = await api.add(ALICE)
        other = await api.add(ALICE)
        data = await api.data(MARK_ALL_SEEN, {"filter": {"ids": [str(chosen)]}})
        assert data["markAllSeen"]["count"] == 1
        assert (await api.row(chosen)).seen_at is not None
        assert (await api.row(other)).seen_at is None

    async def test_filter_matching_nothing_counts_zero(self, api: Api) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        data = await api.data(MARK_ALL_SEEN, {"filter": {"targetType": "Nothing"}})
        assert data["markAllSeen"]["count"] == 0
        assert await api.snapshot() == before


class TestMarkAllRead:
    async def test_without_filter_reads_every_unread(self, api: Api) -> None:
        unread = await api.add(ALICE)
        seen_earlier = await api.add(ALICE, seen_at=EARLIER)
        already = await api.add(ALICE, read_at=EARLIER, seen_at=EARLIER)
        bobs = await api.add(BOB)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        assert (await api.data(MARK_ALL_READ))["markAllRead"]["count"] == 2
        row = await api.row(unread)
        assert recent(row.read_at)
        assert row.seen_at == row.read_at
        row = await api.row(seen_earlier)
        assert recent(row.read_at)
        assert row.seen_at == EARLIER
        assert (await api.row(already)).read_at == EARLIER
        assert (await api.row(bobs)).read_at is None
        assert (await api.row(elsewhere)).read_at is None
        assert (await api.data(MARK_ALL_READ))["markAllRead"]["count"] == 0

    async def test_with_filter_reads_only_matches(self, api: Api) -> None:
        tasks = [await api.add(ALICE, target_type="Task") for _ in range(2)]
        deal = await api.add(ALICE, target_type="Deal")
        await api.add(BOB, target_type="Task")
        data = await api.data(MARK_ALL_READ, {"filter": {"targetType": "TASK"}})
        assert data["markAllRead"]["count"] == 2
        for notification_id in tasks:
            row = await api.row(notification_id)
            assert row.read_at is not None
            assert row.seen_at is not None
        assert (await api.row(deal)).read_at is None

    async def test_with_time_filter(self, api: Api) -> None:
        old = await api.add(ALICE, created_at=datetime(2025, 1, 1, tzinfo=UTC))
        new = await api.add(ALICE, created_at=datetime(2025, 3, 1, tzinfo=UTC))
        data = await api.data(MARK_ALL_READ, {"filter": {"createdBefore": "2025-02-01T00:00:00Z"}})
        assert data["markAllRead"]["count"] == 1
        assert (await api.row(old)).read_at is not None
        assert (await api.row(new)).read_at is None


FULL_INPUT: dict[str, Any] = {
    "recipientId": str(ALICE.recipient_id),
    "title": "Carol mentioned you",
    "actorId": "42",
    "actorName": "Carol",
    "description": "<p>@alice look</p>",
    "excerpt": "@alice look",
    "targetType": "Comment",
    "targetId": "9",
    "targetTitle": "Re: tests",
    "targetLabel": "C-9",
    "parentType": "Task",
    "parentId": "501",
    "parentTitle": "Write the tests",
    "rootType": "Project",
    "rootId": "77",
    "projectId": "77",
    "resource": "comments",
    "reason": "mentioned",
    "important": True,
    "mention": True,
    "actionRequired": True,
    "madeByAutomation": True,
    "newActivitiesCount": 4,
    "firstUnreadActivityId": "8001",
    "changeset": {"status": ["open", "done"], "nested": {"list": [1, 2.5, None, True]}},
    "lastActionAt": "2026-02-03T04:05:06+02:00",
    "createdAt": "2026-02-03T01:00:00Z",
}


class TestCreateNotification:
    async def test_every_optional_field_round_trips(self, api: Api) -> None:
        data = await api.data(CREATE, {"input": FULL_INPUT}, as_=ALICE, role="service")
        created = data["createNotification"]
        notification_id = int(created["id"])
        assert when(created.pop("lastActionAt")) == datetime(2026, 2, 3, 2, 5, 6, tzinfo=UTC)
        assert when(created.pop("createdAt")) == datetime(2026, 2, 3, 1, 0, tzinfo=UTC)
        assert created == {
            "id": str(notification_id),
            "title": "Carol mentioned you",
            "description": "<p>@alice look</p>",
            "excerpt": "@alice look",
            "targetType": "Comment",
            "targetId": "9",
            "targetTitle": "Re: tests",
            "targetLabel": "C-9",
            "parentType": "Task",
            "parentId": "501",
            "parentTitle": "Write the tests",
            "rootType": "Project",
            "rootId": "77",
            "projectId": "77",
            "resource": "comments",
            "reason": "mentioned",
            "read": False,
            "readAt": None,
            "seen": False,
            "seenAt": None,
            "dismissed": False,
            "dismissedAt": None,
            "important": True,
            "mention": True,
            "actionRequired": True,
            "madeByAutomation": True,
            "newActivitiesCount": 4,
            "firstUnreadActivityId": "8001",
            "changeset": {"status": ["open", "done"], "nested": {"list": [1, 2.5, None, True]}},
            "organizationId": str(ALICE.organization_id),
            "recipientId": str(ALICE.recipient_id),
            "actor": {"id": "42", "name": "Carol"},
        }
        # The recipient reads back exactly what the service got.
        read_back = (await api.data(NOTIFICATION, {"id": str(notification_id)}))["notification"]
        assert when(read_back.pop("lastActionAt")) == datetime(2026, 2, 3, 2, 5, 6, tzinfo=UTC)
        assert when(read_back.pop("createdAt")) == datetime(2026, 2, 3, 1, 0, tzinfo=UTC)
        assert read_back == created
        row = await api.row(notification_id)
        assert (row.organization_id, row.recipient_id) == ("10", "1001")
        assert row.activity_at == datetime(2026, 2, 3, 2, 5, 6, tzinfo=UTC)

    async def test_defaults_of_a_minimal_notification(self, api: Api) -> None:
        variables = {"input": {"recipientId": "1001", "title": "Hi"}}
        created = (await api.data(CREATE, variables, role="service"))["createNotification"]
        assert recent(when(created["createdAt"]))
        assert created["lastActionAt"] is None
        assert created["changeset"] == []
        assert created["excerpt"] == ""
        assert created["actor"] is None
        assert created["newActivitiesCount"] == 0
        flags = ("important", "mention", "actionRequired", "madeByAutomation", "read", "seen")
        assert [created[flag] for flag in flags] == [False] * len(flags)
        listed = await api.data("{ notifications { nodes { id } } }")
        assert listed["notifications"]["nodes"] == [{"id": created["id"]}]

    async def test_organization_is_the_tokens(self, api: Api) -> None:
        variables = {"input": {"recipientId": "1001", "title": "For org 20"}}
        created = (await api.data(CREATE, variables, as_=ALICE_ELSEWHERE, role="service"))[
            "createNotification"
        ]
        assert created["organizationId"] == "20"
        row = await api.row(int(created["id"]))
        assert row.organization_id == "20"
        # Recipient 1001 of organization 20 has it; recipient 1001 of organization 10 does not.
        query = "query($id: ID!) { notification(id: $id) { id } }"
        elsewhere = await api.data(query, {"id": created["id"]}, as_=ALICE_ELSEWHERE)
        assert elsewhere["notification"] == {"id": created["id"]}
        assert (await api.data(query, {"id": created["id"]}, as_=ALICE))["notification"] is None

    async def test_organization_cannot_be_given(self, api: Api) -> None:
        query = """
        mutation { createNotification(input: {recipientId: "1001", title: "x",
                                              organizationId: "20"}) { id } }
        """
        body = await api.gql(query, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert await api.snapshot() == []

    async def test_user_token_is_forbidden(self, api: Api) -> None:
        variables = {"input": {"recipientId": "1001", "title": "Self-made"}}
        body = await api.gql(CREATE, variables, as_=ALICE, role="user")
        assert_error(body, "FORBIDDEN")
        assert body["data"] is None
        assert await api.snapshot() == []

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("title", ""),
            ("title", "   "),
            ("title", "x" * 1001),
            ("description", "x" * 10_001),
            ("excerpt", "nul\x00byte"),
            ("newActivitiesCount", -1),
            ("recipientId", ""),
            ("recipientId", "x" * 256),
            ("projectId", "-3"),
            ("actorId", "a\x07b"),
        ],
    )
    async def test_bad_input_is_refused(self, api: Api, field: str, value: Any) -> None:
        variables = {"input": {"recipientId": "1001", "title": "ok", field: value}}
        body = await api.gql(CREATE, variables, role="service")
        assert_error(body, "BAD_USER_INPUT")
        assert await api.snapshot() == []
