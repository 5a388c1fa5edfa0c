"""A page of the inbox by page number, with the count of every match: what REST lists show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notifgql.auth import Viewer
from notifgql.db.engine import Database
from notifgql.notifications import pagination, queries
from notifgql.notifications.filters import NotificationFilter
from notifgql.notifications.queries import Record


@dataclass(frozen=True, slots=True)
class NumberedPage:
    """Rows ``number`` of ``size`` in the list order, and how many match in all."""

    rows: Sequence[Record]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        """Pages needed for every match; 0 for none."""
        return pagination.total_pages(self.total, self.size)


async def read_numbered_page(
    database: Database, viewer: Viewer, spec: NotificationFilter, number: int, size: int
) -> NumberedPage:
    """Page ``number`` of ``size`` rows matching ``spec``, and the total.

    Both reads share one connection but not one snapshot (reads run in autocommit): a
    change committed between them can make the total differ from the rows by that change,
    as it could between two requests.
    """
    offset, limit = pagination.page_bounds(number, size)
    async with database.reader() as conn:
        rows = await queries.list_page(conn, viewer, spec, offset, limit)
        total = await queries.count(conn, viewer, spec)
    return NumberedPage(rows, total, number, size)
