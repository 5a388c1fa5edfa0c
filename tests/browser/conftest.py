"""Browser fixtures: one headless Chromium per session, a fresh tab per test, and the app
with the demo inbox loaded.

Without Chromium these tests are skipped, unless NOTIFGQL_REQUIRE_BROWSER=1 (as in CI),
where a missing browser fails the run. `apt-get install -y chromium` provides it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.demo import load_demo
from notifgql.settings import Settings
from tests.browser.chrome import ARTIFACTS, Browser, Page, find_chromium
from tests.conftest import empty

REPOSITORY = Path(__file__).resolve().parents[2]
INBOX_DOC = REPOSITORY / "docs" / "inbox.md"
EXAMPLE_PATH = "/embedding-example"


def documented_embedding() -> str:
    """The page docs/inbox.md shows, exactly as written there."""
    text = INBOX_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```html\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/inbox.md should show exactly one embedding example"
    return str(blocks[0])


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("NOTIFGQL_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (NOTIFGQL_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    started = await Browser.start(executable)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    artifacts = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)
    async with browser.page(artifacts) as tab:
        yield tab


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """The real app with the demo inbox, and the documented embedding at EXAMPLE_PATH."""
    app = create_app(settings)
    example = documented_embedding()

    async def embedding(_request: web.Request) -> web.Response:
        return web.Response(text=example, content_type="text/html")

    app.router.add_get(EXAMPLE_PATH, embedding)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        database = app[appkeys.DATABASE]
        await empty(database)
        assert await load_demo(database)
        yield test_server
    finally:
        await test_server.close()
