"""GET /inbox and /static/...: served without a token, with the right types and a strict CSP,
and shipped in the package. (tests/browser/test_inbox.py drives them in a browser.)"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from notifgql import inbox
from tests.client import Api

REPOSITORY = Path(__file__).resolve().parent.parent
STATIC = REPOSITORY / "src" / "notifgql" / "static"
DOCS = REPOSITORY / "docs" / "inbox.md"


def assert_strict_headers(headers: object) -> None:
    policy = headers["Content-Security-Policy"]  # type: ignore[index]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/notifgql-inbox.js", "text/javascript"),
        ("/static/inbox.js", "text/javascript"),
        ("/static/inbox.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
        ("/favicon.ico", "image/svg+xml"),
        ("/inbox", "text/html"),
    ],
)
async def test_served_without_a_token_with_their_type(
    api: Api, path: str, content_type: str
) -> None:
    response = await api.client.get(path)
    assert response.status == 200
    assert response.content_type == content_type
    assert response.charset == "utf-8"
    assert_strict_headers(response.headers)
    body = await response.read()
    name = "inbox.html" if path == "/inbox" else path.rsplit("/", 1)[1]
    name = "favicon.svg" if name == "favicon.ico" else name
    assert body == (STATIC / name).read_bytes()
    # Unchanged files are answered 304 from the browser's copy.
    again = await api.client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""


@pytest.mark.parametrize(
    "path",
    [
        "/static/inbox.html",
        "/static/missing.js",
        "/static/..%2Finbox.py",
        "/static/%2e%2e/app.py",
        "/static/../app.py",
        "/static/",
    ],
)
async def test_nothing_else_under_static(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.status == 404
    assert "Traceback" not in await response.text()


async def test_the_page_has_nothing_inline_and_nothing_foreign(api: Api) -> None:
    page = await (await api.client.get("/inbox")).text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert scripts == ["", ""]
    assert re.findall(r'<script type="module" src="([^"]+)"', page) == [
        inbox.COMPONENT_PATH,
        "/static/inbox.js",
    ]
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert '<notifgql-inbox id="inbox" endpoint="/graphql">' in page


def test_the_component_is_one_module_with_nothing_foreign() -> None:
    source = (STATIC / "notifgql-inbox.js").read_text(encoding="utf-8")
    # No imports at all: one file, no build step, no dependency.
    assert not re.search(r"^\s*import\b|\bimport\(", source, re.MULTILINE)
    assert not re.search(r"https?://", source)
    assert 'customElements.define("notifgql-inbox", NotifgqlInbox)' in source
    # What it asks the server for is the documented surface.
    for name in (
        "notificationCounts",
        "notifications(filter: $filter, first: ",
        "inboxChanges(since: $since)",
        "readNotification",
        "markAllRead",
        "dismissNotification",
        "snoozeNotification",
        "completeAction",
        "markSeen",
        "graphql-transport-ws",
        "connection_init",
    ):
        assert name in source, name


def test_the_docs_name_every_part_event_and_custom_property() -> None:
    source = (STATIC / "notifgql-inbox.js").read_text(encoding="utf-8")
    docs = DOCS.read_text(encoding="utf-8")
    parts = set()
    for value in re.findall(r'part(?:=|: )"([a-z -]+)"', source):
        parts.update(value.split())
    for value in re.findall(r'part: [^"\n]*"([a-z -]+)" : "([a-z -]+)"', source):
        for alternative in value:
            parts.update(alternative.split())
    assert {"bell", "badge", "item", "item-unread", "tab-badge", "action-primary"} <= parts
    for part in sorted(parts):
        assert f"`{part}`" in docs, part
    events = set(re.findall(r'"(notifgql:[a-z]+)"', source))
    assert {"notifgql:open", "notifgql:read", "notifgql:action", "notifgql:error"} <= events
    for event in sorted(events):
        assert f"`{event}`" in docs, event
    properties = set(re.findall(r"(--notifgql-[a-z-]+):", source))
    assert len(properties) >= 10
    for custom in sorted(properties):
        assert f"`{custom}`" in docs, custom


def test_the_files_are_in_the_wheel() -> None:
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["notifgql"]
    files = sorted(STATIC.iterdir())
    assert {path.name for path in files} >= {*inbox.STATIC_FILES, "inbox.html"}
    for path in files:
        relative = path.relative_to(REPOSITORY / "src" / "notifgql").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
