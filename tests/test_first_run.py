"""What a new user meets first, against `notifgql serve --demo` as a real process: the
front page, quiet readiness probes and a demo inbox whose ids agree with each other."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from notifgql.auth import issue_token
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT
from tests.hardening.support import Serve, eventually

SECRET = "first-run-test-secret-that-is-long-enough"
ALEMBIC_SETUP_LINES = ("Context impl", "Will assume")


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Serve]:
    directory = tmp_path_factory.mktemp("first-run")
    server = Serve(
        directory,
        {
            "NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'notifgql.db'}",
            "NOTIFGQL_JWT_SECRET": SECRET,
        },
        "--demo",
    )
    try:
        await server.ready()
        yield server
    finally:
        server.kill()


def log_records(server: Serve) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]


class TestFrontPage:
    async def test_json_for_programs(self, demo: Serve) -> None:
        async with aiohttp.ClientSession() as http:
            for accept in (None, "application/json", "*/*", "text/html;q=0.5, */*"):
                headers = {"Accept": accept} if accept else {}
                async with http.get(f"{demo.url}/", headers=headers) as response:
                    assert response.status == 200, accept
                    assert response.content_type == "application/json", accept
                    body = await response.json()
                assert body == {
                    "name": "notifgql",
                    "graphql": "/graphql",
                    "graphiql": "/graphql",
                    "rest": {"jsonapi": "/api/v2/notifications", "crm": "/notifications"},
                    "openapi": {"jsonapi": "/api/v2/openapi.json", "crm": "/openapi.json"},
                    "health": {"live": "/healthz", "ready": "/readyz"},
                    "metrics": "/metrics",
                    "inbox": "/inbox",
                }

    async def test_html_for_browsers(self, demo: Serve) -> None:
        browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{demo.url}/", headers={"Accept": browser}) as response,
        ):
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
        for path in (
            "/graphql",
            "/api/v2/notifications",
            "/notifications",
            "/api/v2/openapi.json",
            "/openapi.json",
            "/healthz",
            "/readyz",
            "/inbox",
        ):
            assert f'href="{path}"' in page, path
        assert "GraphiQL" in page

    async def test_every_link_answers(self, demo: Serve) -> None:
        """The paths the page names exist: 401 without a token, 200 for the probes and the
        OpenAPI documents."""
        async with aiohttp.ClientSession() as http:
            for path, status in [
                ("/healthz", 200),
                ("/readyz", 200),
                ("/metrics", 200),
                ("/api/v2/notifications", 401),
                ("/notifications", 401),
                ("/api/v2/openapi.json", 200),
                ("/openapi.json", 200),
                ("/inbox", 200),
            ]:
                async with http.get(f"{demo.url}{path}") as response:
                    assert response.status == status, path


class TestDemoInboxLink:
    async def test_serve_prints_an_inbox_link_with_a_working_token(self, demo: Serve) -> None:
        (link,) = re.findall(r"^Demo inbox in your browser: (\S+)$", demo.stdout, re.MULTILINE)
        assert link.startswith(f"{demo.url}/inbox#token=")
        token = link.split("#token=", 1)[1]
        async with aiohttp.ClientSession() as http:
            async with http.get(link.split("#", 1)[0]) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                assert '<notifgql-inbox id="inbox"' in await response.text()
            async with http.post(
                f"{demo.url}/graphql",
                json={"query": "{ notificationCounts { total unread } }"},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                body = await response.json()
        assert body == {"data": {"notificationCounts": {"total": 40, "unread": 15}}}


class TestReadinessLogs:
    async def test_probes_log_only_their_access_line(self, demo: Serve) -> None:
        before = log_records(demo)
        setup_lines = [r for r in before if r["message"].startswith(ALEMBIC_SETUP_LINES)]
        # The migration at start-up still logs Alembic's lines: only the probe is quiet.
        assert setup_lines, "the start-up migration logged nothing"
        assert any(r["message"].startswith("Running upgrade") for r in before)
        probes = 5
        async with aiohttp.ClientSession() as http:
            for _ in range(probes):
                async with http.get(f"{demo.url}/readyz") as response:
                    assert response.status == 200
                    assert (await response.json())["status"] == "ok"

        async def logged() -> list[dict[str, Any]] | None:
            after = log_records(demo)[len(before) :]
            ready = [r for r in after if r.get("path") == "/readyz"]
            return after if len(ready) >= probes else None

        after = await eventually(logged, within=10, what="the probes' access lines")
        assert [r["logger"] for r in after] == ["notifgql.access"] * len(after)


class TestDemoInbox:
    async def test_parents_and_projects_agree(self, demo: Serve) -> None:
        token = issue_token(SECRET, subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION)
        query = (
            "{ notifications(first: 200) { totalCount nodes { id targetType targetId "
            "targetTitle parentType parentId parentTitle projectId } } }"
        )
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{demo.url}/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            assert response.status == 200
            body = await response.json()
        nodes = body["data"]["notifications"]["nodes"]
        assert body["data"]["notifications"]["totalCount"] == len(nodes) == 40
        tasks = {node["targetId"]: node for node in nodes if node["targetType"] == "task"}
        todos = [node for node in nodes if node["targetType"] == "todo"]
        assert tasks
        assert todos
        for node in nodes:
            assert node["parentId"] is not None, node
            assert node["projectId"] is not None, node
        for task in tasks.values():
            assert task["parentType"] == "project", task
            assert task["parentId"] == task["projectId"], task
        projects = {task["projectId"]: task["parentTitle"] for task in tasks.values()}
        for task in tasks.values():
            assert projects[task["projectId"]] == task["parentTitle"], task
        for todo in todos:
            assert todo["parentType"] == "task", todo
            parent = tasks[todo["parentId"]]
            assert parent["targetTitle"] == todo["parentTitle"], todo
            assert parent["projectId"] == todo["projectId"], todo
