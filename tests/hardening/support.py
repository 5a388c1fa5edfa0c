"""Helpers of the hardening tests: bounded polling, `notifgql serve` as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests.servers import free_port

T = TypeVar("T")

# Words that would betray a stack trace, SQL or a driver in anything a client is shown.
LEAKY_WORDS = (
    "traceback",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "psycopg",
    "postgres",
    "connection refused",
    "errno",
    "oserror",
    "operationalerror",
    "interfaceerror",
    "select ",
    "insert into",
    'file "',
)


def assert_no_leak(text: str, echo: str = "") -> None:
    """``text`` (a response body) names no driver, SQL or stack frame.

    ``echo`` is what the client sent, which an error message may quote back: words it
    holds itself prove nothing.
    """
    lowered, echoed = text.lower(), echo.lower()
    for word in LEAKY_WORDS:
        if word not in echoed:
            assert word not in lowered, f"{word!r} leaks in {text[:500]!r}"


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    delay = 0.02
    last: T | None = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s (last: {last!r})")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without any NOTIFGQL_ variable, plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFGQL_")}
    return base | env


class Serve:
    """``python -m notifgql.cli serve`` as a child process on a free loopback port.

    ``prefix`` runs it under another command (another user, resource limits).
    """

    def __init__(
        self, directory: Path, env: dict[str, str], *args: str, prefix: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stdout_path = directory / f"serve-{self.port}.out"
        self._stderr_path = directory / f"serve-{self.port}.err"
        # Files, not pipes: a chatty server can never block on a full pipe.
        with self._stdout_path.open("w") as out, self._stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "notifgql.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    *args,
                ],
                cwd=directory,
                env=clean_environment(**env),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    @property
    def stdout(self) -> str:
        return self._stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    async def ready(self, within: float = 60.0) -> None:
        """Wait until /healthz answers 200; fail at once if the process has exited."""

        async def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"serve exited with {self.process.returncode} before it was ready:\n"
                    f"{self.stderr[-3000:]}"
                )
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(2)) as r,
                ):
                    return r.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await eventually(answers, within=within, what="serve answering /healthz")

    async def exited(self, within: float) -> int:
        """Wait for the process to end; its exit code."""

        async def code() -> tuple[int] | None:
            returncode = self.process.poll()
            return None if returncode is None else (returncode,)

        (returncode,) = await eventually(code, within=within, what="serve exiting")
        return returncode

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Make sure nothing is left behind, whatever the test did."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: split after its closing one.
        fields = stat.rsplit(")", 1)[1].split()
        state, parent = fields[0], int(fields[1])
        if parent == pid and state != "Z":
            found.append(int(entry.name))
    return sorted(found)


def gql_body(query: str, **variables: Any) -> dict[str, Any]:
    return {"query": query, "variables": variables}
