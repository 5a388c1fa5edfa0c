"""Live-delivery benchmark: N WebSocket subscribers on one process, M notifications.

Starts ``notifgql serve`` (one process) on the given database and broker, opens N
graphql-transport-ws connections, one recipient each, subscribed to notificationCreated
(and, with --counts, notificationCounts too), then publishes M notifications to random
recipients through createNotification at a steady rate. For every notification it
measures the delay from its ``createdAt`` to its arrival at the subscriber: ``createdAt``
is stamped just before the INSERT that then commits, so this is commit-to-receipt plus the
INSERT itself, an upper bound. It also checks that each notification arrived exactly once,
at its own recipient, and reads the server's resident memory from /proc.

Usage (from the repository root, in the project's venv)::

    python -m bench.subscriptions                        # SQLite, in-process broker
    python -m bench.subscriptions --database-url postgresql+asyncpg://…   # LISTEN/NOTIFY
    python -m bench.subscriptions --database-url … --broker-url redis://…  # Redis

The client runs in this process, on the same machine: its own work is part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from tests.servers import free_port

from notifgql.auth import issue_token

SECRET = "bench-subscriptions-secret-long-enough-for-hs256"  # noqa: S105 - a local server
CREATED = "subscription { notificationCreated { id title recipientId createdAt } }"
COUNTS = "subscription { notificationCounts { total unread unseen } }"
CREATE = "mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }"


@dataclass
class Tally:
    """What the subscribers received."""

    latencies: list[float] = field(default_factory=list)
    arrivals: Counter[str] = field(default_factory=Counter)
    misdelivered: int = 0
    counts_frames: int = 0
    expected: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, total: int) -> None:
        self.expected = total
        self._check()

    def created(self, node: dict[str, Any], recipient: int, latency: float) -> None:
        if int(node["recipientId"]) != recipient:
            self.misdelivered += 1
        self.arrivals[node["id"]] += 1
        if node["title"].startswith("measure"):
            self.latencies.append(latency)
        self._check()

    def _check(self) -> None:
        if self.expected and len(self.arrivals) >= self.expected:
            self.done.set()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of ``pid``, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "NOTIFGQL_DATABASE_URL": args.database_url,
        "NOTIFGQL_JWT_SECRET": SECRET,
        "NOTIFGQL_LOG_LEVEL": "WARNING",
        "NOTIFGQL_DB_POOL_SIZE": str(args.pool_size),
    }
    env.pop("NOTIFGQL_BROKER_URL", None)
    if args.broker_url:
        env["NOTIFGQL_BROKER_URL"] = args.broker_url
    command = [sys.executable, "-m", "notifgql.cli", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def wait_until_up(session: aiohttp.ClientSession, base: str, server: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            async with session.get(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not become ready in 60 s")


async def subscribe(
    session: aiohttp.ClientSession,
    url: str,
    organization: int,
    recipient: int,
    with_counts: bool,
    tally: Tally,
) -> asyncio.Task[None]:
    token = issue_token(SECRET, subject=str(recipient), organization_id=str(organization))
    ws = await session.ws_connect(url, protocols=["graphql-transport-ws"])
    await ws.send_str(
        orjson.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        ).decode()
    )
    ack = orjson.loads((await ws.receive(timeout=30)).data)
    if ack.get("type") != "connection_ack":
        raise SystemExit(f"connection refused: {ack}")
    operations = [("c", CREATED)] + ([("n", COUNTS)] if with_counts else [])
    for operation_id, query in operations:
        frame = {"id": operation_id, "type": "subscribe", "payload": {"query": query}}
        await ws.send_str(orjson.dumps(frame).decode())
    return asyncio.create_task(read(ws, recipient, tally))


async def read(ws: aiohttp.ClientWebSocketResponse, recipient: int, tally: Tally) -> None:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        now = time.time()
        frame = orjson.loads(message.data)
        kind = frame.get("type")
        if kind == "next" and frame["id"] == "c":
            node = frame["payload"]["data"]["notificationCreated"]
            created_at = datetime.fromisoformat(node["createdAt"]).timestamp()
            tally.created(node, recipient, now - created_at)
        elif kind == "next" and frame["id"] == "n":
            tally.counts_frames += 1
        elif kind == "ping":
            await ws.send_str('{"type":"pong"}')


async def publish(
    session: aiohttp.ClientSession,
    base: str,
    organization: int,
    recipients: list[int],
    titles: list[str],
    rate: float,
    publishers: int,
) -> float:
    """Create one notification per title, to random recipients; returns the seconds taken."""
    token = issue_token(SECRET, subject="bench", organization_id=str(organization), role="service")
    headers = {"Authorization": f"Bearer {token}"}
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for title in titles:
        queue.put_nowait((random.choice(recipients), title))
    started = time.monotonic()
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while not queue.empty():
            recipient, title = queue.get_nowait()
            if rate:
                # Steady pacing: notification k leaves at start + k / rate.
                slot = sent / rate
                sent += 1
                await asyncio.sleep(max(0.0, started + slot - time.monotonic()))
            variables = {"input": {"recipientId": str(recipient), "title": title}}
            body = {"query": CREATE, "variables": variables}
            async with session.post(f"{base}/graphql", json=body, headers=headers) as response:
                answer = await response.json()
                if response.status != 200 or "errors" in answer:
                    raise SystemExit(f"createNotification failed: {answer}")

    await asyncio.gather(*(worker() for _ in range(publishers)))
    return time.monotonic() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # Stopped with SIGTERM, still stop the server: cancelling runs the finally below.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(args, port)
    tally = Tally()
    readers: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_until_up(session, base, server)
            idle = memory_kib(server.pid)
            organization = random.randint(1_000_000, 9_000_000)
            recipients = list(range(1, args.subscribers + 1))
            connecting = asyncio.Semaphore(100)

            async def connect(recipient: int) -> asyncio.Task[None]:
                async with connecting:
                    return await subscribe(
                        session, f"{base}/graphql", organization, recipient, args.counts, tally
                    )

            started = time.monotonic()
            readers = list(await asyncio.gather(*(connect(r) for r in recipients)))
            connect_seconds = time.monotonic() - started

            # Warm-up: one notification per subscriber, all received, proves every
            # subscription is live before anything is measured.
            tally.expect(len(recipients))
            await publish_each(session, base, organization, recipients, args.publishers)
            await asyncio.wait_for(tally.done.wait(), 120)
            connected = memory_kib(server.pid)

            tally.done.clear()
            cpu_before = cpu_seconds(server.pid)
            titles = [f"measure {n}" for n in range(args.notifications)]
            tally.expect(len(recipients) + len(titles))
            seconds = await publish(
                session, base, organization, recipients, titles, args.rate, args.publishers
            )
            # Whatever has not arrived a minute later counts as lost, not as slow.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), 60)
            loaded = memory_kib(server.pid)
            cpu_used = cpu_seconds(server.pid) - cpu_before
            load = os.getloadavg()[0]
    finally:
        for task in readers:
            task.cancel()
        server.terminate()
        server.wait(timeout=30)

    latencies_ms = [value * 1000 for value in tally.latencies]
    return {
        "subscribers": args.subscribers,
        "counts": args.counts,
        "notifications": args.notifications,
        "database": args.database_url.split(":", 1)[0],
        "broker": "redis" if args.broker_url else "default",
        "connect_s": round(connect_seconds, 2),
        "publish_rate": round(args.notifications / seconds, 1),
        "delivered": len(tally.latencies),
        "missing": args.notifications - len(tally.latencies),
        "duplicates": sum(n - 1 for n in tally.arrivals.values() if n > 1),
        "misdelivered": tally.misdelivered,
        "counts_frames": tally.counts_frames,
        "p50_ms": round(statistics.median(latencies_ms), 1) if latencies_ms else None,
        "p90_ms": round(percentile(latencies_ms, 0.90), 1) if latencies_ms else None,
        "p99_ms": round(percentile(latencies_ms, 0.99), 1) if latencies_ms else None,
        "max_ms": round(max(latencies_ms), 1) if latencies_ms else None,
        "server_cpu_ms_per_notification": round(cpu_used * 1000 / args.notifications, 2),
        "machine_load_1m": round(load, 2),
        "rss_idle_mib": round(idle["VmRSS"] / 1024, 1),
        "rss_connected_mib": round(connected["VmRSS"] / 1024, 1),
        "rss_loaded_mib": round(loaded["VmRSS"] / 1024, 1),
        "rss_peak_mib": round(loaded["VmHWM"] / 1024, 1),
    }


async def publish_each(
    session: aiohttp.ClientSession,
    base: str,
    organization: int,
    recipients: list[int],
    publishers: int,
) -> None:
    """One warm-up notification to each recipient."""
    token = issue_token(SECRET, subject="bench", organization_id=str(organization), role="service")
    headers = {"Authorization": f"Bearer {token}"}
    queue = list(recipients)

    async def worker() -> None:
        while queue:
            recipient = queue.pop()
            variables = {"input": {"recipientId": str(recipient), "title": f"warmup {recipient}"}}
            body = {"query": CREATE, "variables": variables}
            async with session.post(f"{base}/graphql", json=body, headers=headers) as response:
                await response.read()

    await asyncio.gather(*(worker() for _ in range(publishers)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="notifications per second (0: flat out)"
    )
    parser.add_argument("--publishers", type=int, default=8, help="concurrent publishing clients")
    parser.add_argument(
        "--counts", action="store_true", help="also subscribe each to notificationCounts"
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--broker-url", help="redis://… to fan out through Redis")
    parser.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args()

    # Both ends of every WebSocket live on this machine: two descriptors per subscriber.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    with tempfile.TemporaryDirectory(prefix="notifgql-bench-") as scratch:
        if args.database_url is None:
            args.database_url = f"sqlite+aiosqlite:///{scratch}/bench.db"
        result = asyncio.run(run(args))
    width = max(map(len, result))
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
