"""Request ids, masked errors, access logs, metrics, health and CORS."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from notifgql.notifications import queries
from notifgql.observability import JsonFormatter
from tests.client import ALICE, Api

COUNTS = "query Badge { notificationCounts { total } }"


class TestRequestId:
    async def test_generated_when_absent(self, api: Api) -> None:
        response = await api.client.post("/graphql", json={"query": COUNTS}, headers=api.auth())
        assert len(response.headers["X-Request-ID"]) == 32

    async def test_honoured_when_sent(self, api: Api) -> None:
        headers = api.auth() | {"X-Request-ID": "client-chosen-42"}
        response = await api.client.get("/api/v2/notifications", headers=headers)
        assert response.headers["X-Request-ID"] == "client-chosen-42"

    async def test_unsafe_value_is_replaced(self, api: Api) -> None:
        headers = api.auth() | {"X-Request-ID": "evil\tvalue with spaces"}
        response = await api.client.get("/healthz", headers=headers)
        assert response.headers["X-Request-ID"] != "evil\tvalue with spaces"


@pytest.fixture
def explode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the counts query fail the way a driver bug would, with SQL in its message."""

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError('SELECT secret FROM notifications -- asyncpg: relation "x"')

    monkeypatch.setattr(queries, "counts", broken)
    monkeypatch.setattr(queries, "count", broken)


class TestMaskedErrors:
    @pytest.mark.usefixtures("explode")
    async def test_graphql_masks_and_logs_with_the_request_id(
        self, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = api.auth() | {"X-Request-ID": "trace-me-1"}
        response = await api.client.post("/graphql", json={"query": COUNTS}, headers=headers)
        text = await response.text()
        assert "SELECT" not in text
        assert "asyncpg" not in text
        body = json.loads(text)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert body["errors"][0]["message"] == "Internal server error"
        logged = [r for r in caplog.records if r.exc_info and "SELECT secret" in str(r.exc_info[1])]
        assert logged
        assert json.loads(JsonFormatter().format(logged[0]))["request_id"] == "trace-me-1"

    @pytest.mark.usefixtures("explode")
    @pytest.mark.parametrize("path", ["/api/v2/notifications", "/notifications"])
    async def test_rest_masks(self, api: Api, path: str) -> None:
        response = await api.client.get(path, headers=api.auth())
        assert response.status == 500
        text = await response.text()
        assert "SELECT" not in text
        assert "INTERNAL_SERVER_ERROR" in text


class TestAccessLog:
    async def test_one_json_line_per_request(
        self, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="notifgql.access")
        headers = api.auth() | {"X-Request-ID": "line-1"}
        await api.client.post(
            "/graphql", json={"query": COUNTS, "operationName": "Badge"}, headers=headers
        )
        (record,) = [r for r in caplog.records if r.name == "notifgql.access"]
        line = json.loads(JsonFormatter().format(record))
        assert line["method"] == "POST"
        assert line["path"] == "/graphql"
        assert line["operation"] == "Badge"
        assert line["status"] == 200
        assert line["viewer"] == {"org": ALICE.organization_id, "sub": ALICE.recipient_id}
        assert line["duration_ms"] >= 0
        assert line["request_id"] == "line-1"


class TestMetrics:
    async def test_counts_requests_by_door_operation_and_outcome(self, api: Api) -> None:
        await api.client.post(
            "/graphql", json={"query": COUNTS, "operationName": "Badge"}, headers=api.auth()
        )
        await api.client.get("/api/v2/notifications", headers=api.auth())
        await api.client.get("/notifications?seen=maybe", headers=api.auth())
        response = await api.client.get("/metrics")
        assert response.status == 200
        text = await response.text()
        assert 'notifgql_requests_total{door="graphql",operation="Badge",outcome="ok"} 1.0' in text
        assert (
            'notifgql_requests_total{door="jsonapi",operation="anonymous",outcome="ok"} 1.0' in text
        )
        assert (
            'notifgql_requests_total{door="crm",operation="anonymous",outcome="client_error"} 1.0'
            in text
        )
        assert 'notifgql_request_duration_seconds_bucket{door="graphql",le="+Inf"} 1.0' in text
        assert "notifgql_db_pool_connections_in_use" in text
        assert "notifgql_subscriptions_open 0.0" in text

    async def test_graphql_errors_count_as_error_outcome(self, api: Api) -> None:
        await api.client.post(
            "/graphql",
            json={"query": "query Bad { nope }", "operationName": "Bad"},
            headers=api.auth(),
        )
        text = await (await api.client.get("/metrics")).text()
        assert 'notifgql_requests_total{door="graphql",operation="Bad",outcome="error"} 1.0' in text


class TestHealth:
    async def test_healthz(self, api: Api) -> None:
        response = await api.client.get("/healthz")
        assert response.status == 200

    async def test_readyz_when_migrated(self, api: Api) -> None:
        response = await api.client.get("/readyz")
        assert response.status == 200
        assert (await response.json())["revision"] is not None


class TestCors:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cors_origins": "https://app.example.com", "cors_allow_credentials": True}

    async def test_preflight_for_allowed_origin(self, api: Api) -> None:
        response = await api.client.options(
            "/graphql",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert "POST" in response.headers["Access-Control-Allow-Methods"]

    async def test_preflight_for_other_origin_is_refused(self, api: Api) -> None:
        response = await api.client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers

    async def test_actual_request_is_labelled(self, api: Api) -> None:
        headers = api.auth() | {"Origin": "https://app.example.com"}
        response = await api.client.post("/graphql", json={"query": COUNTS}, headers=headers)
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
        assert response.headers["Vary"] == "Origin"

    async def test_other_origin_gets_no_cors_headers(self, api: Api) -> None:
        headers = api.auth() | {"Origin": "https://evil.example"}
        response = await api.client.post("/graphql", json={"query": COUNTS}, headers=headers)
        assert "Access-Control-Allow-Origin" not in response.headers


class TestCorsWildcard:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cors_origins": "*", "cors_allow_credentials": True}

    async def test_any_origin_without_credentials(self, api: Api) -> None:
        headers = api.auth() | {"Origin": "https://anywhere.example"}
        response = await api.client.post("/graphql", json={"query": COUNTS}, headers=headers)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
