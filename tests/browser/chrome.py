"""Headless Chromium driven over the DevTools protocol (aiohttp's WebSocket client).

The browser reaches loopback only: every other host name resolves to nothing, and each page
records every request it makes so that a test can check it. Screenshots of each step go to
tests/artifacts/browser/<test>/<step>.png. Waiting is always for a condition, with a deadline,
checked in the page itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
START_WITHIN = 30.0
COMMAND_WITHIN = 30.0


class BrowserError(Exception):
    """The browser could not be started, or a command failed."""


def find_chromium() -> str | None:
    explicit = os.environ.get("NOTIFGQL_CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
        return True
    host = (parts.hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class Connection:
    """One DevTools WebSocket: commands by id, events by session."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str | None, list[Any]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            for listener in self._listeners.get(data.get("sessionId"), []):
                listener(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BrowserError("the browser closed its connection"))

    def listen(self, session: str | None, listener: Any) -> None:
        self._listeners.setdefault(session, []).append(listener)

    async def send(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        command_id = next(self._ids)
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if kw.get("session"):
            message["sessionId"] = kw["session"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        await self._socket.send_str(json.dumps(message))
        async with asyncio.timeout(kw.get("within", COMMAND_WITHIN)):
            answer = await future
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    async def close(self) -> None:
        await self._socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@dataclass
class Page:
    """One tab: navigate, evaluate, wait for a condition, click, type, screenshot."""

    connection: Connection
    session: str
    target: str
    artifacts: Path
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    _steps: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _loaded: asyncio.Event = field(default_factory=asyncio.Event)

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            values = [arg.get("value", arg.get("description", "")) for arg in params["args"]]
            self.console_errors.append(" ".join(map(str, values)))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {})
            self.console_errors.append(exception.get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.console_errors.append(params["entry"]["text"])

    async def send(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return await self.connection.send(method, params, session=self.session, **kw)

    async def goto(self, url: str) -> None:
        self._loaded.clear()
        answer = await self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url}: {answer['errorText']}")
        async with asyncio.timeout(COMMAND_WITHIN):
            await self._loaded.wait()

    async def evaluate(self, expression: str, *, within: float = COMMAND_WITHIN) -> Any:
        answer = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            within=within + 5,
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]!r}: {text}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, *, within: float = 5.0) -> Any:
        """The value of ``expression`` once truthy, checked every 20 ms in the page, or fail."""
        script = f"""new Promise((resolve, reject) => {{
            const deadline = performance.now() + {within * 1000};
            const check = () => {{
                let value;
                try {{ value = ({expression}); }} catch (error) {{ value = undefined; }}
                if (value) resolve(value);
                else if (performance.now() > deadline) reject(new Error("still false"));
                else setTimeout(check, 20);
            }};
            check();
        }})"""
        try:
            return await self.evaluate(script, within=within)
        except BrowserError as error:
            raise AssertionError(f"not within {within}s: {expression}") from error

    async def _centre(self, expression: str) -> tuple[float, float]:
        box = await self.evaluate(
            f"""(() => {{
                const node = ({expression});
                node.scrollIntoView({{block: "nearest"}});
                const r = node.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }})()"""
        )
        return float(box[0]), float(box[1])

    async def click(self, expression: str) -> None:
        """A real mouse click in the middle of the element ``expression`` evaluates to."""
        x, y = await self._centre(expression)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    async def press(self, key: str) -> None:
        """A real key press: Enter, Escape, ArrowDown, ArrowUp, Tab, " " (Space)..."""
        codes = {
            "Enter": 13, "Escape": 27, " ": 32, "ArrowUp": 38, "ArrowDown": 40,
            "ArrowLeft": 37, "ArrowRight": 39, "Tab": 9, "Home": 36, "End": 35,
        }  # fmt: skip
        code = {" ": "Space"}.get(key, key)
        params: dict[str, Any] = {
            "key": key,
            "code": code,
            "windowsVirtualKeyCode": codes[key],
            "nativeVirtualKeyCode": codes[key],
        }
        text = {"Enter": "\r", " ": " "}.get(key)
        down = {"type": "keyDown", **params, **({"text": text} if text else {})}
        await self.send("Input.dispatchKeyEvent", down)
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    async def screenshot(self, step: str) -> Path:
        """Save the page as tests/artifacts/browser/<test>/<NN>-<step>.png."""
        answer = await self.send("Page.captureScreenshot", {"format": "png"})
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{next(self._steps):02d}-{re.sub(r'[^a-z0-9-]+', '-', step)}.png"
        path.write_bytes(base64.b64decode(answer["data"]))
        return path

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not is_loopback(url)]


class Browser:
    """A headless Chromium process with its DevTools connection."""

    def __init__(self, process: asyncio.subprocess.Process, profile: str) -> None:
        self.process = process
        self.profile = profile
        self.connection: Connection | None = None
        self._session: aiohttp.ClientSession | None = None
        self._drain: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, executable: str) -> Browser:
        profile = tempfile.mkdtemp(prefix="notifgql-chromium-")
        arguments = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-features=Translate,OptimizationHints,MediaRouter",
            "--metrics-recording-only",
            "--mute-audio",
            # A tab of its own browser context is a background tab: keep its timers and its
            # renderer at full speed, as in the window a person looks at.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            # Offline: no name other than loopback resolves, and nothing goes through a proxy.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            "--no-proxy-server",
            "--window-size=1280,800",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        process = await asyncio.create_subprocess_exec(
            executable,
            *arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        browser = cls(process, profile)
        try:
            await browser._connect()
        except BaseException:
            await browser.close()
            raise
        return browser

    async def _connect(self) -> None:
        # Chromium says where DevTools listens on stderr, once it listens.
        stderr = self.process.stderr
        assert stderr is not None
        address = None
        async with asyncio.timeout(START_WITHIN):
            while address is None:
                line = await stderr.readline()
                if not line:
                    raise BrowserError(f"chromium exited with {await self.process.wait()}")
                found = re.search(rb"DevTools listening on (ws://\S+)", line)
                address = found and found[1].decode()
        self._drain = asyncio.create_task(self._drain_stderr(stderr))
        self._session = aiohttp.ClientSession()
        socket = await self._session.ws_connect(
            address, max_msg_size=0, timeout=aiohttp.ClientWSTimeout()
        )
        self.connection = Connection(socket)

    @staticmethod
    async def _drain_stderr(stderr: asyncio.StreamReader) -> None:
        while await stderr.read(65536):
            pass

    @contextlib.asynccontextmanager
    async def page(self, artifacts: Path) -> AsyncIterator[Page]:
        assert self.connection is not None
        connection = self.connection
        context = await connection.send("Target.createBrowserContext", {})
        context_id = context["browserContextId"]
        created = await connection.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context_id}
        )
        target = created["targetId"]
        attached = await connection.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )
        page = Page(connection, attached["sessionId"], target, artifacts)
        connection.listen(page.session, page._event)
        for domain in ("Page", "Runtime", "Network", "Log"):
            await page.send(f"{domain}.enable")
        await page.send("Page.bringToFront")
        await page.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            yield page
        finally:
            with contextlib.suppress(BrowserError, TimeoutError):
                await connection.send("Target.closeTarget", {"targetId": target})
                await connection.send(
                    "Target.disposeBrowserContext", {"browserContextId": context_id}
                )

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(BrowserError, TimeoutError, aiohttp.ClientError):
                await self.connection.send("Browser.close", within=5)
            await self.connection.close()
        if self._session is not None:
            await self._session.close()
        if self.process.returncode is None:
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
        shutil.rmtree(self.profile, ignore_errors=True)
