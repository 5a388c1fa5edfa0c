"""Hostile bytes and edge values at the HTTP doors: clear 4xx answers, nothing changed."""

from __future__ import annotations

import asyncio
import gzip
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.client import ALICE, Api

COUNTS = "{ notificationCounts { total unseen } }"


async def raw_request(api: Api, head: bytes, body: bytes = b"", *, close: bool = False) -> bytes:
    """Send bytes no HTTP client library would; returns what the server answered."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(head + body)
        await writer.drain()
        if close:
            return b""
        async with asyncio.timeout(10):
            return await reader.read(1 << 20)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def json_of(answer: bytes) -> Any:
    return orjson.loads(answer.split(b"\r\n\r\n", 1)[1])


class TestContentEncoding:
    async def test_graphql_body_that_is_not_gzip_is_400(self, api: Api) -> None:
        response = await api.client.post(
            "/graphql",
            data=b'{"query": "{ __typename }"}',
            headers=api.auth() | {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status == 400
        body = await response.json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Content-Encoding 'gzip'" in body["errors"][0]["message"]

    async def test_graphql_body_that_is_gzip_works(self, api: Api) -> None:
        response = await api.client.post(
            "/graphql",
            data=gzip.compress(orjson.dumps({"query": COUNTS})),
            headers=api.auth() | {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status == 200
        assert (await response.json())["data"]["notificationCounts"]["total"] == 0

    async def test_crm_patch_that_is_not_gzip_is_400_and_changes_nothing(self, api: Api) -> None:
        await api.add(ALICE)
        before = await api.snapshot()
        response = await api.client.patch(
            "/notifications",
            data=b'{"operations": [{"op": "add", "path": "/*/seen", "value": null}]}',
            headers=api.auth() | {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "BAD_USER_INPUT"
        assert await api.snapshot() == before


class TestClientHangsUp:
    @pytest.mark.parametrize("path", ["/graphql", "/notifications"])
    async def test_mid_body_is_a_client_error_without_a_traceback(
        self, api: Api, path: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        method = b"POST" if path == "/graphql" else b"PATCH"
        head = (
            method + b" " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n"
            b"Authorization: Bearer " + api.token().encode() + b"\r\n\r\n"
        )
        with caplog.at_level(logging.INFO):
            await raw_request(api, head, b'{"query": ', close=True)
            door = "graphql" if path == "/graphql" else "crm"
            wanted = (
                f'notifgql_requests_total{{door="{door}",operation="anonymous",'
                'outcome="client_error"}'
            )
            async with asyncio.timeout(10):
                while wanted not in await (await api.client.get("/metrics")).text():  # noqa: ASYNC110 - polling another server's state
                    await asyncio.sleep(0.02)
        metrics = await (await api.client.get("/metrics")).text()
        assert "server_error" not in metrics
        assert not [record for record in caplog.records if record.exc_info]
        statuses = [
            getattr(r, "status", None) for r in caplog.records if r.name == "notifgql.access"
        ]
        assert 499 in statuses
        assert 500 not in statuses


class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("DELETE", "/api/v2/notifications", {"GET", "HEAD"}),
            ("POST", "/api/v2/notifications/1/read", {"PATCH"}),
            ("PUT", "/notifications", {"GET", "HEAD", "PATCH"}),
        ],
    )
    async def test_405_says_what_is_allowed(
        self, api: Api, method: str, path: str, allowed: set[str]
    ) -> None:
        response = await api.client.request(method, path, headers=api.auth())
        assert response.status == 405
        assert {part.strip() for part in response.headers["Allow"].split(",")} == allowed


class TestHostHeader:
    async def test_non_utf8_host_answers_with_relative_links(self, api: Api) -> None:
        await api.add(ALICE)
        head = (
            b"GET /api/v2/notifications?page[size]=1 HTTP/1.1\r\nHost: \xff\xfe.example\r\n"
            b"Authorization: Bearer " + api.token().encode() + b"\r\nConnection: close\r\n\r\n"
        )
        answer = await raw_request(api, head)
        assert status_of(answer) == 200, answer[:300]
        links = json_of(answer)["links"]
        assert links["first"] == "/api/v2/notifications?page%5Bnumber%5D=1&page%5Bsize%5D=1"

    @pytest.mark.parametrize(
        "host", ["evil.example/<script>", "a b", "x.example@evil", "[::1", ":8080", "-a.example"]
    )
    async def test_hostile_host_is_not_reflected(self, api: Api, host: str) -> None:
        response = await api.client.get(
            "/api/v2/notifications", headers=api.auth() | {"Host": host}
        )
        assert response.status == 200
        for link in (await response.json())["links"].values():
            assert link.startswith("/api/v2/notifications?")

    async def test_plain_host_is_used(self, api: Api) -> None:
        response = await api.client.get(
            "/api/v2/notifications", headers=api.auth() | {"Host": "inbox.example:8443"}
        )
        assert (await response.json())["links"]["first"].startswith(
            "http://inbox.example:8443/api/v2/notifications?"
        )


class TestPublicUrl:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"public_url": "https://notify.example.com/inbox/"}

    async def test_links_use_the_configured_url_whatever_the_host(self, api: Api) -> None:
        for _ in range(3):
            await api.add(ALICE)
        response = await api.client.get(
            "/api/v2/notifications?page[size]=1",
            headers=api.auth() | {"Host": "attacker.example"},
        )
        links = (await response.json())["links"]
        assert set(links) == {"first", "last", "next"}
        for link in links.values():
            assert link.startswith("https://notify.example.com/inbox/api/v2/notifications?")


def test_public_url_must_be_absolute() -> None:
    from pydantic import ValidationError

    from notifgql.settings import Settings

    for bad in ("notify.example.com", "ftp://x.example", "https://x.example/?q=1"):
        with pytest.raises(ValidationError):
            Settings(public_url=bad)


EDGE_DAYS = ["0001-01-01", "9999-12-31"]


class TestEdgeDates:
    @pytest.fixture(params=["UTC", "Europe/Zagreb", "America/New_York", "Pacific/Kiritimati"])
    def settings_overrides(self, request: pytest.FixtureRequest) -> dict[str, Any]:
        return {"rest_timezone": request.param}

    async def test_filters_at_the_ends_of_the_calendar(self, api: Api) -> None:
        acted = await api.add(ALICE, last_action_at=datetime(2026, 3, 17, 12, tzinfo=UTC))
        await api.add(ALICE)
        expected = {
            "filter[date_after]=9999-12-31": [],
            "filter[date_before]=0001-01-01": [],
            "filter[date_after]=0001-01-01": [acted],
            "filter[date_before]=9999-12-31": [acted],
            "filter[after]=9999-12-31": [],
            "filter[before]=0001-01-01": [],
            "filter[after]=9999-12-31T23:59:59-12:00": [],
            "filter[before]=0001-01-01T00:00:00%2B14:00": [],
        }
        for query, ids in expected.items():
            response = await api.client.get(f"/api/v2/notifications?{query}", headers=api.auth())
            assert response.status == 200, (query, await response.text())
            assert [int(item["id"]) for item in (await response.json())["data"]] == ids, query

    async def test_year_one_and_9999_render(self, api: Api) -> None:
        first = await api.add(ALICE, created_at=datetime(1, 1, 1, tzinfo=UTC))
        last = await api.add(
            ALICE,
            created_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            last_action_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        )
        response = await api.client.get(f"/api/v2/notifications/{last}", headers=api.auth())
        assert response.status == 200
        assert (await response.json())["data"]["attributes"]["last_action_at"].startswith("9999-")
        crm = await api.client.get("/notifications", headers=api.auth())
        items = {item["id"]: item for item in (await crm.json())["notifications"]}
        assert items[first]["created_at"] == "0001-01-01T00:00:00Z"
        assert items[last]["created_at"] == "9999-12-31T23:59:59Z"


class TestUndecodableTokens:
    @pytest.mark.parametrize(
        ("head", "status"),
        [
            (b"POST /graphql HTTP/1.1\r\nAuthorization: Bearer \xff\xfe\r\n", 200),
            (b"GET /api/v2/notifications HTTP/1.1\r\nX-Auth-Token: \xff\xfe\r\n", 401),
            (b"GET /api/v2/notifications HTTP/1.1\r\nAuthorization: Bearer \xc3\xa9.\xff\r\n", 401),
            (b"GET /notifications HTTP/1.1\r\nAuthorization: Bearer \xff\r\n", 401),
        ],
        ids=["graphql", "jsonapi-x-auth-token", "jsonapi-bearer", "crm"],
    )
    async def test_are_unauthenticated_not_500(self, api: Api, head: bytes, status: int) -> None:
        body = b'{"query": "{ notificationCounts { total } }"}'
        answer = await raw_request(
            api,
            head + b"Host: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n",
            body if head.startswith(b"POST") else b"",
        )
        assert status_of(answer) == status, answer[:300]
        assert b"UNAUTHENTICATED" in answer


class TestLogLines:
    def test_an_exception_is_one_line_without_sql_parameters(self) -> None:
        from sqlalchemy.exc import OperationalError

        from notifgql.observability import JsonFormatter

        try:
            raise OperationalError(
                "SELECT * FROM notifications WHERE token = ?", ("s3cret-token",), Exception("boom")
            )
        except OperationalError:
            record = logging.LogRecord(
                "notifgql.graphql", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
            )
        line = JsonFormatter().format(record)
        assert "\n" not in line
        entry = orjson.loads(line)
        assert entry["error"] == "Exception: boom"
        assert entry["where"].startswith("hardening/test_hostile_http.py:")
        assert "s3cret-token" not in line
        assert "Traceback" not in line


async def test_malformed_http_is_one_quiet_log_line(tmp_path: Path) -> None:
    from tests.hardening.support import Serve

    server = Serve(tmp_path, {"NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/m.db"})
    try:
        await server.ready()
        requests = [
            b"POST /graphql HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST /graphql HTTP/1.1\r\nHost: a\r\nContent-Encoding: deflate\r\n"
            b"Content-Length: 4\r\n\r\nabcd",
            b"POST /graphql HTTP/1.1\r\nHost: a\r\nContent-Encoding: br\r\n"
            b"Content-Length: 4\r\n\r\nabcd",
            b"GET /api/v2/notifications HTTP/1.1\r\nHost: a\r\nX-Auth-Token: \xff\r\n\r\n",
        ]
        for request in requests:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            await writer.drain()
            async with asyncio.timeout(10):
                answer = await reader.read(65536)
            writer.close()
            assert status_of(answer) in (400, 401), answer[:200]
        server.terminate()
        assert await server.exited(within=30) == 0
        assert "Traceback" not in server.stderr
        assert server.stderr.count("malformed request") == 3
        for line in server.stderr.splitlines():
            orjson.loads(line)  # every line is one JSON object
    finally:
        server.kill()
