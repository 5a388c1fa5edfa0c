"""NOTIFGQL_ENV=production refuses to start without a strong JWT secret, and starts with one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from notifgql.auth import issue_token
from notifgql.settings import DEV_JWT_SECRET, MIN_PRODUCTION_SECRET_LENGTH
from tests.hardening.support import Serve

STRONG = "p" * MIN_PRODUCTION_SECRET_LENGTH


@pytest.fixture
def serving() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for process in started:
        process.kill()


def production(tmp_path: Path, secret: str | None) -> dict[str, str]:
    env = {
        "NOTIFGQL_ENV": "production",
        "NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}",
    }
    if secret is not None:
        env["NOTIFGQL_JWT_SECRET"] = secret
    return env


class TestRefuses:
    @pytest.mark.parametrize(
        ("secret", "reason"),
        [
            (None, "NOTIFGQL_JWT_SECRET is not set"),
            (DEV_JWT_SECRET, "NOTIFGQL_JWT_SECRET is not set"),
            ("", "NOTIFGQL_JWT_SECRET is shorter than 32 characters"),
            ("short", "NOTIFGQL_JWT_SECRET is shorter than 32 characters"),
            (STRONG[:-1], "NOTIFGQL_JWT_SECRET is shorter than 32 characters"),
        ],
        ids=["missing", "development-default", "empty", "short", "one-too-short"],
    )
    async def test_exits_2_saying_why(
        self, tmp_path: Path, serving: list[Serve], secret: str | None, reason: str
    ) -> None:
        server = Serve(tmp_path, production(tmp_path, secret))
        serving.append(server)
        assert await server.exited(within=60) == 2
        assert f"refusing to start in production: {reason}" in server.stderr
        assert "Traceback" not in server.stderr
        assert server.stdout == ""
        # Refused before touching anything: no database file was created.
        assert not (tmp_path / "notifgql.db").exists()

    async def test_development_accepts_the_default(
        self, tmp_path: Path, serving: list[Serve]
    ) -> None:
        env = production(tmp_path, None) | {"NOTIFGQL_ENV": "development"}
        server = Serve(tmp_path, env)
        serving.append(server)
        await server.ready()

    async def test_unknown_environment_is_refused(
        self, tmp_path: Path, serving: list[Serve]
    ) -> None:
        server = Serve(tmp_path, production(tmp_path, STRONG) | {"NOTIFGQL_ENV": "prod"})
        serving.append(server)
        assert await server.exited(within=60) == 2
        # One line naming the variable, without echoing its value.
        (line,) = server.stderr.splitlines()
        assert line.startswith("notifgql: invalid setting NOTIFGQL_ENV: "), line
        assert "prod'" not in line


class TestStarts:
    async def test_with_a_long_secret_and_signs_with_it(
        self, tmp_path: Path, serving: list[Serve]
    ) -> None:
        server = Serve(tmp_path, production(tmp_path, STRONG))
        serving.append(server)
        await server.ready()
        query = {"query": "{ notificationCounts { total } }"}
        good = issue_token(STRONG, subject="1001", organization_id="10")
        other = issue_token("q" * 40, subject="1001", organization_id="10")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            async with session.post(
                f"{server.url}/graphql", json=query, headers={"Authorization": f"Bearer {good}"}
            ) as response:
                assert response.status == 200
                assert await response.json() == {"data": {"notificationCounts": {"total": 0}}}
            async with session.post(
                f"{server.url}/graphql", json=query, headers={"Authorization": f"Bearer {other}"}
            ) as response:
                body = await response.json()
                assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        server.terminate()
        assert await server.exited(within=15) == 0
