"""The browser harness itself: it drives a real page, and the page reaches nothing but loopback."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.browser.chrome import VIEWPORT, Browser, Page, is_loopback
from tests.browser.conftest import artifacts_root, chromium

CDN_SCRIPT = "https://unpkg.com/react@18.3.1/umd/react.production.min.js"
# An address literal (TEST-NET-2): no name to resolve, so only the proxy rule can stop it.
FOREIGN_ADDRESS = "http://198.51.100.7/ping"

OFFLINE_PAGE = f"""<!doctype html>
<html><head><title>offline</title><link rel="icon" href="data:,">
<script src="{CDN_SCRIPT}" onload="window.cdn = 'loaded'" onerror="window.cdn = 'failed'"></script>
</head><body><p id="state">waiting</p>
<script>
  window.attempts = Promise.allSettled([
    fetch("{FOREIGN_ADDRESS}"),
    fetch("/local.json").then((response) => response.json()),
  ]).then((results) => {{
    const statuses = results.map((result) => result.status);
    document.getElementById("state").textContent = "CDN script: " + window.cdn
      + "; foreign address: " + statuses[0] + "; loopback: " + statuses[1];
    return statuses;
  }});
</script>
</body></html>
"""

FORM_PAGE = """<!doctype html>
<html><head><title>form</title><link rel="icon" href="data:,">
<style>body { font: 16px sans-serif; margin: 2rem } #out { color: darkgreen }</style>
</head><body>
<form id="form">
  <input id="name" autocomplete="off"> <button id="go" type="button">Go</button>
</form>
<p id="out"></p><p id="keys"></p>
<script>
  const out = document.getElementById("out");
  const name = document.getElementById("name");
  document.getElementById("go").addEventListener("click", () => {
    out.textContent = "Hello, " + name.value;
  });
  name.addEventListener("keydown", (event) => {
    document.getElementById("keys").textContent += (event.ctrlKey ? "Ctrl+" : "") + event.key + " ";
    if (event.key !== "Enter") return;
    event.preventDefault();  // no form submission: the page stays
    out.textContent = "Entered " + name.value;
  });
  setTimeout(() => { window.late = "arrived"; }, 150);
</script>
</body></html>
"""

WORKER_PAGE = """<!doctype html>
<html><head><link rel="icon" href="data:,"></head><body><script>
  const worker = new Worker("/worker.js");
  window.workerSaid = new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
  });
</script></body></html>
"""
WORKER_SCRIPT = f"""
fetch("{CDN_SCRIPT}?from=worker").then(() => postMessage("reached"), () => postMessage("refused"));
"""


SITE = {
    "/offline": (OFFLINE_PAGE, "text/html"),
    "/form": (FORM_PAGE, "text/html"),
    "/worker": (WORKER_PAGE, "text/html"),
    "/worker.js": (WORKER_SCRIPT, "text/javascript"),
    "/local.json": ('{"local": true}', "application/json"),
}


async def _serve(request: web.Request) -> web.Response:
    text, content_type = SITE[request.path]
    return web.Response(text=text, content_type=content_type)


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """A small site on a loopback port: the pages above."""
    app = web.Application()
    for path in SITE:
        app.router.add_get(path, _serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_a_cdn_script_fails_and_the_attempt_is_recorded(page: Page, site: str) -> None:
    await page.goto(f"{site}/offline")
    assert await page.wait_for("window.cdn") == "failed"
    assert await page.evaluate("typeof React") == "undefined"
    # The foreign address is refused; the loopback one answers.
    assert await page.evaluate("window.attempts") == ["rejected", "fulfilled"]
    state = "CDN script: failed; foreign address: rejected; loopback: fulfilled"
    assert await page.evaluate("document.getElementById('state').textContent") == state
    await page.screenshot("offline")

    assert CDN_SCRIPT in page.requests
    assert f"{site}/local.json" in page.requests
    assert page.requests_off_loopback() == [CDN_SCRIPT, FOREIGN_ADDRESS]
    failures = {failure.url: failure.error for failure in page.failed_requests}
    assert failures[CDN_SCRIPT].startswith("net::ERR_")
    assert failures[FOREIGN_ADDRESS].startswith("net::ERR_")
    assert f"{site}/local.json" not in failures
    assert any("ERR_" in error for error in page.console_errors)


async def test_requests_of_workers_are_recorded_too(page: Page, site: str) -> None:
    await page.goto(f"{site}/worker")
    assert await page.evaluate("window.workerSaid") == "refused"
    assert f"{site}/worker.js" in page.requests
    assert page.requests_off_loopback() == [f"{CDN_SCRIPT}?from=worker"]


async def test_click_type_press_and_wait(page: Page, site: str) -> None:
    await page.goto(f"{site}/form")
    await page.type("#name", "Ada")
    await page.click("#go")
    assert await page.evaluate("document.getElementById('out').textContent") == "Hello, Ada"
    await page.screenshot("clicked")

    await page.click("#name")
    await page.press("End")
    await page.press("b")
    await page.press("Control+a")
    await page.press("Enter")
    assert await page.evaluate("document.getElementById('out').textContent") == "Entered Adab"
    keys = await page.evaluate("document.getElementById('keys').textContent")
    assert keys == "End b Ctrl+a Enter "
    assert await page.wait_for("window.late") == "arrived"
    assert await page.evaluate("new Promise((resolve) => setTimeout(() => resolve(42), 10))") == 42
    assert page.console_errors == []
    assert page.requests_off_loopback() == []


async def test_screenshots_are_pngs_of_the_viewport(page: Page, site: str) -> None:
    await page.goto(f"{site}/form")
    path = await page.screenshot("form")
    assert path == page.artifacts / "form.png"
    assert path.parent.parent.name == "browser"
    assert path.parent.name == "test_screenshots_are_pngs_of_the_viewport"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == VIEWPORT


async def test_a_condition_that_never_holds_fails_by_its_deadline(page: Page, site: str) -> None:
    await page.goto(f"{site}/form")
    with pytest.raises(AssertionError, match=r"window\.never"):
        await page.wait_for("window.never", seconds=0.3)
    assert (page.artifacts / "timeout.png").exists()


async def test_errors_in_the_page_are_reported(page: Page, site: str) -> None:
    await page.goto(f"{site}/form")
    with pytest.raises(RuntimeError, match="boom"):
        await page.evaluate("(() => { throw new Error('boom') })()")
    await page.evaluate("console.error('visible', 3)")
    await page.evaluate("setTimeout(() => { throw new TypeError('uncaught') }, 0)")
    await page.wait_for("true")
    await page.wait_for("new Promise((resolve) => setTimeout(() => resolve(true), 20))")
    assert "visible 3" in page.console_errors
    assert any("TypeError: uncaught" in error for error in page.console_errors)
    with pytest.raises(LookupError, match="#missing"):
        await page.click("#missing")


async def test_each_page_starts_with_empty_storage(
    browser: Browser, site: str, tmp_path: Path
) -> None:
    first = await browser.new_page(tmp_path / "first")
    try:
        await first.goto(f"{site}/form")
        await first.evaluate("localStorage.setItem('kept', 'yes'); document.cookie = 'c=1'")
        assert await first.evaluate("localStorage.getItem('kept')") == "yes"
        second = await browser.new_page(tmp_path / "second")
        try:
            await second.goto(f"{site}/form")
            assert await second.evaluate("localStorage.getItem('kept')") is None
            assert await second.evaluate("document.cookie") == ""
        finally:
            await second.close()
    finally:
        await first.close()


def test_what_counts_as_loopback() -> None:
    assert is_loopback("http://127.0.0.1:8080/graphql")
    assert is_loopback("ws://127.0.0.1:8080/graphql")
    assert is_loopback("http://localhost/x")
    assert is_loopback("data:image/png;base64,AAAA")
    assert is_loopback("blob:http://127.0.0.1:1/1234")
    assert not is_loopback("https://unpkg.com/graphiql")
    assert not is_loopback("http://127.0.0.1.example.com/")
    assert not is_loopback("wss://example.com/graphql")
    assert not is_loopback("http://10.0.0.1/")


def test_a_missing_browser_skips_or_fails_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFGQL_CHROMIUM", "no-such-chromium-here")
    monkeypatch.delenv("NOTIFGQL_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is needed"):
        chromium()
    monkeypatch.setenv("NOTIFGQL_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="NOTIFGQL_REQUIRE_BROWSER=1"):
        chromium()


def test_artifacts_go_where_notifgql_artifacts_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NOTIFGQL_ARTIFACTS", raising=False)
    assert artifacts_root() == Path(__file__).resolve().parent.parent / "artifacts"
    monkeypatch.setenv("NOTIFGQL_ARTIFACTS", str(tmp_path))
    assert artifacts_root() == tmp_path


def test_ci_has_the_browser_and_requires_it() -> None:
    repository = Path(__file__).resolve().parent.parent.parent
    bootstrap = (repository / "scripts" / "bootstrap.sh").read_text()
    assert "command -v chromium >/dev/null || missing+=(chromium)" in bootstrap
    ci = (repository / ".ci" / "run").read_text()
    assert "export NOTIFGQL_REQUIRE_BROWSER=1\n" in ci
