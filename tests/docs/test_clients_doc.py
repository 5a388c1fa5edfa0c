"""docs/clients.md: every example runs or is checked, exactly as written.

Each fenced block is one of these, and a block of any other kind fails:

- `js` blocks start with a comment naming their file. `*.mjs` files are Node programs: they all
  run in one node process (tests/docs/run.mjs imports them in the page's order) against a real
  server holding the demo inbox, with NOTIFGQL_URL and NOTIFGQL_TOKEN set as the page says, and
  what each prints must be the `text` block that follows it. `src/*.js` files are Relay sources:
  relay-compiler compiles them with the page's configuration and schema.graphql, and the Relay
  program then runs against what it generated.
- the `json` blocks are relay-compiler's configuration (used as written) and Apollo iOS's
  apollo-codegen-config.json (parsed; it must name schema.graphql); the `kotlin` block is the
  Apollo Kotlin Gradle configuration (it must name schema.graphql and a package).
- `graphql` blocks are operations for the mobile clients: they must validate against
  schema.graphql.
- the `sh` block installs exactly the packages tests/docs/package.json pins.

The npm packages are pinned in tests/docs/package.json and package-lock.json and installed once
with `npm ci` (cached in tests/docs/node_modules). Without node and npm the Node tests skip,
unless NOTIFGQL_REQUIRE_NODE=1 (as in CI), where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from graphql import OperationDefinitionNode, build_schema, parse, validate

from notifgql import appkeys
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from tests.client import Api, Person
from tests.docs.blocks import DOCS, REPOSITORY, Block, blocks

PAGE = DOCS / "clients.md"
SCHEMA = REPOSITORY / "schema.graphql"
PACKAGE = Path(__file__).resolve().parent
RUNNER = PACKAGE / "run.mjs"


def page_blocks() -> list[Block]:
    found = blocks(PAGE)
    for block in found:
        assert block.language in {"js", "text", "json", "kotlin", "graphql", "sh"}, block.where
    return found


def file_name(block: Block) -> str:
    match = re.fullmatch(r"// (\S+)", block.text.splitlines()[0])
    assert match, f"{block.where}: a js block starts with a comment naming its file"
    return match[1]


def programs() -> list[tuple[str, str, str]]:
    """(file name, source, what it prints) of each Node program, in the page's order."""
    found: list[tuple[str, str, str]] = []
    all_blocks = page_blocks()
    for index, block in enumerate(all_blocks):
        if block.language == "text":
            previous = all_blocks[index - 1]
            assert previous.language == "js", f"{block.where}: output of no program"
            assert file_name(previous).endswith(".mjs"), block.where
        if block.language != "js" or not file_name(block).endswith(".mjs"):
            continue
        following = all_blocks[index + 1]
        assert following.language == "text", f"{block.where}: no output shown"
        found.append((file_name(block), block.text, following.text))
    return found


def relay_sources() -> dict[str, str]:
    return {
        file_name(block): block.text
        for block in page_blocks()
        if block.language == "js" and file_name(block).startswith("src/")
    }


def json_block(key: str) -> Any:
    (found,) = [
        json.loads(block.text)
        for block in page_blocks()
        if block.language == "json" and key in json.loads(block.text)
    ]
    return found


def test_every_block_is_known() -> None:
    kinds: dict[str, int] = {}
    for block in page_blocks():
        kinds[block.language] = kinds.get(block.language, 0) + 1
    names = [name for name, _, _ in programs()]
    assert names == ["apollo.mjs", "urql.mjs", "sync.mjs", "persisted.mjs", "relay.mjs"]
    assert list(relay_sources()) == ["src/Inbox.js"]
    json_blocks = [b for b in page_blocks() if b.language == "json"]
    assert len(json_blocks) == 2  # relay.config.json and apollo-codegen-config.json
    assert kinds == {"sh": 1, "js": 6, "text": 5, "json": 2, "graphql": 1, "kotlin": 1}


def test_install_line_names_the_pinned_packages() -> None:
    (install,) = [b.text for b in page_blocks() if b.language == "sh"]
    words = install.split()
    assert words[:2] == ["npm", "install"]
    pinned = json.loads((PACKAGE / "package.json").read_text())["dependencies"]
    assert sorted(words[2:]) == sorted(pinned)
    lock = json.loads((PACKAGE / "package-lock.json").read_text())
    for name, version in pinned.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_apollo_ios_config_names_the_schema() -> None:
    config = json_block("schemaNamespace")
    assert config["input"]["schemaSearchPaths"] == ["schema.graphql"]
    # The operations are searched apart from the schema, which is a .graphql file too.
    (operations,) = config["input"]["operationSearchPaths"]
    assert operations.endswith("/**/*.graphql")
    assert config["schemaNamespace"].isidentifier()
    assert set(config["output"]) == {"schemaTypes", "operations"}


def test_apollo_kotlin_config_names_the_schema() -> None:
    (gradle,) = [b.text for b in page_blocks() if b.language == "kotlin"]
    assert re.search(r'^  id\("com\.apollographql\.apollo"\) version "4\.\d+\.\d+"$', gradle, re.M)
    assert re.search(r'^  service\("notifgql"\) \{$', gradle, re.MULTILINE)
    assert re.search(r'packageName\.set\("[a-z][a-z.]*"\)', gradle)
    assert 'schemaFiles.from(file("schema.graphql"))' in gradle
    assert gradle.count("{") == gradle.count("}")


def test_mobile_operations_validate_against_the_schema() -> None:
    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    (operations,) = [b for b in page_blocks() if b.language == "graphql"]
    document = parse(operations.text)
    assert validate(schema, document) == []
    kinds = [
        definition.operation.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    assert kinds == ["query", "mutation", "subscription"]


def tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node and npm are needed to run the client guide's examples"
        if os.environ.get("NOTIFGQL_REQUIRE_NODE") == "1":
            pytest.fail(f"{reason}, and NOTIFGQL_REQUIRE_NODE=1")
        pytest.skip(reason)
    return node, npm


def installed() -> bool:
    pinned = json.loads((PACKAGE / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        manifest = PACKAGE / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def node() -> str:
    """node, with the pinned packages installed in tests/docs (once, cached)."""
    node, npm = tools()
    if not installed():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {PACKAGE}:\n{result.stdout}\n{result.stderr}")
        assert installed()
    return node


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory laid out as the page says, with the pinned packages and the schema."""
    (tmp_path / "node_modules").symlink_to(PACKAGE / "node_modules", target_is_directory=True)
    shutil.copy(SCHEMA, tmp_path / "schema.graphql")
    config = json_block("src")
    (tmp_path / "relay.config.json").write_text(json.dumps(config))
    for name, source in relay_sources().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    return tmp_path


def test_relay_compiler_compiles_the_page(node: str, project: Path) -> None:
    compiled = compile_relay(node, project)
    generated = sorted(path.name for path in (project / "src" / "__generated__").iterdir())
    assert generated == [
        "InboxPaginationQuery.graphql.js",
        "InboxQuery.graphql.js",
        "Inbox_notifications.graphql.js",
    ], compiled
    query = (project / "src" / "__generated__" / "InboxQuery.graphql.js").read_text()
    assert '"notificationCounts"' in query
    fragment = (project / "src" / "__generated__" / "Inbox_notifications.graphql.js").read_text()
    # The connection and the refetch query that usePaginationFragment needs.
    assert '"connection"' in fragment
    assert '"name": "__Inbox_notifications_connection"' in fragment
    assert '"refetch"' in fragment


def compile_relay(node: str, project: Path) -> str:
    compiler = PACKAGE / "node_modules" / "relay-compiler" / "cli.js"
    result = subprocess.run(
        [node, str(compiler)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"relay-compiler failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


async def test_every_program_prints_what_the_page_shows(
    api: Api, server: TestServer, node: str, project: Path
) -> None:
    await asyncio.to_thread(compile_relay, node, project)
    assert await load_demo(api.database)
    shown = programs()
    for name, source, _ in shown:
        (project / name).write_text(source)
    token = api.token(Person(DEMO_RECIPIENT, DEMO_ORGANIZATION))
    env = os.environ | {"NOTIFGQL_URL": str(server.make_url("/graphql")), "NOTIFGQL_TOKEN": token}
    # A subprocess of the event loop: the server under test runs on this same loop.
    process = await asyncio.create_subprocess_exec(
        node,
        str(RUNNER),
        *[str(project / name) for name, _, _ in shown],
        cwd=project,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    printed = re.split(r"^=== .*\n", stdout.decode(), flags=re.MULTILINE)[1:]
    assert len(printed) == len(shown), stdout.decode()
    for (name, _, expected), output in zip(shown, printed, strict=True):
        assert output == expected, f"{name} printed:\n{output}"
    # The persisted-query link sent a hash the server stored with its text.
    stored = server.app[appkeys.PERSISTED_QUERIES]._entries
    assert [sha for sha, entry in stored.items() if "query Total" in entry.query]
