"""A deadline for a whole read, enforced by closing the driver's connection under it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def closed_at(deadline: float, terminate: Callable[[], object], timeout: float) -> Iterator[None]:
    """Run the block; at ``deadline`` (event-loop time) call ``terminate`` on its connection.

    Closing the socket fails the statement in flight at once. Cancelling the task instead
    would make the drivers (and SQLAlchemy) wind the statement down politely, which against
    a server that answers nothing means waiting on it once more. A failure past the deadline
    is reported as the timeout it is, not as the closed connection it shows up as.
    """
    loop = asyncio.get_running_loop()
    overdue = loop.call_at(deadline, terminate)
    try:
        yield
    except Exception as error:
        if loop.time() >= deadline:
            raise TimeoutError(f"the database did not answer within {timeout:g}s") from error
        raise
    finally:
        overdue.cancel()
