"""Change-feed resume benchmark: N inboxChanges subscribers catching up after a broker restart.

Starts a throwaway PostgreSQL (or uses --database-url), runs ``notifgql migrate``, starts one
``notifgql serve`` on it and opens N graphql-transport-ws connections, one recipient each,
each subscribed to ``inboxChanges`` from ``since: null``. One warm-up notification per
recipient, received live, proves every subscription live. Then two broker outages:

resume
    The broker goes down (the LISTEN connection is terminated and, for as long as the
    outage lasts, new connections to the database are refused, so the listener stays in
    its reconnect backoff; with Redis the server itself is stopped) and every client
    closes its socket. While they are away K notifications per recipient are published
    through ``createNotification``. Then the broker comes back and, at that instant (T0),
    all N clients reconnect at once and resubscribe with ``since:`` the last ``next`` they
    received. Each one's catch-up time runs from T0 until it has all K of its changes.

live
    The sockets stay open. The broker goes down the same way, K notifications per
    recipient are published while the listener is in its reconnect backoff (their events
    never reach this process's subscribers while it is away), and the broker comes back
    at T0. Each one's catch-up time runs from T0 until it has all K of its new changes:
    the resync wake-up on reconnection must bring them.

Every change must arrive exactly once, only to its own recipient. The target (the
issue's): all 1,000 subscribers caught up within 5 s.

Usage (from the repository root, in the project's venv)::

    python -m bench.sync_resume                       # throwaway PostgreSQL, LISTEN/NOTIFY
    python -m bench.sync_resume --redis               # ... and a throwaway redis-server
    python -m bench.sync_resume --database-url postgresql+asyncpg://…  [--broker-url redis://…]

With --database-url the outage needs a superuser (``ALTER DATABASE … ALLOW_CONNECTIONS``,
``pg_terminate_backend``); with --broker-url the Redis cannot be stopped, so the "restart"
is ``CLIENT KILL TYPE pubsub`` alone. The client runs in this process, on the same
machine: its own work is part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.servers import free_port

from bench import pgcluster
from notifgql.auth import issue_token

SECRET = "bench-sync-resume-secret-long-enough-for-hs256"  # noqa: S105 - a local server
FEED = (
    "subscription($since: String) {"
    " inboxChanges(since: $since) { changed { id } removed next hasMore } }"
)
CREATE = "mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }"
LISTENER = "notifgql-listener"
CHANNEL = "notifgql"
DATABASE = "notifgql_sync_resume"
TARGET_SECONDS = 5.0
# Whoever has not caught up this long after T0 counts as not caught up, not as slow.
GIVE_UP_SECONDS = 30.0


def say(message: str) -> None:
    print(f"[sync_resume {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- What the clients receive ---------------------------------------------------------------


@dataclass
class Board:
    """Which clients still wait for changes in the current phase."""

    waiting: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, recipients: list[str]) -> None:
        self.waiting = set(recipients)
        self.done.clear()

    def caught_up(self, recipient: str) -> None:
        self.waiting.discard(recipient)
        if not self.waiting:
            self.done.set()


@dataclass
class Client:
    """One subscriber: its recipient, socket, position, and what it received this phase."""

    recipient: str
    token: str
    board: Board
    ws: aiohttp.ClientWebSocketResponse | None = None
    reader: asyncio.Task[None] | None = None
    next: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    # This phase: every id received with how many times and when first, the ids it must
    # get, and when it had them all.
    arrivals: Counter[str] = field(default_factory=Counter)
    first_seen: dict[str, float] = field(default_factory=dict)
    removed: int = 0
    expected: frozenset[str] | None = None
    first_answer_at: float | None = None
    caught_up_at: float | None = None
    problems: list[str] = field(default_factory=list)

    def start_phase(self) -> None:
        """Forget the previous phase; what arrives from now on counts for the next one."""
        self.arrivals = Counter()
        self.first_seen = {}
        self.removed = 0
        self.expected = None
        self.first_answer_at = None
        self.caught_up_at = None

    def expect(self, ids: frozenset[str]) -> None:
        """The ids this phase must bring; they may have arrived already."""
        self.expected = ids
        self._check()

    def answer(self, changes: dict[str, Any], now: float) -> None:
        """One ``inboxChanges`` answer arrived at ``now``."""
        for node in changes["changed"]:
            self.arrivals[node["id"]] += 1
            self.first_seen.setdefault(node["id"], now)
        self.removed += len(changes["removed"])
        self.next = changes["next"]
        if self.first_answer_at is None:
            self.first_answer_at = now
        self.answered.set()
        self._check()

    def _check(self) -> None:
        if self.caught_up_at is not None or self.expected is None:
            return
        if self.expected <= self.first_seen.keys():
            # When the last of them arrived, even if that was before they were expected.
            self.caught_up_at = max((self.first_seen[i] for i in self.expected), default=0.0)
            self.board.caught_up(self.recipient)


async def read(client: Client, ws: aiohttp.ClientWebSocketResponse) -> None:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        now = time.monotonic()
        frame = orjson.loads(message.data)
        kind = frame.get("type")
        if kind == "next":
            payload = frame["payload"]
            if payload.get("errors"):
                client.problems.append(f"errors: {payload['errors']}")
            if payload.get("data"):
                client.answer(payload["data"]["inboxChanges"], now)
        elif kind == "ping":
            await ws.send_str('{"type":"pong"}')
        elif kind in ("error", "complete"):
            client.problems.append(f"{kind}: {frame.get('payload')}")


async def connect(session: aiohttp.ClientSession, url: str, client: Client) -> None:
    """Open the client's socket and subscribe from its last ``next``; failures are noted."""
    try:
        ws = await session.ws_connect(url, protocols=["graphql-transport-ws"])
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {client.token}"}}
        await ws.send_str(orjson.dumps(init).decode())
        ack = orjson.loads((await ws.receive(timeout=60)).data)
        if ack.get("type") != "connection_ack":
            client.problems.append(f"connection refused: {ack}")
            await ws.close()
            return
        payload = {"query": FEED, "variables": {"since": client.next}}
        frame = {"id": "s", "type": "subscribe", "payload": payload}
        await ws.send_str(orjson.dumps(frame).decode())
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
        client.problems.append(f"connect failed: {error!r}")
        return
    client.ws = ws
    client.reader = asyncio.create_task(read(client, ws))


async def disconnect(clients: list[Client]) -> None:
    """Close every client's socket and wait for its reader to finish."""

    async def close(client: Client) -> None:
        if client.ws is not None:
            await client.ws.close()
        if client.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.reader, 30)
        client.ws, client.reader = None, None

    await asyncio.gather(*(close(client) for client in clients))


# --- Publishing -----------------------------------------------------------------------------


@dataclass
class Published:
    """The notifications one publishing round created: id -> recipient, and failures."""

    owner: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def ids_of(self, recipients: list[str]) -> dict[str, frozenset[str]]:
        mine: dict[str, set[str]] = {recipient: set() for recipient in recipients}
        for notification, recipient in self.owner.items():
            mine[recipient].add(notification)
        return {recipient: frozenset(ids) for recipient, ids in mine.items()}


def publishing_plan(recipients: list[str], per_recipient: int, label: str) -> list[tuple[str, str]]:
    """(recipient, title) for ``per_recipient`` notifications to each, interleaved."""
    return [
        (recipient, f"{label} {n + 1}/{per_recipient}")
        for n in range(per_recipient)
        for recipient in recipients
    ]


async def publish(
    session: aiohttp.ClientSession,
    base: str,
    service_token: str,
    plan: list[tuple[str, str]],
    publishers: int,
    published: Published,
) -> None:
    """Create each planned notification, ``publishers`` at a time; failures are recorded."""
    headers = {"Authorization": f"Bearer {service_token}"}
    jobs = list(reversed(plan))
    started = time.monotonic()

    async def worker() -> None:
        while jobs:
            recipient, title = jobs.pop()
            variables = {"input": {"recipientId": recipient, "title": title}}
            body = {"query": CREATE, "variables": variables}
            try:
                async with session.post(f"{base}/graphql", json=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
            except (aiohttp.ClientError, OSError, ValueError) as error:
                published.failures.append(repr(error))
                continue
            node = (answer.get("data") or {}).get("createNotification")
            if response.status != 200 or answer.get("errors") or not node:
                published.failures.append(str(answer)[:300])
                continue
            published.owner[node["id"]] = recipient

    await asyncio.gather(*(worker() for _ in range(publishers)))
    published.seconds = time.monotonic() - started


# --- The broker's outage --------------------------------------------------------------------


class Outage:
    """Takes the server's broker away and brings it back."""

    async def start(self) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        raise NotImplementedError

    async def reattached(self, seconds: float) -> float | None:
        """Wait until the server listens again: when it did (``time.time()``), or None if
        not within ``seconds``."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what the outage holds; leave the broker up."""


class PostgresOutage(Outage):
    """Terminate the LISTEN connection; refuse new connections to the database meanwhile.

    ``ALLOW_CONNECTIONS false`` keeps the listener's reconnect attempts failing (it backs
    off from 50 ms to 5 s), while the pooled connections already open keep serving
    requests. With ``block`` false, only the termination: the listener is back at once.
    """

    def __init__(self, admin_dsn: str, database: str, *, block: bool) -> None:
        self.admin_dsn, self.database, self.block = admin_dsn, database, block
        self.conn: Any = None

    async def _admin(self) -> Any:
        if self.conn is None:
            self.conn = await asyncpg.connect(self.admin_dsn)
        return self.conn

    async def listeners(self) -> int:
        conn = await self._admin()
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2"
        return int(await conn.fetchval(query, LISTENER, self.database))

    async def _allow(self, allowed: bool) -> None:
        conn = await self._admin()
        name = self.database.replace('"', '""')
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')

    async def start(self) -> None:
        conn = await self._admin()
        if self.block:
            await self._allow(False)
        terminated = await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = $2",
            LISTENER,
            self.database,
        )
        if terminated != 1:
            say(f"warning: terminated {terminated} listener connections, expected 1")
        # pg_terminate_backend only signals: wait until the backend is gone.
        for _ in range(500):
            if await self.listeners() == 0:
                break
            await asyncio.sleep(0.01)

    async def end(self) -> None:
        if self.block:
            await self._allow(True)

    async def reattached(self, seconds: float) -> float | None:
        # The listener backend's own start time: exact however late this poll sees it.
        conn = await self._admin()
        query = (
            "SELECT extract(epoch FROM max(backend_start)) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = $2"
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = await conn.fetchval(query, LISTENER, self.database)
            if started is not None:
                return float(started)
            await asyncio.sleep(0.01)
        return None

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.end()
            await self.conn.close()
            self.conn = None


class RedisOutage(Outage):
    """Stop the redis-server this benchmark started, or, for a given one, kill its pub/subs."""

    def __init__(self, url: str, server: RedisServer | None) -> None:
        self.url, self.server = url, server
        self.client = Redis.from_url(url)

    async def start(self) -> None:
        if self.server is not None:
            self.server.stop()
        else:
            await self.client.client_kill_filter(_type="pubsub")

    async def end(self) -> None:
        if self.server is not None:
            self.server.start()

    async def reattached(self, seconds: float) -> float | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                counts = await self.client.pubsub_numsub(CHANNEL)
            except (RedisError, OSError):
                counts = []
            if counts and counts[0][1] > 0:
                return time.time()
            await asyncio.sleep(0.005)
        return None

    async def close(self) -> None:
        await self.client.aclose()


class RedisServer:
    """A throwaway redis-server on a fixed port, which can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise SystemExit("--redis needs redis-server, which is not installed")
        self.program, self.folder = program, folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.program, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.005)
        raise SystemExit("redis-server did not start in 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


# --- The server -----------------------------------------------------------------------------


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = os.environ | {
        "NOTIFGQL_DATABASE_URL": args.database_url,
        "NOTIFGQL_JWT_SECRET": SECRET,
        "NOTIFGQL_LOG_LEVEL": "INFO" if args.server_log else "WARNING",
        "NOTIFGQL_DB_POOL_SIZE": str(args.pool_size),
    }
    env.pop("NOTIFGQL_BROKER_URL", None)
    env.pop("NOTIFGQL_BROKER_CHANNEL", None)
    if args.broker_url:
        env["NOTIFGQL_BROKER_URL"] = args.broker_url
    return env


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "notifgql.cli", "migrate"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"notifgql migrate failed:\n{done.stdout}{done.stderr}")


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "notifgql.cli", "serve", "--port", str(port)]
    with log.open("ab") as stderr:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


async def wait_until_up(
    session: aiohttp.ClientSession, base: str, server: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not become ready in 60 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_idle(pid: int, limit: float = 20.0) -> None:
    """Wait (up to ``limit`` seconds) until ``pid`` uses under 10 % of a CPU for 0.5 s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            return


# --- Figures --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (nearest rank, rounding up) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def per_second(times: list[float]) -> list[int]:
    """How many of ``times`` fall in each whole second after T0: [0-1 s, 1-2 s, …]."""
    buckets = [0] * (int(max(times)) + 1 if times else 0)
    for value in times:
        buckets[int(value)] += 1
    return buckets


def phase_result(
    name: str, clients: list[Client], expected: dict[str, frozenset[str]], t0: float
) -> dict[str, Any]:
    """What one phase measured: catch-up times from ``t0`` and delivery checks."""
    owner = {nid: recipient for recipient, ids in expected.items() for nid in ids}
    times = [c.caught_up_at - t0 for c in clients if c.caught_up_at is not None]
    firsts = [c.first_answer_at - t0 for c in clients if c.first_answer_at is not None]
    duplicates = misdelivered = unexpected = removed = 0
    for client in clients:
        removed += client.removed
        for nid, count in client.arrivals.items():
            duplicates += count - 1
            if nid in expected[client.recipient]:
                continue
            if nid in owner:
                misdelivered += 1
            else:
                unexpected += 1  # not published in this phase: resent from before
    missing = sum(
        len(expected[c.recipient] - c.arrivals.keys()) for c in clients if c.expected is not None
    )
    return {
        "phase": name,
        "subscribers": len(clients),
        "caught_up": len(times),
        "p50_s": round(statistics.median(times), 3) if times else None,
        "p90_s": round(percentile(times, 0.90), 3) if times else None,
        "max_s": round(max(times), 3) if times else None,
        "caught_up_per_second": per_second(times),
        "first_answer_p50_s": round(statistics.median(firsts), 3) if firsts else None,
        "first_answer_max_s": round(max(firsts), 3) if firsts else None,
        "changes": sum(len(ids) for ids in expected.values()),
        "missing": missing,
        "duplicates": duplicates,
        "misdelivered": misdelivered,
        "unexpected": unexpected,
        "removed": removed,
        "client_problems": sum(len(c.problems) for c in clients),
        "first_problem": next((c.problems[0] for c in clients if c.problems), None),
    }


def verdict(result: dict[str, Any]) -> bool:
    clean = not any(result[key] for key in ("missing", "duplicates", "misdelivered", "unexpected"))
    return (
        clean
        and result["caught_up"] == result["subscribers"]
        and result["max_s"] is not None
        and result["max_s"] <= TARGET_SECONDS
    )


def summary_line(result: dict[str, Any]) -> str:
    """One line: ``resume: 1000/1000 caught up, p50 0.8 s, … (target ≤ 5 s: met)``."""
    head = f"{result['phase']}: {result['caught_up']}/{result['subscribers']} caught up"
    if result["caught_up"]:
        head += (
            f", p50 {result['p50_s']:.2f} s, p90 {result['p90_s']:.2f} s,"
            f" max {result['max_s']:.2f} s"
        )
    faults = [
        f"{result[key]} {key}"
        for key in ("missing", "duplicates", "misdelivered", "unexpected")
        if result[key]
    ]
    if faults:
        head += " [" + ", ".join(faults) + "]"
    met = "met" if verdict(result) else "MISSED"
    return f"{head} (target ≤ {TARGET_SECONDS:g} s: {met})"


# --- The run --------------------------------------------------------------------------------


async def wait_caught_up(board: Board, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(board.done.wait(), seconds)


async def run(args: argparse.Namespace, scratch: Path, outage: Outage) -> list[dict[str, Any]]:
    # Stopped with SIGTERM, still stop the server: cancelling runs the finally below.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    env = server_env(args)
    say("notifgql migrate")
    migrate(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/graphql"
    log = scratch / "server.log"
    server = start_server(env, port, log)
    board = Board()
    organization = f"org{random.randint(1_000_000, 9_999_999)}"
    recipients = [f"r{n}" for n in range(1, args.subscribers + 1)]
    clients = [
        Client(r, issue_token(SECRET, subject=r, organization_id=organization), board)
        for r in recipients
    ]
    service = issue_token(SECRET, subject="bench", organization_id=organization, role="service")
    results = []
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_until_up(session, base, server)
            if await outage.reattached(10) is None:
                raise SystemExit("the server's broker did not attach in 10 s")

            # Subscribe everyone from since: null, 100 handshakes at a time.
            say(f"connecting {len(clients)} subscribers")
            gate = asyncio.Semaphore(100)

            async def first_connect(client: Client) -> None:
                async with gate:
                    await connect(session, url, client)

            started = time.monotonic()
            await asyncio.gather(*(first_connect(c) for c in clients))
            await asyncio.wait_for(asyncio.gather(*(c.answered.wait() for c in clients)), 120)
            say(f"all subscribed in {time.monotonic() - started:.1f} s")

            # Warm-up: one notification each, received live, proves every subscription live
            # (and opens the server's pooled connections the outage will not let it open).
            for client in clients:
                client.start_phase()
            board.start(recipients)
            warmup = Published()
            plan = publishing_plan(recipients, 1, "warm-up")
            await publish(session, base, service, plan, args.publishers, warmup)
            if warmup.failures:
                raise SystemExit(f"warm-up createNotification failed: {warmup.failures[0]}")
            for client, ids in zip(clients, warmup.ids_of(recipients).values(), strict=True):
                client.expect(ids)
            await wait_caught_up(board, 60)
            if board.waiting:
                raise SystemExit(f"{len(board.waiting)} subscribers missed their warm-up")
            say(f"warm-up delivered live ({warmup.seconds:.1f} s to publish)")

            for name in args.phases:
                # Start from a quiet server: no wake-ups of the previous phase still running.
                await wait_idle(server.pid)
                say(f"{name}: broker down")
                await outage.start()
                down_at = time.monotonic()
                if name == "resume":
                    await disconnect(clients)
                for client in clients:
                    client.start_phase()
                board.start(recipients)
                published = Published()
                plan = publishing_plan(recipients, args.changes, name)
                await publish(session, base, service, plan, args.publishers, published)
                await asyncio.sleep(max(0.0, args.outage - (time.monotonic() - down_at)))
                delivered_early = sum(1 for c in clients if c.arrivals)
                expected = published.ids_of(recipients)
                await outage.end()
                t0, t0_wall, cpu_before = time.monotonic(), time.time(), cpu_seconds(server.pid)
                client_cpu_before = time.process_time()
                say(
                    f"{name}: broker back after {t0 - down_at:.1f} s down;"
                    f" {len(published.owner)} published in {published.seconds:.1f} s"
                    f" ({len(published.failures)} failed)"
                )
                attached = asyncio.create_task(outage.reattached(GIVE_UP_SECONDS))
                if name == "resume":
                    await asyncio.gather(*(connect(session, url, c) for c in clients))
                for client in clients:
                    client.expect(expected[client.recipient])
                await wait_caught_up(board, GIVE_UP_SECONDS - (time.monotonic() - t0))
                cpu_used = cpu_seconds(server.pid) - cpu_before
                client_cpu_used = time.process_time() - client_cpu_before
                back = await attached
                listener_back = None if back is None else round(back - t0_wall, 3)
                # Late duplicates would come within a moment; give them one.
                await asyncio.sleep(1.0)
                result = phase_result(name, clients, expected, t0)
                result |= {
                    "publish_s": round(published.seconds, 2),
                    "publish_failures": len(published.failures),
                    "first_publish_failure": published.failures[0] if published.failures else None,
                    "outage_s": round(t0 - down_at, 2),
                    "delivered_during_outage": delivered_early,
                    "listener_reattached_after_s": listener_back,
                    "server_cpu_s": round(cpu_used, 2),
                    "client_cpu_s": round(client_cpu_used, 2),
                    "max_after_listener_s": (
                        None
                        if listener_back is None or result["max_s"] is None
                        else round(result["max_s"] - listener_back, 3)
                    ),
                    "machine_load_1m": round(os.getloadavg()[0], 2),
                }
                results.append(result)
                say(summary_line(result))
            await disconnect(clients)
    finally:
        for client in clients:
            if client.reader is not None:
                client.reader.cancel()
        await outage.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        text = log.read_text(errors="replace") if log.exists() else ""
        if args.server_log:
            print(text, file=sys.stderr)
        else:
            errors = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
            if errors:
                say(f"the server logged {len(errors)} error lines; first: {errors[0][:300]}")
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument(
        "--changes", type=int, default=2, help="notifications per subscriber in each outage"
    )
    parser.add_argument("--publishers", type=int, default=8, help="concurrent publishing clients")
    parser.add_argument(
        "--outage",
        type=float,
        default=1.0,
        help="the broker stays down at least this long (and until publishing is done);"
        " 0 only terminates the listener, which is back at once",
    )
    parser.add_argument(
        "--phase",
        dest="phases",
        action="append",
        choices=["resume", "live"],
        help="run only this phase (repeatable); default: resume, then live",
    )
    parser.add_argument("--database-url", help="default: a throwaway PostgreSQL cluster")
    parser.add_argument("--broker-url", help="redis://… to fan out through a given Redis")
    parser.add_argument("--redis", action="store_true", help="start a throwaway redis-server")
    parser.add_argument("--pool-size", type=int, default=20)
    parser.add_argument("--server-log", action="store_true", help="print the server's log")
    args = parser.parse_args(argv)
    args.phases = args.phases or ["resume", "live"]
    if args.redis and args.broker_url:
        parser.error("--redis starts its own Redis: leave out --broker-url")
    if args.database_url:
        args.database_url = re.sub(
            r"^postgres(ql)?(\+asyncpg)?://", "postgresql+asyncpg://", args.database_url
        )
    return args


def admin_target(database_url: str) -> tuple[str, str]:
    """asyncpg DSN to connect with for the outage, and the name of the server's database."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    base, _, rest = dsn.rpartition("/")
    name, _, query = rest.partition("?")
    admin = f"{base}/postgres" + (f"?{query}" if query else "")
    return admin, name


async def create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> None:
    args = parse_args()
    # Both ends of every WebSocket live on this machine: two descriptors per subscriber.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    scratch = Path(tempfile.mkdtemp(prefix="notifgql-sync-resume-"))
    cluster = redis = None
    try:
        if args.database_url is None:
            cluster = pgcluster.Cluster(scratch)
            say(f"starting PostgreSQL in {cluster.dir} on port {cluster.port}")
            cluster.start()
            asyncio.run(create_database(cluster.url().replace("+asyncpg", ""), DATABASE))
            args.database_url = cluster.url(DATABASE)
        if args.redis:
            redis = RedisServer(scratch)
            redis.start()
            args.broker_url = redis.url
        if args.broker_url:
            outage: Outage = RedisOutage(args.broker_url, redis)
        else:
            admin, name = admin_target(args.database_url)
            outage = PostgresOutage(admin, name, block=args.outage > 0)
        results = asyncio.run(run(args, scratch, outage))
    except KeyboardInterrupt:
        say("interrupted")
        results = None
    finally:
        if redis is not None:
            redis.stop()
        if cluster is not None:
            say("stopping PostgreSQL")
            cluster.remove()
        shutil.rmtree(scratch, ignore_errors=True)
    if results is None:
        sys.exit(130)
    broker = "redis" if args.broker_url else "postgres LISTEN/NOTIFY"
    print(
        f"# {args.subscribers} subscribers, {args.changes} changes each per outage,"
        f" broker {broker}, outage ≥ {args.outage:g} s"
    )
    for result in results:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
        print()
    for result in results:
        print(summary_line(result))
    if not all(verdict(result) for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
