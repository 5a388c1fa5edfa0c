"""`notifgql serve` and `migrate` as real processes: each start-up failure is one clear line
on stderr and a non-zero exit, no password is ever printed, and a public address needs a
JWT secret of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from notifgql.cli import redact
from notifgql.hosts import is_loopback
from notifgql.settings import DEV_JWT_SECRET
from tests.conftest import create_pg_database
from tests.hardening.support import Serve, clean_environment
from tests.servers import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
SECRET = "serve-cli-test-secret-that-is-long-enough"
PASSWORD = "pw-that-must-never-show"


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m notifgql.cli ARGS`` with only the given NOTIFGQL_ variables."""
    return subprocess.run(
        [sys.executable, "-m", "notifgql.cli", *args],
        cwd=cwd,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}"


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line ``result`` wrote on stderr (no traceback, nothing else)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestPort:
    def test_in_use_is_one_line_and_touches_nothing(self, tmp_path: Path) -> None:
        with socket.create_server(("127.0.0.1", 0)) as busy:
            port = busy.getsockname()[1]
            result = run(
                "serve",
                "--port",
                str(port),
                cwd=tmp_path,
                NOTIFGQL_DATABASE_URL=sqlite(tmp_path),
            )
        assert result.returncode == 1
        assert only_line(result) == (
            f"notifgql: cannot listen on 127.0.0.1:{port}: "
            "the port is already in use (is another server running?)"
        )
        assert result.stdout == ""
        # The port is taken before any other work: no database was created.
        assert not (tmp_path / "notifgql.db").exists()

    @pytest.mark.parametrize("port", ["70000", "65536", "0", "-1"])
    def test_out_of_range_argument(self, tmp_path: Path, port: str) -> None:
        result = run("serve", "--port", port, cwd=tmp_path, NOTIFGQL_DATABASE_URL=sqlite(tmp_path))
        assert result.returncode == 2
        assert only_line(result) == f"notifgql: port {port} is out of range (1-65535)"
        assert not (tmp_path / "notifgql.db").exists()

    def test_out_of_range_setting(self, tmp_path: Path) -> None:
        result = run("serve", cwd=tmp_path, NOTIFGQL_PORT="70000")
        assert result.returncode == 2
        line = only_line(result)
        assert line.startswith("notifgql: invalid setting NOTIFGQL_PORT: "), line
        assert "65535" in line


class TestUnreachableDatabase:
    @pytest.mark.parametrize("command", ["serve", "migrate"])
    @pytest.mark.parametrize(
        ("where", "reason"),
        [("127.0.0.1:{free}", "connection refused"), ("db.invalid:5432", "unknown host name")],
        ids=["refused", "unknown-host"],
    )
    def test_one_line_without_the_password(
        self, tmp_path: Path, command: str, where: str, reason: str
    ) -> None:
        host = where.format(free=free_port())
        url = f"postgresql+asyncpg://notifgql:{PASSWORD}@{host}/notifgql"
        result = run(
            command,
            cwd=tmp_path,
            NOTIFGQL_DATABASE_URL=url,
            NOTIFGQL_JWT_SECRET=SECRET,
            NOTIFGQL_DB_TIMEOUT="3",
        )
        assert result.returncode == 1
        assert only_line(result) == (
            f"notifgql: cannot use the database postgresql+asyncpg://notifgql:***@{host}"
            f"/notifgql: {reason}"
        )
        assert result.stdout == ""
        assert PASSWORD not in result.stdout + result.stderr

    def test_demo_without_migrating_is_one_line(self, tmp_path: Path) -> None:
        # The demo loads through the engine, whose refusals are already classified.
        host = f"127.0.0.1:{free_port()}"
        url = f"postgresql+asyncpg://notifgql:{PASSWORD}@{host}/notifgql"
        result = run(
            "serve",
            "--demo",
            cwd=tmp_path,
            NOTIFGQL_DATABASE_URL=url,
            NOTIFGQL_JWT_SECRET=SECRET,
            NOTIFGQL_AUTO_MIGRATE="false",
            NOTIFGQL_DB_TIMEOUT="3",
        )
        assert result.returncode == 1
        line = only_line(result)
        assert line.startswith(
            f"notifgql: cannot use the database postgresql+asyncpg://notifgql:***@{host}/notifgql: "
        ), line
        assert PASSWORD not in result.stdout + result.stderr

    @pytest.mark.parametrize("command", ["serve", "migrate"])
    def test_missing_database_is_one_line(
        self, postgres_admin_url: str, tmp_path: Path, command: str
    ) -> None:
        url = make_url(postgres_admin_url).set(database="notifgql_never_created")
        result = run(
            command,
            cwd=tmp_path,
            NOTIFGQL_DATABASE_URL=url.render_as_string(hide_password=False),
            NOTIFGQL_JWT_SECRET=SECRET,
        )
        assert result.returncode == 1
        assert only_line(result) == (
            f"notifgql: cannot use the database {url.render_as_string(hide_password=True)}: "
            'database "notifgql_never_created" does not exist'
        )

    def test_invalid_url_setting_does_not_echo_it(self, tmp_path: Path) -> None:
        url = f"mysql://notifgql:{PASSWORD}@db.invalid/notifgql"
        result = run("migrate", cwd=tmp_path, NOTIFGQL_DATABASE_URL=url)
        assert result.returncode == 2
        line = only_line(result)
        assert line.startswith("notifgql: invalid setting NOTIFGQL_DATABASE_URL: "), line
        assert PASSWORD not in result.stdout + result.stderr


class TestRedaction:
    def test_redact_hides_only_the_password(self) -> None:
        assert redact(f"postgresql+asyncpg://u:{PASSWORD}@h:5432/db") == (
            "postgresql+asyncpg://u:***@h:5432/db"
        )
        assert redact("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
        assert redact("sqlite+aiosqlite:///notifgql.db") == "sqlite+aiosqlite:///notifgql.db"

    async def test_banner_and_logs_hide_the_password(
        self, postgres_admin_url: str, tmp_path: Path
    ) -> None:
        url = make_url(await create_pg_database(postgres_admin_url))
        # The suite's own cluster trusts every local connection, whatever the password;
        # a server given through NOTIFGQL_TEST_POSTGRES_URL keeps the password it needs.
        if url.password is None:
            url = url.set(password=PASSWORD)
        password = str(url.password)
        server = Serve(
            tmp_path,
            {
                "NOTIFGQL_DATABASE_URL": url.render_as_string(hide_password=False),
                "NOTIFGQL_JWT_SECRET": SECRET,
            },
        )
        try:
            await server.ready()
            server.terminate()
            assert await server.exited(within=30) == 0
        finally:
            server.kill()
        shown = url.render_as_string(hide_password=True)
        assert ":***@" in shown
        assert f"notifgql on {shown}, 1 worker(s)" in server.stdout
        assert password not in server.stdout
        assert password not in server.stderr


class TestPublicAddress:
    @pytest.mark.parametrize("host", ["0.0.0.0", "::"])  # noqa: S104 - what is refused
    @pytest.mark.parametrize("secret", [None, DEV_JWT_SECRET], ids=["unset", "the-default"])
    def test_refused_with_the_development_secret(
        self, tmp_path: Path, host: str, secret: str | None
    ) -> None:
        env = {"NOTIFGQL_DATABASE_URL": sqlite(tmp_path)}
        if secret is not None:
            env["NOTIFGQL_JWT_SECRET"] = secret
        result = run("serve", "--host", host, "--port", str(free_port()), cwd=tmp_path, **env)
        assert result.returncode == 2
        line = only_line(result)
        assert line.startswith(f"notifgql: refusing to serve on {host}: "), line
        assert "public development JWT secret" in line
        assert "set NOTIFGQL_JWT_SECRET" in line
        assert result.stdout == ""
        assert not (tmp_path / "notifgql.db").exists()

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    async def test_loopback_needs_no_secret(self, tmp_path: Path, host: str) -> None:
        server = Serve(tmp_path, {"NOTIFGQL_DATABASE_URL": sqlite(tmp_path)}, "--host", host)
        try:
            await server.ready()
        finally:
            server.kill()

    async def test_public_address_serves_with_a_secret(self, tmp_path: Path) -> None:
        env = {"NOTIFGQL_DATABASE_URL": sqlite(tmp_path), "NOTIFGQL_JWT_SECRET": SECRET}
        server = Serve(tmp_path, env, "--host", "0.0.0.0")  # noqa: S104 - allowed with a secret
        try:
            await server.ready()
        finally:
            server.kill()

    @pytest.mark.parametrize(
        ("host", "loopback"),
        [
            ("127.0.0.1", True),
            ("127.8.9.10", True),
            ("::1", True),
            ("localhost", True),
            ("LOCALHOST", True),
            ("0.0.0.0", False),  # noqa: S104
            ("::", False),
            ("", False),
            ("10.1.2.3", False),
            ("db.invalid", False),
        ],
    )
    def test_is_loopback(self, host: str, loopback: bool) -> None:
        assert is_loopback(host) is loopback


class TestVersionAndHelp:
    def test_version_is_the_package_metadata(self, tmp_path: Path) -> None:
        result = run("--version", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        declared = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
        assert declared["version"] == version("notifgql")
        assert result.stdout == f"notifgql {declared['version']}\n"

    @pytest.mark.parametrize(
        "command", [[], ["serve"], ["migrate"], ["token"], ["export-schema"]], ids=str
    )
    def test_help_reads_as_plain_text(self, tmp_path: Path, command: list[str]) -> None:
        result = run(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: notifgql")
        assert "``" not in result.stdout
        if not command:
            for name in ("serve", "migrate", "token", "export-schema", "--version"):
                assert name in result.stdout


def test_migrate_still_reports_its_revision(tmp_path: Path) -> None:
    result = run("migrate", cwd=tmp_path, NOTIFGQL_DATABASE_URL=sqlite(tmp_path))
    assert result.returncode == 0, result.stderr
    assert only_line(result).startswith("database at revision ")
