"""Pagination: Relay cursors on notifications, page numbers on notificationsPage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.client import ALICE, BOB, Api
from tests.graphql.documents import LIST_IDS, PAGE, ids

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


async def connection(api: Api, **variables: Any) -> dict[str, Any]:
    data = await api.data(LIST_IDS, variables)
    return data["notifications"]  # type: ignore[no-any-return]


async def seed_inbox(api: Api) -> list[int]:
    """Eleven notifications of Alice with mixed times and ties; returns ids in list order.

    Activity times (minutes): 100..110 with two ties at 105 and rows whose last action
    moves them ahead of rows created later. Bob's rows sit in between and must never show.
    """
    rows: list[tuple[datetime, int]] = []
    for n in (101, 103, 104, 106, 108, 110):
        rows.append((minutes(n), await api.add(ALICE, created_at=minutes(n))))
        await api.add(BOB, created_at=minutes(n))
    for created, acted in ((1, 105), (2, 105), (3, 109)):
        rows.append(
            (
                minutes(acted),
                await api.add(ALICE, created_at=minutes(created), last_action_at=minutes(acted)),
            )
        )
    rows.append((minutes(102), await api.add(ALICE, created_at=minutes(102))))
    rows.append(
        (minutes(107), await api.add(ALICE, created_at=minutes(50), last_action_at=minutes(107)))
    )
    rows.sort(reverse=True)
    return [notification_id for _, notification_id in rows]


class TestNotificationsConnection:
    async def test_seed_order(self, api: Api) -> None:
        order = await seed_inbox(api)
        assert ids(await connection(api, first=200)) == order

    async def test_forward_traversal_neither_skips_nor_repeats_under_inserts(
        self, api: Api
    ) -> None:
        order = await seed_inbox(api)
        seen: list[int] = []
        appended: list[int] = []
        page = await connection(api, first=3)
        assert page["pageInfo"]["hasPreviousPage"] is False
        pages = 1
        while True:
            seen += ids(page)
            info = page["pageInfo"]
            if pages <= 3:
                # Newer than everything: lands above the reader, must not appear.
                await api.add(ALICE, created_at=minutes(500 + pages))
                # Same activity time as the last row read, so a larger id: sorts above it.
                last_read = ids(page)[-1]
                tie_at = (await api.row(last_read)).activity_at
                await api.add(ALICE, created_at=tie_at)
                # Inside the part already read: must not appear and must not shift anything.
                await api.add(ALICE, created_at=minutes(109), last_action_at=None)
                # Older than everything: below the reader, must appear at the end.
                appended.append(await api.add(ALICE, created_at=minutes(10 - pages)))
            if not info["hasNextPage"]:
                break
            page = await connection(api, first=3, after=info["endCursor"])
            assert page["pageInfo"]["hasPreviousPage"] is True
            pages += 1
            assert pages < 20, "the traversal does not end"
        assert seen == order + appended
        assert len(seen) == len(set(seen))

    async def test_backward_traversal_neither_skips_nor_repeats_under_inserts(
        self, api: Api
    ) -> None:
        order = await seed_inbox(api)
        collected: list[list[int]] = []
        prepended: list[int] = []
        page = await connection(api, last=3)
        assert page["pageInfo"]["hasNextPage"] is False
        pages = 1
        while True:
            collected.insert(0, ids(page))
            info = page["pageInfo"]
            if pages <= 3:
                # Older than everything: below the reader, must not appear.
                await api.add(ALICE, created_at=minutes(-pages))
                # Inside the part already read (the oldest rows): must not appear.
                await api.add(ALICE, created_at=minutes(102))
                # Newer than everything: above the reader, must appear at the top.
                prepended.insert(0, await api.add(ALICE, created_at=minutes(500 + pages)))
            if not info["hasPreviousPage"]:
                break
            page = await connection(api, last=3, before=info["startCursor"])
            assert page["pageInfo"]["hasNextPage"] is True
            pages += 1
            assert pages < 20, "the traversal does not end"
        seen = [notification_id for chunk in collected for notification_id in chunk]
        assert seen == prepended + order
        assert len(seen) == len(set(seen))

    async def test_backward_ties_at_the_cursor_are_not_skipped(self, api: Api) -> None:
        tie = minutes(200)
        top = await api.add(ALICE, created_at=minutes(300))
        older = await api.add(ALICE, created_at=tie)
        page = await connection(api, last=1)
        assert ids(page) == [older]
        # Same activity time, larger id: sorts just above ``older``, still unread upwards.
        newer_tie = await api.add(ALICE, created_at=tie)
        page = await connection(api, last=5, before=page["pageInfo"]["startCursor"])
        assert ids(page) == [top, newer_tie]

    async def test_page_info_forward(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(6)]
        order = added[::-1]
        first = await connection(api, first=2)
        assert ids(first) == order[0:2]
        assert first["pageInfo"]["hasNextPage"] is True
        assert first["pageInfo"]["hasPreviousPage"] is False
        middle = await connection(api, first=2, after=first["pageInfo"]["endCursor"])
        assert ids(middle) == order[2:4]
        assert middle["pageInfo"]["hasNextPage"] is True
        assert middle["pageInfo"]["hasPreviousPage"] is True
        last = await connection(api, first=2, after=middle["pageInfo"]["endCursor"])
        assert ids(last) == order[4:6]
        assert last["pageInfo"]["hasNextPage"] is False
        assert last["pageInfo"]["hasPreviousPage"] is True
        beyond = await connection(api, first=2, after=last["pageInfo"]["endCursor"])
        assert ids(beyond) == []
        assert beyond["pageInfo"]["hasNextPage"] is False
        assert beyond["pageInfo"]["startCursor"] is None
        assert beyond["pageInfo"]["endCursor"] is None

    async def test_page_info_backward(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(5)]
        order = added[::-1]
        bottom = await connection(api, last=2)
        assert ids(bottom) == order[3:5]
        assert bottom["pageInfo"]["hasPreviousPage"] is True
        assert bottom["pageInfo"]["hasNextPage"] is False
        middle = await connection(api, last=2, before=bottom["pageInfo"]["startCursor"])
        assert ids(middle) == order[1:3]
        assert middle["pageInfo"]["hasPreviousPage"] is True
        assert middle["pageInfo"]["hasNextPage"] is True
        top = await connection(api, last=2, before=middle["pageInfo"]["startCursor"])
        assert ids(top) == order[0:1]
        assert top["pageInfo"]["hasPreviousPage"] is False
        assert top["pageInfo"]["hasNextPage"] is True

    async def test_cursors_of_forward_and_backward_pages_meet(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(4)]
        order = added[::-1]
        forward = await connection(api, first=2)
        back = await connection(api, last=2, after=None, before=forward["edges"][1]["cursor"])
        assert ids(back) == order[0:1]
        resumed = await connection(api, first=3, after=forward["edges"][0]["cursor"])
        assert ids(resumed) == order[1:4]

    async def test_before_without_last_uses_default_size(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(35)]
        order = added[::-1]
        bottom = await connection(api, last=1)
        page = await connection(api, before=bottom["pageInfo"]["startCursor"])
        assert ids(page) == order[4:34]
        assert page["pageInfo"]["hasPreviousPage"] is True

    async def test_exactly_full_page_has_no_next(self, api: Api) -> None:
        for _ in range(3):
            await api.add(ALICE)
        page = await connection(api, first=3)
        assert len(ids(page)) == 3
        assert page["pageInfo"]["hasNextPage"] is False
        page = await connection(api, last=3)
        assert page["pageInfo"]["hasPreviousPage"] is False

    async def test_total_count_ignores_the_window_and_follows_the_filter(self, api: Api) -> None:
        for n in range(7):
            await api.add(ALICE, important=n % 2 == 0)
        await api.add(BOB, important=True)
        first = await connection(api, first=2)
        assert first["totalCount"] == 7
        after = await connection(api, first=2, after=first["pageInfo"]["endCursor"])
        assert after["totalCount"] == 7
        filtered = await connection(api, first=1, filter={"important": True})
        assert filtered["totalCount"] == 4
        assert (await connection(api, last=1, filter={"important": False}))["totalCount"] == 3

    async def test_cursor_paging_respects_the_filter(self, api: Api) -> None:
        important = []
        for n in range(8):
            notification_id = await api.add(ALICE, important=n % 2 == 1)
            if n % 2 == 1:
                important.append(notification_id)
        spec = {"important": True}
        first = await connection(api, first=2, filter=spec)
        rest = await connection(api, first=2, filter=spec, after=first["pageInfo"]["endCursor"])
        assert ids(first) + ids(rest) == important[::-1]
        assert rest["pageInfo"]["hasNextPage"] is False

    async def test_max_first_is_200(self, api: Api) -> None:
        for _ in range(201):
            await api.add(ALICE)
        page = await connection(api, first=200)
        assert len(ids(page)) == 200
        assert page["pageInfo"]["hasNextPage"] is True
        page = await connection(api, last=200)
        assert len(ids(page)) == 200
        assert page["pageInfo"]["hasPreviousPage"] is True


class TestNotificationsPage:
    async def test_pages_in_list_order(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(7)]
        await api.add(BOB)
        order = added[::-1]
        collected = []
        for number in (1, 2, 3):
            data = await api.data(PAGE, {"page": number, "pageSize": 3})
            page = data["notificationsPage"]
            assert page["currentPage"] == number
            assert page["pageSize"] == 3
            assert page["totalCount"] == 7
            assert page["totalPages"] == 3
            assert page["maxPageSize"] == 200
            collected.append(ids(page))
        assert collected == [order[0:3], order[3:6], order[6:7]]

    async def test_page_past_the_end_is_empty(self, api: Api) -> None:
        for _ in range(4):
            await api.add(ALICE)
        page = (await api.data(PAGE, {"page": 3, "pageSize": 2}))["notificationsPage"]
        assert page == {
            "nodes": [],
            "currentPage": 3,
            "pageSize": 2,
            "totalCount": 4,
            "totalPages": 2,
            "maxPageSize": 200,
        }

    async def test_defaults_are_page_1_of_30(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(31)]
        query = "{ notificationsPage { nodes { id } currentPage pageSize totalCount totalPages } }"
        page = (await api.data(query))["notificationsPage"]
        assert ids(page) == added[::-1][:30]
        assert (page["currentPage"], page["pageSize"]) == (1, 30)
        assert (page["totalCount"], page["totalPages"]) == (31, 2)

    async def test_explicit_null_means_the_default(self, api: Api) -> None:
        added = [await api.add(ALICE) for _ in range(31)]
        fields = "nodes { id } currentPage pageSize totalPages"
        inline = f"{{ notificationsPage(page: null, pageSize: null) {{ {fields} }} }}"
        by_variables = await api.data(PAGE, {"page": None, "pageSize": None})
        for data in (await api.data(inline), by_variables):
            page = data["notificationsPage"]
            assert ids(page) == added[::-1][:30]
            assert (page["currentPage"], page["pageSize"], page["totalPages"]) == (1, 30, 2)
        second = await api.data(PAGE, {"page": 2, "pageSize": None})
        assert ids(second["notificationsPage"]) == added[::-1][30:]

    async def test_empty_inbox_has_no_pages(self, api: Api) -> None:
        await api.add(BOB)
        page = (await api.data(PAGE, {"page": 1, "pageSize": 10}))["notificationsPage"]
        assert page["nodes"] == []
        assert (page["totalCount"], page["totalPages"]) == (0, 0)

    async def test_same_order_as_the_connection(self, api: Api) -> None:
        order = await seed_inbox(api)
        page = (await api.data(PAGE, {"page": 1, "pageSize": 200}))["notificationsPage"]
        assert ids(page) == order
        page = (await api.data(PAGE, {"page": 2, "pageSize": 4}))["notificationsPage"]
        assert ids(page) == order[4:8]

    async def test_page_size_200_is_allowed(self, api: Api) -> None:
        for _ in range(201):
            await api.add(ALICE)
        page = (await api.data(PAGE, {"page": 1, "pageSize": 200}))["notificationsPage"]
        assert len(ids(page)) == 200
        assert page["totalPages"] == 2
        page = (await api.data(PAGE, {"page": 2, "pageSize": 200}))["notificationsPage"]
        assert len(ids(page)) == 1
