"""The demo inbox: loaded once, and its grouped tasks carry the numbers a real publish gives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from notifgql.db.models import activities
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from tests.client import Api, Person
from tests.graphql.documents import COUNTS, when

DEMO = Person(DEMO_RECIPIENT, DEMO_ORGANIZATION)
TASKS = """
{ notifications(first: 200, filter: {targetType: "task"}) { nodes {
  id targetId groupKey title read newActivitiesCount firstUnreadActivityId lastActionAt
  actor { id name } changeset
} } }
"""


async def group(api: Api, key: str) -> list[Any]:
    """The activities stored for one demo group, oldest first."""
    async with api.database.read() as conn:
        query = (
            select(activities)
            .where(
                activities.c.organization_id == DEMO_ORGANIZATION,
                activities.c.group_key == key,
            )
            .order_by(activities.c.id)
        )
        return list((await conn.execute(query)).all())


async def tasks(api: Api) -> dict[str, dict[str, Any]]:
    nodes = (await api.data(TASKS, as_=DEMO))["notifications"]["nodes"]
    return {node["targetId"]: node for node in nodes}


async def activity_total(api: Api) -> int:
    async with api.database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(activities))).scalar_one())


class TestLoading:
    async def test_loads_into_an_empty_inbox_only(self, api: Api) -> None:
        assert await load_demo(api.database) is True
        rows, stored = await api.snapshot(), await activity_total(api)
        assert await load_demo(api.database) is False
        assert (await api.snapshot(), await activity_total(api)) == (rows, stored)
        counts = (await api.data(COUNTS, as_=DEMO))["notificationCounts"]
        assert (counts["total"], counts["unread"]) == (40, 15)


class TestGroupedTasks:
    async def test_read_in_between_shows_only_what_came_after(self, api: Api) -> None:
        await load_demo(api.database)
        line = (await tasks(api))["42"]
        happened = await group(api, "task:42")
        assert len(happened) == 4
        assert len({activity.actor_id for activity in happened}) == 3
        assert [activity.changeset for activity in happened if activity.changeset] == [
            [{"status": ["Open", "In progress"]}]
        ]
        # Read after the second activity: the third is the first the recipient has not read.
        assert line["groupKey"] == "task:42"
        assert (line["read"], line["newActivitiesCount"]) == (False, 2)
        assert line["firstUnreadActivityId"] == str(happened[2].id)
        assert when(line["lastActionAt"]) == happened[-1].occurred_at
        assert line["actor"] == {"id": happened[-1].actor_id, "name": happened[-1].actor_name}
        assert line["title"] == happened[-1].title

    async def test_unread_and_read_groups(self, api: Api) -> None:
        await load_demo(api.database)
        shown = await tasks(api)
        unread, read = await group(api, "task:44"), await group(api, "task:60")
        assert (shown["44"]["read"], shown["44"]["newActivitiesCount"]) == (False, len(unread))
        assert shown["44"]["firstUnreadActivityId"] == str(unread[0].id)
        assert shown["44"]["changeset"] == unread[-1].changeset
        assert (shown["60"]["read"], shown["60"]["newActivitiesCount"]) == (True, 0)
        assert shown["60"]["firstUnreadActivityId"] is None
        assert when(shown["60"]["lastActionAt"]) == read[-1].occurred_at
        assert len(read) == 3

    async def test_every_other_line_is_a_group_of_its_own(self, api: Api) -> None:
        await load_demo(api.database)
        keys = [line["groupKey"] for line in (await tasks(api)).values()]
        grouped = sorted(key for key in keys if not key.startswith("notification:"))
        assert grouped == ["task:42", "task:44", "task:60"]
        assert await activity_total(api) == 10
