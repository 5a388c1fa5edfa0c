"""GraphiQL in a real browser with no internet: it renders, runs the example query with the
token a person types in, and streams a subscription over WebSocket, all from loopback."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from notifgql.auth import issue_token
from notifgql.db.engine import Database
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from tests.browser.chrome import Page
from tests.conftest import JWT_SECRET

EDITOR = "document.querySelector({selector}).CodeMirror"
QUERY = EDITOR.format(selector=json.dumps(".graphiql-query-editor .CodeMirror"))
# The Headers tab, open as GraphiQL starts (the Variables editor beside it is hidden).
HEADERS_EDITOR = '.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden)'
HEADERS = EDITOR.format(selector=json.dumps(f"{HEADERS_EDITOR} .CodeMirror"))
RESULT = EDITOR.format(selector=json.dumps(".graphiql-response .CodeMirror"))


def demo_token() -> str:
    return issue_token(JWT_SECRET, subject=DEMO_RECIPIENT, organization_id=DEMO_ORGANIZATION)


async def open_graphiql(page: Page, server: TestServer) -> None:
    await page.goto(f"http://127.0.0.1:{server.port}/graphql")
    await page.wait_for(f"{QUERY} && {QUERY}.getValue().includes('notifications(first: 5)')")
    # The schema arrived (introspection needs no token): the documentation explorer opens.
    await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]')
    await page.wait_for(
        "document.querySelector('.graphiql-doc-explorer')?.innerText.includes('Query')"
    )
    await page.click('.graphiql-sidebar button[aria-label="Hide Documentation Explorer"]')
    await page.wait_for("!document.querySelector('.graphiql-doc-explorer')")


async def set_headers(page: Page, headers: dict[str, str]) -> None:
    """Replace the Headers tab's text the way a person does: select all, type."""
    await page.click(f"{HEADERS_EDITOR} .CodeMirror-lines")
    await page.press("Control+a")
    await page.press("Delete")
    await page.send("Input.insertText", {"text": json.dumps(headers)})
    assert json.loads(await page.evaluate(f"{HEADERS}.getValue()")) == headers


async def result(page: Page, condition: str) -> Any:
    """The result pane's JSON, once ``condition`` (JavaScript on its text ``text``) holds."""
    text = await page.wait_for(
        f"(() => {{ const text = {RESULT}.getValue(); return ({condition}) && text; }})()"
    )
    return json.loads(text)


async def test_the_example_query_shows_the_demo_inbox(
    page: Page, server: TestServer, database: Database
) -> None:
    await load_demo(database)
    await open_graphiql(page, server)
    hint = await page.evaluate("document.getElementById('notifgql-hint').innerText")
    assert '{"Authorization": "Bearer <token>"}' in hint
    assert json.loads(await page.evaluate(f"{HEADERS}.getValue()")) == {
        "Authorization": "Bearer <token>"
    }
    await page.screenshot("1-opened")

    await set_headers(page, {"Authorization": f"Bearer {demo_token()}"})
    await page.screenshot("2-token")

    await page.click(".graphiql-execute-button")
    body = await result(page, "text.includes('notificationCounts')")
    await page.screenshot("3-result")
    assert "errors" not in body, body
    assert body["data"]["notificationCounts"] == {"total": 40, "unread": 15, "unseen": 15}
    edges = body["data"]["notifications"]["edges"]
    assert len(edges) == 5
    assert all(edge["node"]["title"] for edge in edges)

    assert page.requests_off_loopback() == []
    assert any(url.endswith("/graphql") for url in page.requests)
    assert page.console_errors == []


async def test_a_subscription_streams_over_websocket(
    page: Page, server: TestServer, database: Database
) -> None:
    await load_demo(database)
    await open_graphiql(page, server)
    await set_headers(page, {"Authorization": f"Bearer {demo_token()}"})
    await page.evaluate(f"{QUERY}.setValue('subscription {{ notificationCounts {{ unread }} }}')")
    # GraphiQL takes in an edit a moment later (debounced), then keeps it with its tabs.
    await page.wait_for(
        """(() => {
            const state = JSON.parse(localStorage.getItem("graphiql:tabState") || "{}");
            const tab = (state.tabs || [])[state.activeTabIndex];
            return tab && tab.query.startsWith("subscription") && tab.operationName === null;
        })()"""
    )
    await page.click(".graphiql-execute-button")
    body = await result(page, "text.includes('unread')")
    assert body == {"data": {"notificationCounts": {"unread": 15}}}
    await page.screenshot("1-subscribed")

    # Another client reads one unread notification: the open subscription shows the new count.
    headers = {"Authorization": f"Bearer {demo_token()}"}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:
        first_unread = "{ notifications(first: 1, filter: {read: false}) { nodes { id } } }"
        async with http.post("/graphql", json={"query": first_unread}, headers=headers) as answer:
            (unread,) = (await answer.json())["data"]["notifications"]["nodes"]
        mark = "mutation($id: ID!) { readNotification(id: $id) { read } }"
        variables = {"id": unread["id"]}
        async with http.post(
            "/graphql", json={"query": mark, "variables": variables}, headers=headers
        ) as answer:
            assert (await answer.json())["data"]["readNotification"] == {"read": True}
    body = await result(page, "text.includes('14')")
    assert body == {"data": {"notificationCounts": {"unread": 14}}}
    await page.screenshot("2-updated")

    sockets = [url for url in page.requests if url.startswith("ws://")]
    assert sockets == [f"ws://127.0.0.1:{server.port}/graphql"]
    assert page.requests_off_loopback() == []
    assert page.console_errors == []
