"""<notifgql-inbox> and /inbox in headless Chromium, against the real app with the demo inbox.

Every step leaves a screenshot in tests/artifacts/browser/<test>/. What the component shows is
compared with what the server says over HTTP; waits are conditions with deadlines.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from itertools import count
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifgql import appkeys
from notifgql.app import create_app
from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT, load_demo
from notifgql.settings import Settings
from tests.browser.chrome import Page
from tests.client import Api, Person
from tests.conftest import JWT_SECRET, empty

REPOSITORY = Path(__file__).resolve().parents[2]
INBOX_DOC = REPOSITORY / "docs" / "inbox.md"
EXAMPLE_PATH = "/embedding-example"

DEMO = Person(DEMO_RECIPIENT, DEMO_ORGANIZATION)
INBOX = 'document.querySelector("notifgql-inbox")'
ROOT = f"{INBOX}.shadowRoot"
ITEMS = f'[...{ROOT}.querySelectorAll("[role=article]")]'
BADGE = f'{ROOT}.querySelector("[part=badge]")'
BELL = f'{ROOT}.querySelector("[part=bell]")'
_targets = count(900)


def documented_embedding() -> str:
    """The page docs/inbox.md shows, exactly as written there."""
    text = INBOX_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```html\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/inbox.md should show exactly one embedding example"
    return str(blocks[0])


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


async def click(page: Page, expression: str) -> None:
    """A real mouse click in the middle of the element ``expression`` evaluates to (it may be
    inside the component's shadow root, which CSS selectors from the document cannot reach)."""
    box = await page.evaluate(
        f"""(() => {{
            const node = ({expression});
            node.scrollIntoView({{block: "nearest"}});
            const r = node.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()"""
    )
    x, y = float(box[0]), float(box[1])
    await page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    for kind in ("mousePressed", "mouseReleased"):
        await page.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
        )


def item(notification_id: str | int) -> str:
    return f'{ROOT}.querySelector("[role=article][data-id=\\"{notification_id}\\"]")'


async def unread(api: Api, category: str | None = None) -> int:
    arguments = f"(filter: {{category: {json.dumps(category)}}})" if category else ""
    data = await api.data(f"{{ notificationCounts{arguments} {{ unread }} }}", as_=DEMO)
    return int(data["notificationCounts"]["unread"])


async def notification(api: Api, notification_id: str) -> dict[str, Any]:
    data = await api.data(
        "query($id: ID!) { notification(id: $id) { id read dismissed snoozed "
        "actions { id status } } }",
        {"id": notification_id},
        as_=DEMO,
    )
    return dict(data["notification"])


async def publish(api: Api, title: str, **content: Any) -> str:
    """Publish one new notification to the demo user as a service; answers its id."""
    target = str(next(_targets))
    variables = {
        "input": {
            "recipientIds": [DEMO_RECIPIENT],
            "activity": {"title": title, "actorId": "11", "actorName": "Ana Kovač"},
            "notification": {"targetType": "task", "targetId": target, **content},
        }
    }
    data = await api.data(
        "mutation($input: PublishInput!) { publish(input: $input) { created } }",
        variables,
        as_=DEMO,
        role="service",
    )
    assert data["publish"]["created"] == 1
    found = await api.data(
        '{ notifications(first: 1, filter: {targetType: "task"}) { nodes { id title } } }',
        as_=DEMO,
    )
    (node,) = found["notifications"]["nodes"]
    assert node["title"] == title
    return str(node["id"])


async def open_inbox(page: Page, server: TestServer, api: Api) -> str:
    """/inbox with the demo token in the fragment; wait until the list and badge are in."""
    token = api.token(DEMO)
    await page.goto(f"{server.make_url('/inbox')}#token={token}")
    await record_events(page)
    await page.wait_for(f"{INBOX}.hasAttribute('data-live') && {ITEMS}.length > 0")
    expected = await unread(api)
    await page.wait_for(f"{BADGE}.textContent === '{expected}'")
    return token


async def record_events(page: Page) -> None:
    names = ["open", "read", "dismiss", "snooze", "action", "error", "notification", "toggle"]
    await page.evaluate(
        f"""(() => {{
            window.recorded = [];
            for (const name of {json.dumps(names)}) {{
                {INBOX}.addEventListener("notifgql:" + name, (event) =>
                    window.recorded.push({{type: event.type, detail: JSON.parse(
                        JSON.stringify(event.detail))}}));
            }}
        }})()"""
    )


def recorded(kind: str, condition: str = "true") -> str:
    return f'window.recorded.find((e) => e.type === "notifgql:{kind}" && ({condition}))'


def assert_clean(page: Page) -> None:
    assert page.requests, "no request was recorded"
    assert page.requests_off_loopback() == []
    assert page.console_errors == []


class TestTheInboxPage:
    async def test_renders_the_demo_inbox_with_the_servers_unread_count(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        token = await open_inbox(page, server, api)
        await page.screenshot("demo-inbox-open")
        expected = await unread(api)
        assert expected == 15
        assert await page.evaluate(f"{BADGE}.textContent") == "15"
        assert await page.evaluate(f"{BELL}.getAttribute('aria-label')") == (
            "Notifications, 15 unread"
        )
        assert await page.evaluate(f"{BELL}.getAttribute('aria-expanded')") == "true"
        assert await page.evaluate(f"{INBOX}.unreadCount") == 15
        # The first page of 20, newest first, without the dismissed ones.
        shown = await page.evaluate(f"{ITEMS}.map((node) => node.dataset.id)")
        listed = await api.data(
            "{ notifications(first: 20, filter: {dismissed: false}) { nodes { id } } }", as_=DEMO
        )
        assert shown == [node["id"] for node in listed["notifications"]["nodes"]]
        # Task 42 groups four activities, two of them new; titles keep their <b> as bold.
        group = await page.evaluate(f"{item(2)}.querySelector('[part=activity-count]').textContent")
        assert group == "4 activities · 2 new"
        assert await page.evaluate(f"{item(2)}.querySelector('strong').textContent") == (
            "#2: Ticket title"
        )
        # The token left the address bar for this tab's storage.
        assert await page.evaluate("location.hash") == ""
        assert await page.evaluate("sessionStorage.getItem('notifgql-token')") == token
        assert await page.evaluate("localStorage.length + document.cookie.length") == 0
        assert_clean(page)

    async def test_clicking_an_item_reads_it(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        await open_inbox(page, server, api)
        first_unread = await page.evaluate(
            f"{ITEMS}.find((node) => node.dataset.read === 'false').dataset.id"
        )
        assert (await notification(api, first_unread))["read"] is False
        await click(page, f"{item(first_unread)}.querySelector('[part=title]')")
        await page.wait_for(recorded("read", f"e.detail.ids[0] === '{first_unread}'"))
        await page.wait_for(f"{item(first_unread)}.dataset.read === 'true'")
        await page.wait_for(f"{BADGE}.textContent === '14'")
        await page.screenshot("after-reading-one")
        assert (await notification(api, first_unread))["read"] is True
        assert await unread(api) == 14
        opened = await page.evaluate(recorded("open"))
        assert opened["detail"]["id"] == first_unread
        assert await page.evaluate("document.getElementById('last-opened').textContent")
        assert_clean(page)

    async def test_a_publish_appears_within_a_second(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        await open_inbox(page, server, api)
        await page.evaluate(f"{ITEMS}.forEach((node) => {{ node.kept = true; }})")
        started = time.monotonic()
        new_id = await publish(api, "Marko Horvat assigned you #900: Renew the certificate")
        await page.wait_for(f"{ITEMS}[0].dataset.id === '{new_id}'", seconds=1.0)
        assert time.monotonic() - started < 1.5
        await page.wait_for(f"{BADGE}.textContent === '16'")
        await page.wait_for(
            f"{ROOT}.querySelector('[part=announcer]').textContent.includes('Renew the')"
        )
        await page.screenshot("published-notification-on-top")
        # The others kept their nodes (a click in progress on one of them is not lost).
        rebuilt = await page.evaluate(
            f"{ITEMS}.filter((node) => node.kept !== true).map((node) => node.dataset.id)"
        )
        assert rebuilt == [new_id]
        arrived = await page.evaluate(recorded("notification"))
        assert arrived["detail"]["notification"]["id"] == new_id
        assert_clean(page)

    async def test_mark_all_read_dismiss_and_infinite_scroll(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        await open_inbox(page, server, api)
        await click(page, f"{ROOT}.querySelector('[part=mark-all-read]')")
        await page.wait_for(f"{BADGE}.hidden && {ITEMS}.every((n) => n.dataset.read === 'true')")
        await page.wait_for(recorded("read", "e.detail.all"))
        assert await unread(api) == 0
        assert await page.evaluate(f"{BELL}.getAttribute('aria-label')") == (
            "Notifications, none unread"
        )
        await page.screenshot("all-read")

        victim = await page.evaluate(f"{ITEMS}[0].dataset.id")
        await click(page, f"{item(victim)}.querySelector('[part=dismiss-button]')")
        await page.wait_for(f"!{item(victim)}")
        await page.wait_for(recorded("dismiss"))
        assert (await notification(api, victim))["dismissed"] is True
        await page.screenshot("one-dismissed")

        assert await page.evaluate(f"{ITEMS}.length") == 19
        await page.evaluate(f"{ROOT}.querySelector('[part=list]').scrollTop = 1e6")
        # 40 demo lines, 8 of them dismissed before, one dismissed now: 31 in all.
        await page.wait_for(f"{ITEMS}.length === 31")
        # The list stays where the reader scrolled to while the next page comes in.
        assert await page.evaluate(f"{ROOT}.querySelector('[part=list]').scrollTop") > 0
        await page.screenshot("scrolled-to-the-end")
        shown = await page.evaluate(f"{ITEMS}.map((node) => node.dataset.id)")
        listed = await api.data(
            "{ notifications(first: 50, filter: {dismissed: false}) { nodes { id } } }", as_=DEMO
        )
        assert shown == [node["id"] for node in listed["notifications"]["nodes"]]
        assert_clean(page)

    async def test_keyboard(self, page: Page, server: TestServer, api: Api) -> None:
        await open_inbox(page, server, api)
        focused = f"{ROOT}.activeElement"
        await page.press("Escape")
        await page.wait_for(f"{BELL}.getAttribute('aria-expanded') === 'false'")
        assert await page.evaluate(f"{focused} === {BELL}")
        await page.press("Enter")
        await page.wait_for(f"{BELL}.getAttribute('aria-expanded') === 'true'")
        assert await page.evaluate(f"{focused} === {ITEMS}[0]")
        await page.press("ArrowDown")
        await page.press("ArrowDown")
        assert await page.evaluate(f"{focused} === {ITEMS}[2]")
        await page.press("ArrowUp")
        assert await page.evaluate(f"{focused} === {ITEMS}[1]")
        await page.screenshot("second-item-focused")
        second = await page.evaluate(f"{ITEMS}[1].dataset.id")
        await page.press("Enter")
        await page.wait_for(recorded("open", f"e.detail.id === '{second}'"))
        await page.wait_for(recorded("read", f"e.detail.ids[0] === '{second}'"))
        await page.press("Escape")
        await page.wait_for(f"{BELL}.getAttribute('aria-expanded') === 'false'")
        assert await page.evaluate(f"{focused} === {BELL}")
        assert await page.evaluate(f"{ROOT}.querySelector('[part=popover]').hidden")
        await page.press("Space")
        await page.wait_for(f"{BELL}.getAttribute('aria-expanded') === 'true'")
        await page.screenshot("opened-with-space")
        assert (await notification(api, second))["read"] is True
        assert_clean(page)

    async def test_a_publish_while_disconnected_shows_after_the_reconnect(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        frames: list[tuple[str, dict[str, Any]]] = []

        def on_frame(method: str, params: dict[str, Any]) -> None:
            if method in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
                frames.append((method[-4:].lower(), json.loads(params["response"]["payloadData"])))

        page.connection.listen(page.session, on_frame)
        await open_inbox(page, server, api)
        app = server.app
        assert app is not None
        view = next(
            hook.__self__ for hook in app.on_shutdown if hook.__name__ == "close_websockets"
        )
        await view.close_websockets(app)
        dropped_at = len(frames)
        new_id = await publish(api, "Jon D published release 2.4 while you were away")
        # It was published while the component had no subscription at all.
        assert app[appkeys.SUBSCRIPTION_SLOTS].open_count == 0
        await page.wait_for(f"{ITEMS}[0].dataset.id === '{new_id}'", seconds=5.0)
        await page.wait_for(f"{INBOX}.hasAttribute('data-live') && {BADGE}.textContent === '16'")
        await page.screenshot("caught-up-after-reconnecting")
        ids = await page.evaluate(f"{ITEMS}.map((node) => node.dataset.id)")
        assert len(ids) == len(set(ids))
        # It resumed from the last position it had received, not from the beginning. Frames
        # are recorded as DevTools reports them, which may be after the drop for one received
        # just before it: what came before the resuming subscribe counts, not `dropped_at`.
        subscribes = [
            n
            for n, (way, frame) in enumerate(frames)
            if way == "sent" and frame["type"] == "subscribe"
        ]
        assert len([n for n in subscribes if n >= dropped_at]) == 1
        resuming = subscribes[-1]
        positions = [
            frame["payload"]["data"]["inboxChanges"]["next"]
            for way, frame in frames[:resuming]
            if way == "ived" and frame["type"] == "next"
        ]
        resumed = frames[resuming][1]["payload"]["variables"]["since"]
        assert positions
        assert resumed == positions[-1]
        caught_up = [
            node
            for way, frame in frames[resuming:]
            if way == "ived" and frame["type"] == "next"
            for node in frame["payload"]["data"]["inboxChanges"]["changed"]
        ]
        # The publish, and at most the marks as seen on opening that had not come back yet.
        assert new_id in [node["id"] for node in caught_up]
        assert all(node["id"] == new_id or node["seen"] for node in caught_up), caught_up
        assert_clean(page)

    async def test_a_server_that_went_away_is_a_clear_message(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        await open_inbox(page, server, api)
        await server.close()
        message = "The notification server cannot be reached. Trying again shortly."
        await page.wait_for(f"{ROOT}.querySelector('[part=error]').textContent === {message!r}")
        await page.wait_for(f"!{INBOX}.hasAttribute('data-live')")
        await page.wait_for(recorded("error", "e.detail.code === 'NETWORK'"))
        await page.screenshot("server-gone")
        # What was shown stays; nothing of the failure but the sentence reaches the page.
        assert await page.evaluate(f"{ITEMS}.length") == 20
        assert "Error" not in await page.evaluate(f"{ROOT}.querySelector('[part=error]').innerText")
        assert page.requests_off_loopback() == []
        # The browser itself logs each refused connection; the page logs nothing else.
        refused = (
            "WebSocket connection to",
            "Failed to load resource: net::ERR_CONNECTION_REFUSED",
        )
        assert page.console_errors
        assert all(line.startswith(refused) for line in page.console_errors), page.console_errors

    async def test_an_expired_token_is_a_clear_message(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        now = int(time.time())
        claims = {"sub": DEMO_RECIPIENT, "org": DEMO_ORGANIZATION, "iat": now - 60}
        expired = jwt.encode({**claims, "exp": now - 30}, JWT_SECRET, algorithm="HS256")
        await page.goto(f"{server.make_url('/inbox')}#token={expired}")
        await record_events(page)
        message = "Your sign-in is no longer valid. Sign in again to see your notifications."
        await page.wait_for(f"{ROOT}.querySelector('[part=error]').textContent === {message!r}")
        await page.wait_for(f"document.getElementById('token-problem').textContent === {message!r}")
        assert await page.evaluate("document.getElementById('signed-out').hidden") is False
        assert await page.evaluate("sessionStorage.getItem('notifgql-token')") is None
        assert await page.evaluate(f"{BELL}.getAttribute('aria-expanded')") == "false"
        await page.screenshot("expired-token")
        text = await page.evaluate("document.body.innerText + " + ROOT + ".innerHTML")
        assert "Traceback" not in text
        assert "Error:" not in text
        # The refused requests are the only console lines: the browser reports each 401.
        assert page.requests_off_loopback() == []
        assert all("401" in line for line in page.console_errors), page.console_errors

        # A good token in the form opens the inbox.
        await page.evaluate(f"document.getElementById('token-input').value = {api.token(DEMO)!r}")
        await click(page, "document.querySelector('#token-form button')")
        await page.wait_for(f"{BADGE}.textContent === '15' && {INBOX}.hasAttribute('data-live')")
        assert await page.evaluate(f"{ROOT}.querySelector('[part=error]').hidden")
        await page.screenshot("signed-in-with-the-form")


class TestTheDocumentedEmbedding:
    async def open_example(self, page: Page, server: TestServer, api: Api) -> None:
        # The example reads the token its page's sign-in left in sessionStorage.
        await page.goto(str(server.make_url("/healthz")))
        await page.evaluate(f"sessionStorage.setItem('acme-token', {api.token(DEMO)!r})")
        await page.goto(str(server.make_url(EXAMPLE_PATH)))
        await record_events(page)
        await page.wait_for(f"{INBOX}.hasAttribute('data-live') && {ITEMS}.length > 0")
        await page.wait_for(f"{BADGE}.textContent === '{await unread(api)}'")

    async def test_tabs_show_their_category_and_badge(
        self, page: Page, server: TestServer, api: Api
    ) -> None:
        await publish(api, "Ana Kovač assigned you #901", category="tasks")
        await publish(api, "Ana Kovač assigned you #902", category="tasks", resource="/tasks/902")
        await publish(api, "Invoice 77 is overdue", category="billing")
        await self.open_example(page, server, api)
        tabs = f"[...{ROOT}.querySelectorAll('[role=tab]')]"
        assert await page.evaluate(f"{tabs}.map((tab) => tab.textContent)") == [
            "All18",
            "Tasks2",
            "Billing1",
        ]
        assert (await unread(api, "tasks"), await unread(api, "billing")) == (2, 1)
        await click(page, BELL)
        await page.wait_for(f"{BELL}.getAttribute('aria-expanded') === 'true'")
        await page.screenshot("all-tab")
        await click(page, f"{tabs}[1]")
        await page.wait_for(
            f"{ITEMS}.length === 2 && {ITEMS}.every((n) => n.dataset.category === 'tasks')"
        )
        assert await page.evaluate(f"{tabs}[1].getAttribute('aria-selected')") == "true"
        assert await page.evaluate(f"{tabs}[1].getAttribute('aria-label')") == "Tasks, 2 unread"
        await page.screenshot("tasks-tab")
        # Opening one reads it, lowers both badges, and the page follows its resource.
        await click(page, f"{ITEMS}[0]")
        await page.wait_for(f"{tabs}[1].textContent === 'Tasks1' && {BADGE}.textContent === '17'")
        assert await page.evaluate("location.pathname") == "/tasks/902"
        assert await unread(api, "tasks") == 1
        # The page's own styles reach in through the documented hooks.
        colour = await page.evaluate(f"getComputedStyle({BADGE}).backgroundColor")
        assert colour == "rgb(124, 58, 237)"
        await click(page, f"{tabs}[2]")
        await page.wait_for(f"{ITEMS}.length === 1 && {ITEMS}[0].dataset.category === 'billing'")
        await page.screenshot("billing-tab")
        assert_clean(page)

    async def test_snooze_and_actions(self, page: Page, server: TestServer, api: Api) -> None:
        actions = [
            {"id": "approve", "label": "Approve", "primary": True},
            {"id": "reject", "label": "Reject"},
        ]
        approve = await publish(api, "Ana Kovač asks you to approve leave", actions=actions)
        later = await publish(api, "Quarterly report is ready")
        await self.open_example(page, server, api)
        await click(page, BELL)
        await page.wait_for(f"!!{item(approve)}.querySelector('[part~=action-primary]')")
        await page.screenshot("with-actions")
        await click(page, f"{item(approve)}.querySelector('[part~=action-primary]')")
        await page.wait_for(f"!!{item(approve)}.querySelector('[part=action-done]')")
        await page.wait_for(recorded("action", "e.detail.action.id === 'approve'"))
        statuses = (await notification(api, approve))["actions"]
        assert statuses == [
            {"id": "approve", "status": "DONE"},
            {"id": "reject", "status": "PENDING"},
        ]
        await page.screenshot("approved")

        await click(page, f"{item(later)}.querySelector('[part=snooze-button]')")
        await page.wait_for(f"!!{item(later)}.querySelector('[part=snooze-menu]')")
        await page.screenshot("snooze-menu")
        await click(page, f"{item(later)}.querySelector('[data-snooze=hour]')")
        await page.wait_for(f"!{item(later)}")
        await page.wait_for(recorded("snooze"))
        assert (await notification(api, later))["snoozed"] is True
        listed = await api.data("{ notifications(first: 5) { nodes { id } } }", as_=DEMO)
        assert later not in [node["id"] for node in listed["notifications"]["nodes"]]
        await page.screenshot("snoozed")
        assert_clean(page)
