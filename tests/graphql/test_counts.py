"""notificationCounts: badge numbers, before and after a series of changes."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api
from tests.graphql.documents import (
    COUNTS,
    CREATE,
    DISMISS,
    MARK_ALL_READ,
    MARK_ALL_SEEN,
    MARK_SEEN,
    READ,
    UNREAD,
)

EARLIER = datetime(2025, 1, 1, tzinfo=UTC)
ZERO = {"total": 0, "unread": 0, "unseen": 0, "important": 0, "mentions": 0, "actionRequired": 0}


async def counts(api: Api, filter: dict[str, object] | None = None) -> dict[str, int]:
    data = await api.data(COUNTS, {"filter": filter})
    return data["notificationCounts"]  # type: ignore[no-any-return]


class TestNotificationCounts:
    async def test_empty_inbox_is_all_zero(self, api: Api) -> None:
        await api.add(BOB, important=True)
        await api.add(ALICE_ELSEWHERE, mention=True)
        assert await counts(api) == ZERO

    async def test_each_number_counts_its_state(self, api: Api) -> None:
        await api.add(ALICE, important=True, mention=True)
        await api.add(ALICE, action_required=True, seen_at=EARLIER)
        await api.add(ALICE, read_at=EARLIER, seen_at=EARLIER, important=True)
        await api.add(ALICE, dismissed_at=EARLIER, mention=True, action_required=True)
        await api.add(BOB, important=True, mention=True, action_required=True)
        assert await counts(api) == {
            "total": 4,
            "unread": 3,
            "unseen": 2,
            "important": 2,
            "mentions": 2,
            "actionRequired": 2,
        }

    async def test_follow_a_series_of_mutations(self, api: Api) -> None:
        a = await api.add(ALICE, important=True)
        b = await api.add(ALICE, mention=True)
        c = await api.add(ALICE, action_required=True)
        d = await api.add(ALICE, important=True, target_type="Task")
        await api.add(BOB)
        expected = {
            "total": 4,
            "unread": 4,
            "unseen": 4,
            "important": 2,
            "mentions": 1,
            "actionRequired": 1,
        }
        assert await counts(api) == expected

        await api.data(MARK_SEEN, {"ids": [str(a), str(b)]})
        expected |= {"unseen": 2}
        assert await counts(api) == expected

        await api.data(READ, {"id": str(c)})
        expected |= {"unread": 3, "unseen": 1}
        assert await counts(api) == expected

        await api.data(READ, {"id": str(c)})  # idempotent: nothing moves
        assert await counts(api) == expected

        await api.data(UNREAD, {"id": str(c)})
        expected |= {"unread": 4}  # still seen
        assert await counts(api) == expected

        await api.data(DISMISS, {"id": str(b)})
        assert await counts(api) == expected  # dismissing changes no badge number
        assert (await counts(api, {"dismissed": False}))["total"] == 3

        await api.data(MARK_ALL_READ, {"filter": {"targetType": "task"}})
        expected |= {"unread": 3, "unseen": 0}
        assert await counts(api) == expected
        assert (await api.row(d)).read_at is not None

        created = await api.data(
            CREATE,
            {"input": {"recipientId": "1001", "title": "New", "mention": True}},
            role="service",
        )
        assert created["createNotification"]["recipientId"] == "1001"
        expected |= {"total": 5, "unread": 4, "unseen": 1, "mentions": 2}
        assert await counts(api) == expected

        await api.data(MARK_ALL_SEEN)
        expected |= {"unseen": 0}
        assert await counts(api) == expected

        await api.data(MARK_ALL_READ)
        expected |= {"unread": 0}
        assert await counts(api) == expected

    async def test_filter_narrows_every_number(self, api: Api) -> None:
        await api.add(ALICE, important=True, mention=True, target_type="Task")
        await api.add(ALICE, important=True, read_at=EARLIER, seen_at=EARLIER, target_type="task")
        await api.add(ALICE, important=False, action_required=True, target_type="Deal")
        await api.add(ALICE, important=True, project_id=5)
        assert await counts(api, {"targetType": "TASK"}) == {
            "total": 2,
            "unread": 1,
            "unseen": 1,
            "important": 2,
            "mentions": 1,
            "actionRequired": 0,
        }
        assert await counts(api, {"important": False}) == {
            "total": 1,
            "unread": 1,
            "unseen": 1,
            "important": 0,
            "mentions": 0,
            "actionRequired": 1,
        }
        assert (await counts(api, {"projectId": "5"}))["total"] == 1
        assert await counts(api, {"ids": []}) == ZERO

    async def test_other_inboxes_count_their_own(self, api: Api) -> None:
        await api.add(ALICE, important=True)
        await api.add(BOB)
        await api.add(BOB)
        await api.add(ALICE_ELSEWHERE, mention=True)
        bob = (await api.data(COUNTS, as_=BOB))["notificationCounts"]
        assert bob == ZERO | {"total": 2, "unread": 2, "unseen": 2}
        elsewhere = (await api.data(COUNTS, as_=ALICE_ELSEWHERE))["notificationCounts"]
        assert elsewhere == ZERO | {"total": 1, "unread": 1, "unseen": 1, "mentions": 1}
        assert await counts(api) == ZERO | {"total": 1, "unread": 1, "unseen": 1, "important": 1}
