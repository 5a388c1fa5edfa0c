"""Fixtures for tests in a real headless Chromium: one browser per session, a page per test.

Chromium comes from the OS (Debian's `chromium`, which scripts/bootstrap.sh installs). Without
it the browser tests skip, unless NOTIFGQL_REQUIRE_BROWSER=1 (as in CI), where they fail.
Screenshots go to tests/artifacts/browser/<test>/<step>.png, or under NOTIFGQL_ARTIFACTS
(in place of tests/artifacts) when that is set.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.chrome import Browser, Page, find_chromium

TESTS = Path(__file__).resolve().parent.parent


def artifacts_root() -> Path:
    """Where test artifacts go: NOTIFGQL_ARTIFACTS, else tests/artifacts (not in git)."""
    given = os.environ.get("NOTIFGQL_ARTIFACTS")
    return Path(given) if given else TESTS / "artifacts"


def chromium() -> str:
    """The browser to run, or a skip (a failure with NOTIFGQL_REQUIRE_BROWSER=1)."""
    found = find_chromium()
    if found is None:
        reason = "Chromium is needed for the browser tests (apt-get install chromium)"
        if os.environ.get("NOTIFGQL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and NOTIFGQL_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    launched = await Browser.launch(chromium())
    try:
        yield launched
    finally:
        await launched.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh tab; its screenshots go to <artifacts>/browser/<test name>/."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    directory = artifacts_root() / "browser" / name
    shutil.rmtree(directory, ignore_errors=True)
    opened = await browser.new_page(directory)
    try:
        yield opened
    finally:
        await opened.close()
