"""A headless Chromium driven over the DevTools protocol, with aiohttp's WebSocket client.

One `Browser` per test session, one `Page` per test, each page in a browser context of its
own (cookies and storage start empty). The browser reaches nothing but loopback: every other
host resolves to nothing (`--host-resolver-rules`) and every request that is not for loopback
goes to a proxy that refuses connections. Each page records the URL of every request it (and
its workers) makes, so that a test can assert that all of them stayed on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

# Hosts a page may reach; every other request is refused by the browser itself.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Schemes that never leave the browser.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "devtools", "chrome-error"})
VIEWPORT = (1280, 860)
LAUNCH_TIMEOUT = 30.0
COMMAND_TIMEOUT = 15.0

Event = dict[str, Any]
Listener = Callable[[str, Event], None]


class CdpError(RuntimeError):
    """The browser answered a command with an error."""


class JavaScriptError(RuntimeError):
    """An evaluated expression threw (or its promise rejected)."""


def is_loopback(url: str) -> bool:
    """Whether a request for ``url`` stays on this machine."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in LOOPBACK_HOSTS


class Connection:
    """One DevTools WebSocket; sessions of attached targets share it ("flat" mode)."""

    def __init__(self, http: aiohttp.ClientSession, socket_: aiohttp.ClientWebSocketResponse):
        self._http = http
        self._socket = socket_
        self._ids = iter(range(1, 1 << 62))
        self._pending: dict[int, asyncio.Future[Event]] = {}
        self._listeners: dict[str | None, list[Listener]] = {}
        self._reader = asyncio.create_task(self._read(), name="chromium-devtools")

    @classmethod
    async def open(cls, url: str) -> Connection:
        http = aiohttp.ClientSession()
        try:
            # Screenshots arrive as one large text frame.
            async with asyncio.timeout(COMMAND_TIMEOUT):
                socket_ = await http.ws_connect(url, max_msg_size=0)
        except BaseException:
            await http.close()
            raise
        return cls(http, socket_)

    def listen(self, session_id: str | None, listener: Listener) -> None:
        self._listeners.setdefault(session_id, []).append(listener)

    def forget(self, session_id: str) -> None:
        self._listeners.pop(session_id, None)

    async def send(
        self, method: str, params: Event | None = None, *, session: str | None = None
    ) -> Event:
        message_id = next(self._ids)
        message: Event = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        answer: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = answer
        try:
            await self._socket.send_str(json.dumps(message))
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return await answer
        finally:
            self._pending.pop(message_id, None)

    async def _read(self) -> None:
        try:
            async for frame in self._socket:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if "id" in message:
                    answer = self._pending.get(message["id"])
                    if answer is None or answer.done():
                        continue
                    if "error" in message:
                        error = message["error"]
                        answer.set_exception(CdpError(f"{error.get('message')} ({error})"))
                    else:
                        answer.set_result(message.get("result", {}))
                    continue
                for listener in list(self._listeners.get(message.get("sessionId"), ())):
                    listener(message["method"], message.get("params", {}))
        finally:
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(CdpError("the browser closed the DevTools connection"))

    async def close(self) -> None:
        await self._socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._http.close()


def find_chromium() -> str | None:
    """The Chromium (or Chrome) on PATH, or NOTIFGQL_CHROMIUM when set."""
    given = os.environ.get("NOTIFGQL_CHROMIUM")
    if given:
        return shutil.which(given)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


class Browser:
    """A headless Chromium process that only reaches loopback."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        connection: Connection,
        profile: Path,
        refusing: socket.socket,
    ) -> None:
        self.process = process
        self.connection = connection
        self.profile = profile
        self._refusing = refusing

    @classmethod
    async def launch(cls, executable: str) -> Browser:
        profile = Path(tempfile.mkdtemp(prefix="notifgql-chromium-"))
        # A port that is bound but never listens: connections to it are refused at once.
        # Every request that is not for loopback is sent to it as its proxy.
        refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        refusing.bind(("127.0.0.1", 0))
        proxy_port = refusing.getsockname()[1]
        arguments = [
            executable,
            "--headless=new",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-extensions",
            "--disable-sync",
            "--no-pings",
            "--metrics-recording-only",
            "--mute-audio",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
            "about:blank",
        ]
        log = (profile / "chromium.log").open("wb")
        try:
            process = await asyncio.create_subprocess_exec(
                *arguments,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its helper processes end with it (see close)
            )
        except BaseException:
            refusing.close()
            shutil.rmtree(profile, ignore_errors=True)
            raise
        finally:
            log.close()
        try:
            url = await _devtools_url(process, profile)
            connection = await Connection.open(url)
        except BaseException:
            await _stop(process)
            refusing.close()
            shutil.rmtree(profile, ignore_errors=True)
            raise
        return cls(process, connection, profile, refusing)

    async def new_page(self, artifacts: Path) -> Page:
        """A fresh tab in a fresh browser context; screenshots go to ``artifacts``."""
        context = await self.connection.send("Target.createBrowserContext", {})
        context_id = context["browserContextId"]
        target = await self.connection.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context_id}
        )
        attached = await self.connection.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self.connection, attached["sessionId"], target["targetId"], context_id)
        page.artifacts = artifacts
        await page.start()
        return page

    async def close(self) -> None:
        with contextlib.suppress(CdpError, TimeoutError, aiohttp.ClientError, ConnectionError):
            await self.connection.send("Browser.close")
        await self.connection.close()
        await _stop(self.process)
        self._refusing.close()
        shutil.rmtree(self.profile, ignore_errors=True)


async def _devtools_url(process: asyncio.subprocess.Process, profile: Path) -> str:
    """The browser's DevTools WebSocket URL, from the DevToolsActivePort file it writes."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            break
        with contextlib.suppress(FileNotFoundError):
            lines = active.read_text().split()
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 0.05)
    log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
    state = "exited" if process.returncode is not None else "did not start in time"
    raise RuntimeError(f"Chromium {state}; its output ends with:\n{log}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End the browser and its helper processes (its own process group), waiting for it."""
    if process.returncode is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


@dataclass
class FailedRequest:
    url: str
    error: str


@dataclass
class Page:
    """One tab. Records requests, failed requests and console errors as they happen."""

    connection: Connection
    session: str
    target_id: str
    context_id: str
    artifacts: Path = Path()
    requests: list[str] = field(default_factory=list)
    failed_requests: list[FailedRequest] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    _urls: dict[tuple[str, str], str] = field(default_factory=dict)
    _loads: list[asyncio.Future[None]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sessions: list[str] = field(default_factory=list)

    async def start(self) -> None:
        await self._watch(self.session)
        await self.send("Page.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
        )

    async def _watch(self, session: str) -> None:
        """Record what ``session`` (the page, or a worker of it) requests and logs."""
        self._sessions.append(session)
        self.connection.listen(session, lambda method, params: self._on(session, method, params))
        for domain in ("Network", "Runtime", "Log"):
            await self.connection.send(f"{domain}.enable", session=session)
        # Workers (and out-of-process frames) attach paused, so that none of their
        # requests happens before it is recorded.
        await self.connection.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session=session,
        )

    def _on(self, session: str, method: str, params: Event) -> None:
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self.requests.append(url)
            self._urls[(session, params["requestId"])] = url
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Network.loadingFailed":
            url = self._urls.get((session, params["requestId"]), "?")
            self.failed_requests.append(FailedRequest(url, params.get("errorText", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            self.console_errors.append(" ".join(_describe(arg) for arg in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {})
            self.console_errors.append(exception.get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
        elif method == "Page.loadEventFired" and session == self.session:
            for waiter in self._loads:
                if not waiter.done():
                    waiter.set_result(None)
            self._loads.clear()
        elif method == "Target.attachedToTarget":
            task = asyncio.create_task(self._attach(params["sessionId"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _attach(self, session: str) -> None:
        with contextlib.suppress(CdpError, TimeoutError):
            await self._watch(session)
            await self.connection.send("Runtime.runIfWaitingForDebugger", session=session)

    async def send(self, method: str, params: Event | None = None) -> Event:
        return await self.connection.send(method, params, session=self.session)

    async def goto(self, url: str, seconds: float = 15.0) -> None:
        """Open ``url`` and wait for its load event."""
        loaded = asyncio.get_running_loop().create_future()
        self._loads.append(loaded)
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"could not open {url}: {result['errorText']}")
        async with asyncio.timeout(seconds):
            await loaded

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = await self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
                "userGesture": True,
            },
        )
        if details := result.get("exceptionDetails"):
            exception = details.get("exception", {})
            text = exception.get("description") or exception.get("value") or details.get("text")
            raise JavaScriptError(f"{expression!r} threw: {text}")
        return result["result"].get("value")

    async def wait_for(self, condition: str, seconds: float = 10.0) -> Any:
        """Poll the JavaScript ``condition`` until it is truthy; return its value.

        Fails after ``seconds``, with a screenshot of that moment ("timeout.png").
        """
        deadline = time.monotonic() + seconds
        last_error = ""
        while True:
            try:
                value = await self.evaluate(condition)
            except (JavaScriptError, CdpError) as error:
                # A page in the middle of navigating has no context to evaluate in.
                value, last_error = None, str(error)
            if value:
                return value
            if time.monotonic() >= deadline:
                with contextlib.suppress(CdpError, TimeoutError):
                    await self.screenshot("timeout")
                detail = f" (last error: {last_error})" if last_error else ""
                raise AssertionError(f"waited {seconds}s in vain for {condition!r}{detail}")
            await asyncio.sleep(0.05)

    async def _center(self, selector: str) -> tuple[float, float]:
        box = await self.evaluate(
            f"""(() => {{
                const element = document.querySelector({json.dumps(selector)});
                if (!element) return null;
                element.scrollIntoView({{block: "center", inline: "center"}});
                const box = element.getBoundingClientRect();
                return [box.left + box.width / 2, box.top + box.height / 2];
            }})()"""
        )
        if box is None:
            raise LookupError(f"no element matches {selector!r}")
        return float(box[0]), float(box[1])

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching ``selector``."""
        x, y = await self._center(selector)
        await self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    async def type(self, selector: str, text: str) -> None:
        """Click into ``selector`` and type ``text`` where the caret is."""
        await self.click(selector)
        await self.send("Input.insertText", {"text": text})

    async def press(self, key: str) -> None:
        """Press a key, with modifiers joined by "+": "Enter", "Control+Enter", "Shift+Tab"."""
        *modifiers, name = key.split("+")
        mask = 0
        for modifier in modifiers:
            mask |= _MODIFIERS[modifier]
        definition = _key(name)
        text = definition.text if not mask & (_MODIFIERS["Control"] | _MODIFIERS["Meta"]) else ""
        common = {
            "key": definition.key,
            "code": definition.code,
            "windowsVirtualKeyCode": definition.key_code,
            "modifiers": mask,
        }
        await self.send(
            "Input.dispatchKeyEvent",
            common | ({"type": "keyDown", "text": text} if text else {"type": "rawKeyDown"}),
        )
        await self.send("Input.dispatchKeyEvent", common | {"type": "keyUp"})

    async def screenshot(self, step: str) -> Path:
        """Save what the page shows now as ``<artifacts>/<step>.png``."""
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{step}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def requests_off_loopback(self) -> list[str]:
        """Every URL requested so far that would have left this machine."""
        return [url for url in self.requests if not is_loopback(url)]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in self._sessions:
            self.connection.forget(session)
        with contextlib.suppress(CdpError, TimeoutError):
            await self.connection.send("Target.closeTarget", {"targetId": self.target_id})
        with contextlib.suppress(CdpError, TimeoutError):
            await self.connection.send(
                "Target.disposeBrowserContext", {"browserContextId": self.context_id}
            )


def _describe(remote: Event) -> str:
    if "value" in remote:
        return str(remote["value"])
    return str(remote.get("description") or remote.get("type", ""))


@dataclass(frozen=True)
class _KeyDefinition:
    key: str
    code: str
    key_code: int
    text: str = ""


_MODIFIERS = {"Alt": 1, "Control": 2, "Meta": 4, "Shift": 8}
_KEYS = {
    "Enter": _KeyDefinition("Enter", "Enter", 13, "\r"),
    "Tab": _KeyDefinition("Tab", "Tab", 9),
    "Escape": _KeyDefinition("Escape", "Escape", 27),
    "Backspace": _KeyDefinition("Backspace", "Backspace", 8),
    "Delete": _KeyDefinition("Delete", "Delete", 46),
    "Space": _KeyDefinition(" ", "Space", 32, " "),
    "ArrowLeft": _KeyDefinition("ArrowLeft", "ArrowLeft", 37),
    "ArrowUp": _KeyDefinition("ArrowUp", "ArrowUp", 38),
    "ArrowRight": _KeyDefinition("ArrowRight", "ArrowRight", 39),
    "ArrowDown": _KeyDefinition("ArrowDown", "ArrowDown", 40),
    "Home": _KeyDefinition("Home", "Home", 36),
    "End": _KeyDefinition("End", "End", 35),
}


def _key(name: str) -> _KeyDefinition:
    if name in _KEYS:
        return _KEYS[name]
    if len(name) == 1 and name.isalnum():
        code = f"Digit{name}" if name.isdigit() else f"Key{name.upper()}"
        return _KeyDefinition(name, code, ord(name.upper()), name)
    raise ValueError(f"no key named {name!r} (known: {', '.join(_KEYS)}, letters and digits)")
