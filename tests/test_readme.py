"""The README's examples, run as written against a real server on the README's own address.

Every fenced block of README.md is accounted for: a shell block the test does not know fails
`test_every_block_is_checked`. The shell blocks run with bash, from the repository's root, with a
PATH on which `notifgql` is not found until the README's own `source .venv/bin/activate` puts it
there, and with the README's own token commands. What each block prints, and the status of every
request it makes (from the server's access log), are checked against what the README says.

Where a block does not run exactly as written, and why:

- `bash scripts/serve.sh` runs with `NOTIFGQL_DATABASE_URL` pointing into a temporary directory,
  so that the examples start from a fresh demo inbox and leave the checkout's `notifgql.db` alone.
- The PostgreSQL block names a host that does not exist here: its database URL is replaced by the
  URL of a fresh database on the suite's PostgreSQL. Everything else in it runs as written.
- The identity provider blocks name providers that do not exist here: their JWKS URL is replaced
  by the URL of a local provider (tests/oidc/provider.py) whose keys sign the tokens the test
  sends, with the claims the README describes, and their environment gives key fetches a
  timeout long enough for a loaded machine. Everything else in them runs as written.
- `bash scripts/test.sh` is what runs this test, `docker` needs an engine, and `scripts/lock.sh`
  rewrites the committed locks from the package index: those blocks are checked, not run.

The examples use 127.0.0.1:8080, as the README does. If something else listens there, the test
fails saying so: it never skips.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from sqlalchemy.engine import make_url

from notifgql.auth import issue_token
from notifgql.db import migrate
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT
from notifgql.settings import DEV_JWT_SECRET
from tests.conftest import create_pg_database
from tests.hardening.support import eventually
from tests.oidc.provider import Provider
from tests.servers import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
DOCKERFILE = REPOSITORY / "Dockerfile"
JS_PACKAGE = Path(__file__).resolve().parent / "readme"
HOST, PORT = "127.0.0.1", 8080
BASE = f"http://{HOST}:{PORT}"

# The first line of each shell block, by what the block is.
TWO_COMMANDS = "bash scripts/serve.sh"
ACTIVATE = "source .venv/bin/activate"
TOKENS = "TOKEN=$(notifgql token"
GRAPHQL = "curl -s http://127.0.0.1:8080/graphql"
JSONAPI = 'curl -gs "http://127.0.0.1:8080/api/v2/notifications'
CRM = 'curl -s "http://127.0.0.1:8080/notifications'
PUBLISH = "# A service publishes one activity"
POSTGRES = "export NOTIFGQL_DATABASE_URL=postgresql+asyncpg://"
DOCKER = "docker build"
LOCKS = "bash scripts/lock.sh"
PROVIDER = "export NOTIFGQL_JWT_JWKS_URL=https://sso.example.com/"
SINGLE_TENANT = "export NOTIFGQL_JWT_JWKS_URL=https://auth.example.org/"
MULTI_TENANT = "export NOTIFGQL_JWT_JWKS_URL=https://acme.eu.login.example.net/"
SHELL_BLOCKS = (
    TWO_COMMANDS,
    ACTIVATE,
    TOKENS,
    GRAPHQL,
    JSONAPI,
    CRM,
    PUBLISH,
    POSTGRES,
    DOCKER,
    LOCKS,
    PROVIDER,
    SINGLE_TENANT,
    MULTI_TENANT,
)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int


def readme_blocks() -> list[Block]:
    """The fenced code blocks of README.md, in order."""
    text = README.read_text(encoding="utf-8")
    return [
        Block(match[1], match[2], text.count("\n", 0, match.start()) + 1)
        for match in re.finditer(r"^```(\S*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    ]


def block(start: str) -> str:
    """The text of the one shell block that begins with ``start``."""
    found = [b.text for b in readme_blocks() if b.language == "sh" and b.text.startswith(start)]
    assert len(found) == 1, f"README.md has {len(found)} shell blocks starting {start!r}"
    return found[0]


def printed(start: str) -> list[Any]:
    """The JSON documents of the ``json`` block that shows what the ``start`` block prints."""
    blocks = readme_blocks()
    (index,) = [i for i, b in enumerate(blocks) if b.language == "sh" and b.text.startswith(start)]
    assert blocks[index + 1].language == "json", f"README.md:{blocks[index].line}: no output"
    return documents(blocks[index + 1].text)


def shell_env(**extra: str) -> dict[str, str]:
    """This environment without NOTIFGQL_ settings and without `notifgql` on the PATH."""
    path = [
        directory
        for directory in os.environ.get("PATH", "").split(os.pathsep)
        if directory and not (Path(directory) / "notifgql").exists()
    ]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("NOTIFGQL_") and k != "VIRTUAL_ENV"
    }
    return env | {"PATH": os.pathsep.join(path)} | extra


def run_shell(*texts: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The blocks, one after the other, in one bash that stops at the first failure."""
    script = "set -eo pipefail\n" + "\n".join(texts)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=REPOSITORY,
        env=env or shell_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def documents(text: str) -> list[Any]:
    """The JSON documents printed one after the other (curl -s adds no separator)."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while rest := text[position:].lstrip():  # each round consumes one document
        document, position = decoder.raw_decode(text, len(text) - len(rest))
        found.append(document)
    return found


def require_free_port() -> None:
    try:
        with socket.create_server((HOST, PORT)):
            pass
    except OSError as error:
        pytest.fail(
            f"the README's examples use {HOST}:{PORT}, which is taken ({error.strerror}): "
            "stop whatever listens there and run the test again"
        )


class Background:
    """A shell command left running in its own process group, its output in files."""

    def __init__(self, command: list[str], directory: Path, env: dict[str, str]) -> None:
        self.out, self.err = directory / "stdout", directory / "stderr"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                command,
                cwd=REPOSITORY,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    async def answers(self, path: str, within: float) -> None:
        """Wait until ``path`` answers 200 on the README's address; fail if we have exited."""

        async def ok() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"exited with {self.process.returncode}:\n{self.stdout}\n{self.stderr[-3000:]}"
                )
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"{BASE}{path}", timeout=aiohttp.ClientTimeout(5)) as response,
                ):
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await eventually(ok, within=within, what=f"{path} answering on {BASE}")

    def access(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the server logged so far."""
        records = [json.loads(line) for line in self.stderr.splitlines() if line.startswith("{")]
        return [
            (r["method"], r["path"], r["status"])
            for r in records
            if r.get("logger") == "notifgql.access"
        ]

    async def requests_of(self, before: int, count: int) -> list[tuple[str, str, int]]:
        """The ``count`` requests logged after the first ``before`` ones."""

        async def logged() -> list[tuple[str, str, int]] | None:
            lines = self.access()[before:]
            return lines if len(lines) >= count else None

        return (await eventually(logged, within=15, what=f"{count} access log lines"))[:count]

    def stop(self) -> int:
        """SIGTERM to the whole group (the shell and what it started); the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        return self.process.returncode


async def graphql(query: str, token: str) -> dict[str, Any]:
    """The test's own look at the server, to check what an example did."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{BASE}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


VIEWER = issue_token(DEV_JWT_SECRET, subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION)


class TestEveryBlock:
    def test_every_block_is_checked(self) -> None:
        blocks = readme_blocks()
        shell = [b for b in blocks if b.language == "sh"]
        for b in shell:
            assert b.text.startswith(SHELL_BLOCKS), f"README.md:{b.line}: an unchecked example"
        assert sorted(b.text.split("\n")[0] for b in shell) == sorted(
            block(start).split("\n")[0] for start in SHELL_BLOCKS
        )
        assert [b.language for b in blocks if b.language not in {"sh", ""}] == [
            "text",
            "json",
            "js",
        ]
        # The one output block is the one test_publish_block compares with what its example prints.
        (output,) = [i for i, b in enumerate(blocks) if b.language == "json"]
        assert blocks[output - 1].text.startswith(PUBLISH)
        for b in blocks:
            if b.language == "":
                assert not b.text.startswith(("curl", "notifgql", "bash", "$")), b.line

    def test_no_reference_outside_the_repository(self) -> None:
        text = README.read_text(encoding="utf-8")
        assert "CONTRACT.md" not in text
        assert "steering" not in text
        assert "LICENSE" in text
        assert (REPOSITORY / "LICENSE").read_text().startswith("MIT License\n")

    def test_the_two_commands(self) -> None:
        """serve.sh is what TestAgainstTheDemo runs; test.sh is what CI runs (and this test)."""
        lines = [line.split("#")[0].strip() for line in block(TWO_COMMANDS).splitlines()]
        assert lines == ["bash scripts/serve.sh", "bash scripts/test.sh"]
        ci = (REPOSITORY / ".ci" / "run").read_text()
        assert re.search(r"^bash scripts/test\.sh\b", ci, re.MULTILINE)

    def test_command_synopsis_matches_the_help(self) -> None:
        (synopsis,) = [b.text for b in readme_blocks() if b.language == "text"]
        for line in synopsis.splitlines():
            usage = line.split("#")[0].split()
            assert usage[0] == "notifgql", line
            command = [usage[1]] if not usage[1].startswith("-") else []
            result = subprocess.run(
                [sys.executable, "-m", "notifgql.cli", *command, "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            for option in re.findall(r"--[a-z-]+", line):
                assert option in result.stdout, f"{option} of {line!r}"

    def test_docker_block_fits_the_dockerfile(self) -> None:
        """No engine here: the block's port, volume and secret are those the image needs."""
        dockerfile = DOCKERFILE.read_text()
        build, run = block(DOCKER).splitlines()
        assert build == "docker build -t notifgql ."
        assert run.startswith("docker run ")
        assert run.endswith(" notifgql")
        (port,) = re.findall(r"NOTIFGQL_PORT=(\d+)", dockerfile)
        assert f"EXPOSE {port}\n" in dockerfile
        assert f" -p {PORT}:{port} " in run
        (volume,) = re.findall(r'^VOLUME \["(.+)"\]$', dockerfile, re.MULTILINE)
        assert re.search(rf" -v [\w.-]+:{re.escape(volume)} ", run)
        # The image serves 0.0.0.0, which refuses the development secret: it must be passed.
        assert '"--host", "0.0.0.0"' in dockerfile
        assert " -e NOTIFGQL_JWT_SECRET " in run

    def test_lock_block_names_scripts_that_parse(self) -> None:
        """lock.sh rewrites the committed locks from the package index: it is parsed, not run."""
        for line in block(LOCKS).splitlines():
            command = line.split("#")[0].split()
            assert command[0] == "bash"
            assert (REPOSITORY / command[1]).exists(), command
            result = subprocess.run(
                ["bash", "-n", command[1]], cwd=REPOSITORY, capture_output=True, timeout=30
            )
            assert result.returncode == 0, result.stderr

    def test_subscription_names_exist(self) -> None:
        schema = (REPOSITORY / "schema.graphql").read_text()
        subscription = schema.split("type Subscription {", 1)[1].split("}", 1)[0]
        for name in ("notificationCreated", "notificationUpdated", "notificationCounts"):
            assert f"  {name}: " in subscription, name
        (snippet,) = [b.text for b in readme_blocks() if b.language == "js"]
        assert "subscription { notificationCounts { unread unseen } }" in snippet
        assert "connectionParams: { Authorization: `Bearer ${token}` }" in snippet


@pytest.fixture(scope="class")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Background]:
    """`bash scripts/serve.sh`, as the README says, on an empty SQLite file of its own."""
    require_free_port()
    directory = tmp_path_factory.mktemp("readme-demo")
    database = f"sqlite+aiosqlite:///{directory / 'notifgql.db'}"
    server = Background(
        ["bash", "scripts/serve.sh"], directory, shell_env(NOTIFGQL_DATABASE_URL=database)
    )
    try:
        # serve.sh may have to install the runtime lock first.
        await server.answers("/healthz", within=300)
        yield server
    finally:
        server.stop()


class TestAgainstTheDemo:
    async def test_serve_script_prints_a_working_token(self, demo: Background) -> None:
        out = demo.stdout
        assert f"GraphQL endpoint and GraphiQL: {BASE}/graphql" in out
        token = out.split("Demo token (send as 'Authorization: Bearer <token>'):\n", 1)[1]
        token = token.split("\n", 1)[0].strip()
        data = await graphql("{ notificationCounts { total } }", token)
        assert data == {"notificationCounts": {"total": 40}}
        # ... and the link that opens the demo inbox in a browser, with that same token.
        assert f"Demo inbox in your browser: {BASE}/inbox#token={token}\n" in out
        # The banner's way to get a token works from a shell that has not activated .venv.
        (command,) = re.findall(r"^Get a token: (\S+) token --recipient", out, re.MULTILINE)
        result = run_shell(f"{command} token --recipient {DEMO_RECIPIENT} --organization 810")
        assert result.returncode == 0, result.stderr
        assert jwt.decode(result.stdout.strip(), DEV_JWT_SECRET, algorithms=["HS256"])

    def test_token_commands_need_and_get_the_path(self, demo: Background) -> None:
        without = run_shell(block(TOKENS))
        assert without.returncode != 0
        assert "notifgql: command not found" in without.stderr
        result = run_shell(block(ACTIVATE), block(TOKENS), 'printf "%s\\n" "$TOKEN" "$SERVICE"')
        assert result.returncode == 0, result.stderr
        user, service = result.stdout.split()
        options = {"verify_sub": False}
        claims = jwt.decode(user, DEV_JWT_SECRET, algorithms=["HS256"], options=options)
        assert (claims["sub"], claims["org"], claims["role"]) == ("3030", "810", "user")
        assert "exp" not in claims
        claims = jwt.decode(service, DEV_JWT_SECRET, algorithms=["HS256"], options=options)
        assert (claims["sub"], claims["org"], claims["role"]) == ("billing", "810", "service")
        assert claims["exp"] - claims["iat"] == 3600

    async def test_graphql_block(self, demo: Background) -> None:
        before = await graphql(
            '{ notifications(first: 5, filter: {read: false, targetType: "task"}) '
            "{ totalCount nodes { id } } notificationCounts { total unread unseen } }",
            VIEWER,
        )
        logged = len(demo.access())
        result = run_shell(block(ACTIVATE), block(TOKENS), block(GRAPHQL))
        assert result.returncode == 0, result.stderr
        assert await demo.requests_of(logged, 3) == [("POST", "/graphql", 200)] * 3
        listed, changed, created = documents(result.stdout)

        page = listed["data"]["notifications"]
        assert page["totalCount"] == before["notifications"]["totalCount"] > 0
        assert [edge["node"]["id"] for edge in page["edges"]] == [
            node["id"] for node in before["notifications"]["nodes"]
        ]
        for edge in page["edges"]:
            assert edge["cursor"]
            assert set(edge["node"]) == {"id", "title", "createdAt", "actor"}
            assert edge["node"]["actor"]["name"]
        assert set(page["pageInfo"]) == {"hasNextPage", "endCursor"}
        assert listed["data"]["notificationCounts"] == before["notificationCounts"]

        read = changed["data"]["readNotification"]
        assert (read["id"], read["read"]) == ("12", True)
        assert read["readAt"]
        assert changed["data"]["markSeen"]["count"] in (0, 1)
        now = await graphql('{ notification(id: "12") { read seen } }', VIEWER)
        assert now == {"notification": {"read": True, "seen": True}}

        new = created["data"]["createNotification"]
        assert new["createdAt"]
        shown = await graphql(
            f'{{ notification(id: "{new["id"]}") {{ title targetType targetId important }} }}',
            VIEWER,
        )
        assert shown == {
            "notification": {
                "title": "Invoice paid",
                "targetType": "invoice",
                "targetId": "77",
                "important": True,
            }
        }

    async def test_subscription_block(self, demo: Background) -> None:
        """The JavaScript example, run by node with the graphql-ws package it names."""
        node = javascript_runner()
        (snippet,) = [b.text for b in readme_blocks() if b.language == "js"]
        # The README leaves `token` and `sink` to the reader; node 20 needs a WebSocket.
        prelude = (
            'import WebSocket from "ws";\n'
            "globalThis.WebSocket ??= WebSocket;\n"
            "const token = process.env.TOKEN;\n"
            "const sink = {\n"
            "  next(value) { console.log(JSON.stringify(value)); client.dispose(); },\n"
            "  error(error) { console.error(String(error?.reason ?? error)); process.exit(1); },\n"
            "  complete() {},\n"
            "};\n"
        )
        expected = await graphql("{ notificationCounts { unread unseen } }", VIEWER)
        logged = len(demo.access())
        process = await asyncio.create_subprocess_exec(
            node,
            "--input-type=module",
            "-e",
            prelude + snippet,
            cwd=JS_PACKAGE,
            env=os.environ | {"TOKEN": VIEWER},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr.decode()
        lines = stdout.decode().splitlines()
        assert json.loads(lines[0]) == {"data": expected}
        # A WebSocket is logged when it closes: wait for it, so that it is not taken for a
        # request of the next example.
        assert await demo.requests_of(logged, 1) == [("GET", "/graphql", 101)]

    async def test_jsonapi_block(self, demo: Background) -> None:
        logged = len(demo.access())
        result = run_shell(block(ACTIVATE), block(TOKENS), block(JSONAPI))
        assert result.returncode == 0, result.stderr
        one = "/api/v2/notifications/12"
        assert await demo.requests_of(logged, 5) == [
            ("GET", "/api/v2/notifications", 200),
            ("GET", one, 200),
            ("PATCH", f"{one}/read", 200),
            ("PATCH", f"{one}/dismiss", 200),
            ("PATCH", f"{one}/undismiss", 200),
        ]
        listed, shown, read, dismissed, undismissed = documents(result.stdout)
        assert 0 < len(listed["data"]) <= 10
        for item in listed["data"]:
            assert item["type"] == "notifications"
            assert item["attributes"]["target_type"] == "task"
        assert {"first", "last"} <= set(listed["links"])
        assert shown["data"]["id"] == "12"
        assert read["data"]["attributes"]["read"] is True
        assert dismissed["data"]["attributes"]["dismissed"] is True
        assert undismissed["data"]["attributes"]["dismissed"] is False

    async def test_crm_block(self, demo: Background) -> None:
        logged = len(demo.access())
        result = run_shell(block(ACTIVATE), block(TOKENS), block(CRM))
        assert result.returncode == 0, result.stderr
        assert await demo.requests_of(logged, 2) == [
            ("GET", "/notifications", 200),
            ("PATCH", "/notifications", 204),
        ]
        (listed,) = documents(result.stdout)  # the PATCH answers 204, with no body
        assert (listed["page"], listed["per_page"]) == (1, 50)
        assert listed["count"] == len(listed["notifications"]) > 0
        ids = [str(item["id"]) for item in listed["notifications"]]
        for item in listed["notifications"]:
            assert item["seen_at"] is None
        data = await graphql(
            f"{{ notifications(filter: {{ids: {json.dumps(ids)}}}) "
            "{ nodes { actionRequired seen } } notificationCounts { unseen } }",
            VIEWER,
        )
        # Listed as unseen and needing action; the PATCH then marked everything seen.
        assert data["notifications"]["nodes"] == [{"actionRequired": True, "seen": True}] * len(ids)
        assert data["notificationCounts"] == {"unseen": 0}

    async def test_publish_block(self, demo: Background) -> None:
        logged = len(demo.access())
        result = run_shell(block(ACTIVATE), block(TOKENS), block(PUBLISH))
        assert result.returncode == 0, result.stderr
        assert await demo.requests_of(logged, 2) == [("POST", "/graphql", 200)] * 2
        assert documents(result.stdout) == printed(PUBLISH)
        # Each other recipient got a line of its own, grouped under the same key.
        for recipient in ("3031", "3032"):
            token = issue_token(
                DEV_JWT_SECRET, subject=recipient, organization_id=DEMO_ORGANIZATION
            )
            shown = await graphql(
                "{ notifications { nodes { groupKey newActivitiesCount firstUnreadActivityId } } }",
                token,
            )
            assert shown["notifications"]["nodes"] == [
                {"groupKey": "task:42", "newActivitiesCount": 1, "firstUnreadActivityId": "11"}
            ]
        # The retry the key is for: the same answer, and 3030's line is as it was.
        again = run_shell(block(ACTIVATE), block(TOKENS), block(PUBLISH))
        assert again.returncode == 0, again.stderr
        assert documents(again.stdout) == printed(PUBLISH)

    def test_docker_health_check_asks_readyz(self, demo: Background) -> None:
        """The image's HEALTHCHECK command, run here against the server and against nothing."""
        dockerfile = DOCKERFILE.read_text().replace("\\\n", " ")
        (command,) = re.findall(r"^HEALTHCHECK .*? CMD (.+)$", dockerfile, re.MULTILINE)
        assert "/readyz" in command
        env = shell_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        check = ["sh", "-c", command]
        healthy = subprocess.run(check, env=env | {"NOTIFGQL_PORT": str(PORT)}, timeout=30)
        assert healthy.returncode == 0
        nobody = subprocess.run(
            check, env=env | {"NOTIFGQL_PORT": str(free_port())}, capture_output=True, timeout=30
        )
        assert nobody.returncode != 0


def javascript_runner() -> str:
    """node, with the pinned graphql-ws installed beside the script (once, cached)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("NOTIFGQL_REQUIRE_NODE") == "1":
            pytest.fail("node and npm are needed for the README's JavaScript example")
        pytest.skip("node and npm are needed for the README's JavaScript example")
    wanted = json.loads((JS_PACKAGE / "package.json").read_text())["dependencies"]
    installed = JS_PACKAGE / "node_modules" / "graphql-ws" / "package.json"
    if (
        not installed.exists()
        or json.loads(installed.read_text())["version"] != wanted["graphql-ws"]
    ):
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_PACKAGE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return node


class TestPostgresBlock:
    async def test_runs_with_only_its_database_url_replaced(
        self, postgres_admin_url: str, tmp_path: Path
    ) -> None:
        url = make_url(await create_pg_database(postgres_admin_url))
        # The suite's own cluster trusts local connections, so the README's password works.
        url = url.set(password=url.password or "secret")
        text = block(POSTGRES)
        (written,) = re.findall(r"^export NOTIFGQL_DATABASE_URL=(\S+)$", text, re.MULTILINE)
        assert "db.internal" in written
        text = text.replace(written, url.render_as_string(hide_password=False))
        require_free_port()
        script = "set -eo pipefail\n" + block(ACTIVATE) + "\n" + text
        server = Background(["bash", "-c", script], tmp_path, shell_env())
        try:
            await server.answers("/readyz", within=120)
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"{BASE}/api/v2/notifications", headers={"X-Auth-Token": VIEWER}
                ) as response,
            ):
                # The block's own secret is in force: a development token is refused.
                assert response.status == 401
        finally:
            server.stop()
        # from `notifgql migrate`
        assert f"database at revision {migrate.head_revision()}" in server.stderr
        shown = url.render_as_string(hide_password=True)
        assert f"notifgql on {shown}, 1 worker(s)" in server.stdout
        assert f"GraphQL endpoint and GraphiQL: http://0.0.0.0:{PORT}/graphql" in server.stdout
        password = str(url.password)
        assert f":{password}@" not in server.stdout + server.stderr


def namespaced_tenant() -> dict[str, Any]:
    """The namespaced claim the README's multi-tenant example describes, as it writes it."""
    (written,) = re.findall(
        r'`("https://acme\.example\.com/claims": \{.*?\}\})`', README.read_text()
    )
    claims: dict[str, Any] = json.loads("{" + written + "}")
    return claims


# Per provider block: the claims its prose says the tokens carry (besides iss, aud, exp and
# sub), whether it names the scope in scope or scp, and the organization they end in.
PROVIDER_SHAPES = {
    PROVIDER: ({"org": "810"}, "scope", "810"),
    SINGLE_TENANT: ({}, "scp", "1"),
    MULTI_TENANT: (namespaced_tenant(), "scope", "42"),
}


class TestIdentityProviderBlocks:
    @pytest.mark.parametrize("start", list(PROVIDER_SHAPES), ids=["generic", "single", "multi"])
    async def test_runs_with_only_its_jwks_url_replaced(self, start: str, tmp_path: Path) -> None:
        text = block(start)
        exported = dict(re.findall(r"^export (NOTIFGQL_\w+)=(\S+)$", text, re.MULTILINE))
        provider = Provider()
        kid = provider.add_key("ES256")
        await provider.start()
        script = (
            block(ACTIVATE) + "\n" + text.replace(exported["NOTIFGQL_JWT_JWKS_URL"], provider.url)
        )
        require_free_port()
        env = shell_env(
            NOTIFGQL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'notifgql.db'}",
            # Long enough for a loaded CI machine (the local provider shares this process).
            NOTIFGQL_JWT_JWKS_TIMEOUT="30",
        )
        server = Background(["bash", "-c", "set -eo pipefail\n" + script], tmp_path, env)
        try:
            await server.answers("/readyz", within=120)
            own, scope_claim, organization = PROVIDER_SHAPES[start]
            now = int(time.time())
            base = {"iss": exported["NOTIFGQL_JWT_ISSUER"], "iat": now, "exp": now + 300} | own
            if "NOTIFGQL_JWT_AUDIENCE" in exported:
                base["aud"] = exported["NOTIFGQL_JWT_AUDIENCE"]
            scope = exported["NOTIFGQL_JWT_SERVICE_SCOPE"]
            service = provider.token(kid, base | {"sub": "billing", scope_claim: f"openid {scope}"})
            user = provider.token(kid, base | {"sub": "3030"})
            stranger = provider.token(kid, base | {"sub": "3030", "iss": "https://elsewhere/"})

            created = await graphql(
                'mutation { createNotification(input: {recipientId: "3030", title: "Hi"}) { id } }',
                service,
            )
            listed = await graphql("{ notifications { nodes { id organizationId } } }", user)
            refused = await answer("{ notificationCounts { total } }", stranger)
        finally:
            server.stop()
            await provider.close()
        assert listed["notifications"]["nodes"] == [
            {"id": created["createNotification"]["id"], "organizationId": organization}
        ]
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert provider.fetches == 1
        assert "Traceback" not in server.stderr


async def answer(query: str, token: str) -> dict[str, Any]:
    """The whole GraphQL answer, errors included."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{BASE}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    return body
