"""Fan-out between processes through Redis pub/sub.

Publishing uses the client's connection pool; receiving uses one pub/sub connection per
process. redis-py reconnects and resubscribes on its own after short outages, and this
broker starts a fresh subscription with backoff after longer ones. Either way Redis
confirms the (re)subscription with a ``subscribe`` message, and each confirmation makes
every subscriber of this process resynchronise, since messages published while it was
not subscribed are gone.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from notifgql.notifications.relay_broker import RelayBroker
from notifgql.notifications.subscriber import DEFAULT_QUEUE_SIZE

log = logging.getLogger(__name__)


class RedisBroker(RelayBroker):
    """Carries events between every process that uses the same Redis and channel."""

    def __init__(
        self,
        url: str,
        *,
        channel: str,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        timeout: float = 5.0,
        health_interval: float = 30.0,
    ) -> None:
        super().__init__(
            queue_size, channel=channel, timeout=timeout, health_interval=health_interval
        )
        self.client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_keepalive=True,
            # A PING on the idle pub/sub connection, so that a dead one is noticed.
            health_check_interval=int(health_interval),
        )

    async def detach(self) -> None:
        """Close the Redis client."""
        await self.client.aclose()

    async def send(self, messages: Sequence[str]) -> None:
        """PUBLISH each message, in order, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(self.channel, message)
            await pipe.execute()

    async def stay_attached(self) -> None:
        delay = self.retry_initial
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=self.health_interval)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        delay = self.retry_initial
                        self.attached.set()
                        self.resync_all()
                        log.info("subscribed to Redis channel %r", self.channel)
                    elif message["type"] == "message":
                        self.receive(message["data"])
            except (RedisError, OSError) as error:
                self.attached.clear()
                log.warning("Redis subscription failed (%s); retrying in %.2fs", error, delay)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            # Jitter keeps a fleet of processes from reconnecting in lockstep.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.retry_max)
