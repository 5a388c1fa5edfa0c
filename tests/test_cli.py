"""The notifgql command, run as a real subprocess: token, export-schema, migrate."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import jwt
import pytest

from tests.client import ALICE, Api
from tests.conftest import JWT_SECRET, create_pg_database

REPOSITORY = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPOSITORY / "schema.graphql"
SECRET = "cli-test-secret-that-is-long-enough-to-sign-with"


def notifgql(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m notifgql.cli`` with a clean NOTIFGQL_ environment plus ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFGQL_")}
    environment |= {"NOTIFGQL_JWT_SECRET": SECRET} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "notifgql.cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def decode(token: str, secret: str = SECRET) -> dict[str, object]:
    return jwt.decode(token, secret, algorithms=["HS256"], options={"verify_sub": False})


class TestToken:
    def test_prints_one_line_that_decodes_to_the_claims(self, tmp_path: Path) -> None:
        before = int(time.time())
        result = notifgql("token", "--recipient", "1001", "--organization", "10", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith("\n")
        lines = result.stdout.splitlines()
        assert len(lines) == 1
        assert lines[0] == lines[0].strip()
        claims = decode(lines[0])
        assert (claims["sub"], claims["org"], claims["role"]) == ("1001", "10", "user")
        assert "exp" not in claims
        assert before <= int(str(claims["iat"])) <= int(time.time())
        assert result.stderr == ""

    def test_service_role_and_ttl(self, tmp_path: Path) -> None:
        result = notifgql(
            "token",
            "--recipient",
            "billing",
            "--organization",
            "20",
            "--role",
            "service",
            "--ttl",
            "600",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        (line,) = result.stdout.splitlines()
        claims = decode(line)
        assert (claims["sub"], claims["org"], claims["role"]) == ("billing", "20", "service")
        assert int(str(claims["exp"])) - int(str(claims["iat"])) == 600

    def test_any_string_ids_are_kept_exactly(self, tmp_path: Path) -> None:
        recipient, organization = "auth0|ünïcødé-7", " 0f0c6b1e-2b8e-4d2a-9a51-3f1d5c9e7a10"
        result = notifgql(
            "token", "--recipient", recipient, "--organization", organization, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        claims = decode(result.stdout.strip())
        assert (claims["sub"], claims["org"]) == (recipient, organization)

    @pytest.mark.parametrize(
        ("args", "said"),
        [
            (["--recipient", "", "--organization", "10"], "--recipient must not be empty"),
            (
                ["--recipient", "1", "--organization", "9" * 256],
                "--organization is longer than 255 characters",
            ),
            (
                ["--recipient", "a\tb", "--organization", "10"],
                "--recipient contains a control character",
            ),
        ],
    )
    def test_a_bad_id_is_named_on_one_line(
        self, tmp_path: Path, args: list[str], said: str
    ) -> None:
        result = notifgql("token", *args, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, "")
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"notifgql: {said}")

    def test_signed_with_the_configured_secret(self, tmp_path: Path) -> None:
        result = notifgql("token", "--recipient", "1", "--organization", "1", cwd=tmp_path)
        (line,) = result.stdout.splitlines()
        with pytest.raises(jwt.InvalidSignatureError):
            decode(line, "a-different-secret-that-is-also-long-enough")
        assert jwt.get_unverified_header(line)["alg"] == "HS256"

    @pytest.mark.parametrize(
        "args",
        [
            ["--recipient", "1001", "--organization", ""],
            ["--recipient", "x" * 256, "--organization", "10"],
            ["--recipient", "bell\x07", "--organization", "10"],
            ["--recipient", "1001", "--organization", "10", "--ttl", "0"],
            ["--recipient", "1001", "--organization", "10", "--role", "admin"],
            ["--organization", "10"],
        ],
    )
    def test_bad_arguments_print_no_token(self, tmp_path: Path, args: list[str]) -> None:
        result = notifgql("token", *args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.strip()

    async def test_token_is_accepted_by_the_api(self, api: Api, tmp_path: Path) -> None:
        notification_id = await api.add(ALICE, title="Via the CLI token")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "notifgql.cli",
            "token",
            "--recipient",
            "1001",
            "--organization",
            "10",
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("NOTIFGQL_")}
            | {"NOTIFGQL_JWT_SECRET": JWT_SECRET},
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await process.communicate()
        assert process.returncode == 0
        token = stdout.decode().strip()
        status, body = await api.gql_raw(
            "{ notifications { nodes { id title } } }",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert status == 200
        assert body == {
            "data": {
                "notifications": {
                    "nodes": [{"id": str(notification_id), "title": "Via the CLI token"}]
                }
            }
        }


class TestExportSchema:
    def test_equals_the_committed_schema(self, tmp_path: Path) -> None:
        result = notifgql("export-schema", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), (
            "schema.graphql is stale: run `notifgql export-schema > schema.graphql`"
        )

    def test_has_every_contract_root_field(self, tmp_path: Path) -> None:
        sdl = notifgql("export-schema", cwd=tmp_path).stdout
        for field in (
            "notification(id: ID!): Notification\n",
            "notifications(filter: NotificationFilter",
            "notificationsPage(filter: NotificationFilter",
            "notificationCounts(filter: NotificationFilter",
            "readNotification(id: ID!): Notification!",
            "unreadNotification(id: ID!): Notification!",
            "dismissNotification(id: ID!): Notification!",
            "undismissNotification(id: ID!): Notification!",
            "markSeen(ids: [ID!]!): MarkResult!",
            "markAllSeen(filter: NotificationFilter",
            "markAllRead(filter: NotificationFilter",
            "createNotification(input: CreateNotificationInput!): Notification!",
        ):
            assert field in sdl, field


class TestMigrate:
    def test_creates_the_table_in_a_fresh_sqlite_file(self, tmp_path: Path) -> None:
        database = tmp_path / "fresh" / "notifgql.db"
        env = {"NOTIFGQL_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        result = notifgql("migrate", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert database.exists()
        with sqlite3.connect(database) as conn:
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            columns = {row[1] for row in conn.execute("PRAGMA table_info(notifications)")}
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.close()
        assert {"notifications", "alembic_version"} <= tables
        assert {
            "id",
            "organization_id",
            "recipient_id",
            "title",
            "read_at",
            "seen_at",
            "dismissed_at",
            "last_action_at",
            "created_at",
            "activity_at",
        } <= columns
        assert revision
        assert revision in result.stderr
        # A second run finds nothing to do.
        again = notifgql("migrate", cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stderr

    def test_creates_the_table_in_a_fresh_postgresql_database(
        self, postgres_admin_url: str, tmp_path: Path
    ) -> None:
        url = asyncio.run(create_pg_database(postgres_admin_url))
        result = notifgql("migrate", cwd=tmp_path, env={"NOTIFGQL_DATABASE_URL": url})
        assert result.returncode == 0, result.stderr

        async def tables() -> set[str]:
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                rows = await conn.fetch(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            finally:
                await conn.close()
            return {row["table_name"] for row in rows}

        assert {"notifications", "alembic_version"} <= asyncio.run(tables())
