"""GraphiQL over HTTP: our page, the files it loads (served here, never from a CDN), and the
page that says how to install those files when they are missing."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import notifgql.graphiql
from notifgql.auth import issue_token
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from notifgql.graphiql import OWN_FILES, VENDOR_DIR, VENDOR_FILES
from tests.client import Api
from tests.conftest import JWT_SECRET

REPOSITORY = Path(__file__).resolve().parent.parent
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TOKEN_HINT = '{"Authorization": "Bearer &lt;token&gt;"}'


class Page(HTMLParser):
    """What a GraphiQL page loads, and its scripts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.config: dict[str, Any] | None = None
        self._in_config = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_config = attributes.get("id") == "notifgql-graphiql-config"
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(str(attributes["href"]))

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config = json.loads(data)
            self._in_config = False

    @property
    def assets(self) -> list[str]:
        sources = [str(script["src"]) for script in self.scripts if script.get("src")]
        return [*self.stylesheets, *sources]


def require_installed() -> None:
    missing = [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]
    if missing:
        pytest.fail(
            f"GraphiQL's files are not installed ({missing}): bash scripts/graphiql-assets.sh"
        )


async def graphiql_page(api: Api) -> tuple[int, dict[str, str], str]:
    response = await api.client.get("/graphql", headers=BROWSER)
    return response.status, dict(response.headers), await response.text()


class TestThePage:
    async def test_opens_on_the_demo_inbox_with_the_token_hint(self, api: Api) -> None:
        require_installed()
        status, headers, text = await graphiql_page(api)
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>GraphiQL · notifgql</title>" in text
        assert TOKEN_HINT in text
        assert "notifgql serve --demo" in text
        assert (
            f"notifgql token --recipient {DEMO_RECIPIENT} --organization {DEMO_ORGANIZATION}"
            in text
        )
        page = Page(text)
        assert page.config is not None
        query = page.config["defaultQuery"]
        assert "notifications(first: 5)" in query
        assert "notificationCounts" in query
        assert json.loads(page.config["defaultHeaders"]) == {"Authorization": "Bearer <token>"}
        # No token of anyone's in the page: the hint and the headers say <token>.
        assert not re.search(r"eyJ[\w-]+\.", text)

    async def test_runs_no_inline_script_and_says_so(self, api: Api) -> None:
        require_installed()
        _, headers, text = await graphiql_page(api)
        page = Page(text)
        for script in page.scripts:
            assert script.get("src") or script.get("type") == "application/json", script
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in headers["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self'"
        assert policy["default-src"] == "'none'"
        assert policy["connect-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"

    async def test_names_no_address_but_its_own(self, api: Api) -> None:
        require_installed()
        _, _, text = await graphiql_page(api)
        page = Page(text)
        assert re.findall(r"\b(?:https?|wss?)://", text) == []
        assert len(page.assets) == len(VENDOR_FILES) + len(OWN_FILES)
        for asset in page.assets:
            # Relative to /graphql, so that a path prefix in front of it keeps working.
            assert asset.startswith("static/graphiql/"), asset

    async def test_every_file_it_loads_is_served(self, api: Api) -> None:
        require_installed()
        _, _, text = await graphiql_page(api)
        for asset in Page(text).assets:
            name, version = asset.removeprefix("static/graphiql/").split("?v=")
            response = await api.client.get(f"/{html.unescape(asset)}")
            body = await response.read()
            assert response.status == 200, asset
            expected = "text/css" if name.endswith(".css") else "text/javascript"
            assert response.headers["Content-Type"] == f"{expected}; charset=utf-8", asset
            assert response.headers["Cache-Control"] == "public, max-age=604800"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            folder = VENDOR_DIR if name in VENDOR_FILES else Path(notifgql.graphiql.__file__).parent
            assert body == (folder / name).read_bytes(), asset
            assert len(version) == 16
            again = await api.client.get(
                f"/static/graphiql/{name}", headers={"If-None-Match": response.headers["ETag"]}
            )
            assert again.status == 304, asset

    async def test_its_query_reads_the_demo_inbox(self, api: Api) -> None:
        _, _, text = await graphiql_page(api)
        page = Page(text)
        assert page.config is not None
        await load_demo(api.database)
        token = issue_token(JWT_SECRET, subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION)
        status, body = await api.gql_raw(
            page.config["defaultQuery"], headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200
        assert "errors" not in body, body
        data = body["data"]
        assert data["notificationCounts"] == {"total": 40, "unread": 15, "unseen": 15}
        assert len(data["notifications"]["edges"]) == 5
        assert data["notifications"]["pageInfo"]["hasNextPage"] is True
        # As it opens, with <token> still in the headers: UNAUTHENTICATED, nothing else.
        status, body = await api.gql_raw(
            page.config["defaultQuery"], headers=json.loads(page.config["defaultHeaders"])
        )
        assert status == 200
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    @pytest.mark.parametrize(
        "path",
        [
            "/static/graphiql/nothing.js",
            "/static/graphiql/__init__.py",
            "/static/graphiql/page.html",
            "/static/graphiql/vendor%2Fgraphiql.min.js",
            "/static/graphiql/..%2F__init__.py",
            "/static/graphiql/licenses/react.LICENSE",
        ],
    )
    async def test_serves_nothing_else(self, api: Api, path: str) -> None:
        response = await api.client.get(path)
        assert response.status == 404
        text = await response.text()
        assert "Traceback" not in text
        assert str(REPOSITORY) not in text

    async def test_requests_stay_requests(self, api: Api) -> None:
        """A GET naming a query is answered by the endpoint, whatever the browser accepts."""
        response = await api.client.get(
            "/graphql", params={"query": "{ __typename }"}, headers=BROWSER
        )
        assert response.status == 200
        assert (await response.json()) == {"data": {"__typename": "Query"}}


class TestSwitchedOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"graphiql": False}

    async def test_no_page_and_no_files(self, api: Api) -> None:
        status, _, text = await graphiql_page(api)
        assert status != 200
        assert "GraphiQL" not in text
        assert "static/graphiql" not in text
        for name in [*VENDOR_FILES, *OWN_FILES]:
            response = await api.client.get(f"/static/graphiql/{name}")
            assert response.status == 404, name


class TestFilesMissing:
    @pytest.fixture(autouse=True)
    def no_files(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        # Before the app is built: it looks for GraphiQL's files here.
        monkeypatch.setattr(notifgql.graphiql, "VENDOR_DIR", tmp_path / "vendor")

    async def test_the_page_says_how_to_install_them(self, api: Api) -> None:
        status, headers, text = await graphiql_page(api)
        assert status == 404
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "GraphiQL is not installed" in text
        assert "<code>bash scripts/graphiql-assets.sh</code>" in text
        for name in VENDOR_FILES:
            assert name in text
        assert re.findall(r"\b(?:https?|wss?)://", text) == []
        assert "<script" not in text
        assert str(REPOSITORY) not in text
        assert "Content-Security-Policy" in headers

    async def test_their_addresses_answer_404_and_ours_still_work(self, api: Api) -> None:
        response = await api.client.get("/static/graphiql/graphiql.min.js")
        assert response.status == 404
        assert "not installed" in await response.text()
        response = await api.client.get("/static/graphiql/notifgql-graphiql.js")
        assert response.status == 200
        assert (await api.gql_raw("{ __typename }"))[1] == {"data": {"__typename": "Query"}}


def test_set_up_installs_the_files_the_server_serves() -> None:
    package = json.loads((REPOSITORY / "graphiql" / "package.json").read_text())
    assert set(package["notifgql"]["assets"]) == set(VENDOR_FILES)
    lock = json.loads((REPOSITORY / "graphiql" / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert package["dependencies"]["graphiql"].startswith("3.")
    assert package["dependencies"]["react"].startswith("18.")
    assert package["dependencies"]["react-dom"].startswith("18.")
