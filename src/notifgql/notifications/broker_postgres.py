"""Fan-out between processes through PostgreSQL LISTEN/NOTIFY.

Each process keeps one dedicated asyncpg connection outside the SQLAlchemy pool. It
LISTENs on the channel and also sends the NOTIFYs: a NOTIFY outside a transaction commits
at once, and PostgreSQL delivers it to every listener, this process included. A supervisor
task watches the connection (asyncpg's termination callback, plus a periodic ping for
connections that die silently) and reconnects with exponential backoff. Whatever was
notified while this process was not listening is lost to it, so every (re)connection
makes all of its subscribers resynchronise.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any

import asyncpg

from notifgql.notifications.relay_broker import RelayBroker
from notifgql.notifications.subscriber import DEFAULT_QUEUE_SIZE

log = logging.getLogger(__name__)

APPLICATION_NAME = "notifgql-listener"


class PostgresBroker(RelayBroker):
    """Carries events between the processes that share one PostgreSQL database."""

    def __init__(
        self,
        dsn: str,
        *,
        channel: str,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        timeout: float = 5.0,
        health_interval: float = 30.0,
    ) -> None:
        super().__init__(
            queue_size, channel=channel, timeout=timeout, health_interval=health_interval
        )
        self._dsn = dsn
        self._conn: Any = None
        # asyncpg allows one operation at a time per connection: NOTIFY and ping take turns.
        self._lock = asyncio.Lock()

    async def send(self, messages: Sequence[str]) -> None:
        """NOTIFY each message, in order, in one round trip."""
        await self.attached.wait()
        conn = self._conn
        if conn is None or conn.is_closed():
            raise ConnectionError("the listener connection is closed")
        async with self._lock:
            await conn.execute(
                "SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message",
                self.channel,
                list(messages),
                timeout=self.timeout,
            )

    async def stay_attached(self) -> None:
        delay = self.retry_initial
        while True:
            lost = asyncio.Event()
            try:
                conn = await self._connect(lost)
            except Exception as error:
                log.warning("cannot LISTEN on PostgreSQL (%s); retrying in %.2fs", error, delay)
                # Jitter keeps a fleet of processes from reconnecting in lockstep.
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_initial
            self._conn = conn
            self.attached.set()
            self.resync_all()
            log.info("listening on PostgreSQL channel %r", self.channel)
            try:
                await self._watch(conn, lost)
            finally:
                self.attached.clear()
                self._conn = None
                conn.terminate()
            log.warning("lost the PostgreSQL listener connection; reconnecting")

    async def _connect(self, lost: asyncio.Event) -> Any:
        conn = await asyncpg.connect(
            self._dsn,
            timeout=self.timeout,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(self.channel, self._on_notification)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        """Return once ``conn`` is gone or stops answering."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self.health_interval)
            except TimeoutError:
                pass
            else:
                return
            try:
                async with self._lock:
                    await conn.execute("SELECT 1", timeout=self.timeout)
            except Exception as error:
                log.warning("the PostgreSQL listener connection stopped answering: %s", error)
                return

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.receive(payload)
