"""GraphQL documents and small assertions shared by the GraphQL tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

NOTIFICATION_FIELDS = """
  id title description excerpt
  targetType targetId targetTitle targetLabel
  parentType parentId parentTitle rootType rootId projectId
  resource reason
  read readAt seen seenAt dismissed dismissedAt
  important mention actionRequired madeByAutomation
  newActivitiesCount firstUnreadActivityId changeset
  lastActionAt createdAt organizationId recipientId
  actor { id name }
"""

NOTIFICATION = f"query($id: ID!) {{ notification(id: $id) {{ {NOTIFICATION_FIELDS} }} }}"

LIST_IDS = """
query($filter: NotificationFilter, $first: Int, $after: String, $last: Int, $before: String) {
  notifications(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""

PAGE = """
query($filter: NotificationFilter, $page: Int, $pageSize: Int) {
  notificationsPage(filter: $filter, page: $page, pageSize: $pageSize) {
    nodes { id }
    currentPage pageSize totalCount totalPages maxPageSize
  }
}
"""

COUNTS = """
query($filter: NotificationFilter) {
  notificationCounts(filter: $filter) {
    total unread unseen important mentions actionRequired
  }
}
"""

STATE = "id read readAt seen seenAt dismissed dismissedAt"
READ = f"mutation($id: ID!) {{ readNotification(id: $id) {{ {STATE} }} }}"
UNREAD = f"mutation($id: ID!) {{ unreadNotification(id: $id) {{ {STATE} }} }}"
DISMISS = f"mutation($id: ID!) {{ dismissNotification(id: $id) {{ {STATE} }} }}"
UNDISMISS = f"mutation($id: ID!) {{ undismissNotification(id: $id) {{ {STATE} }} }}"
MARK_SEEN = "mutation($ids: [ID!]!) { markSeen(ids: $ids) { count } }"
MARK_ALL_SEEN = "mutation($filter: NotificationFilter) { markAllSeen(filter: $filter) { count } }"
MARK_ALL_READ = "mutation($filter: NotificationFilter) { markAllRead(filter: $filter) { count } }"
CREATE = f"""
mutation($input: CreateNotificationInput!) {{
  createNotification(input: $input) {{ {NOTIFICATION_FIELDS} }}
}}
"""

# Words that would betray a stack trace, SQL or a driver in an error message.
LEAKY_WORDS = (
    "traceback",
    "select ",
    "update ",
    "insert ",
    " from ",
    "where ",
    "sqlalchemy",
    "sqlite",
    "asyncpg",
    "postgres",
    "psycopg",
    "notifications.",
    "exception",
    'file "',
)


def ids(connection_or_page: dict[str, Any]) -> list[int]:
    """The notification ids of a connection or page, in the order returned."""
    return [int(node["id"]) for node in connection_or_page["nodes"]]


def when(value: str | None) -> datetime | None:
    """A DateTime from the API as an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no time zone"
    return parsed


def assert_error(body: dict[str, Any], code: str) -> None:
    """Every error of ``body`` has ``code``; none betrays internals; no data leaks with it."""
    errors = body.get("errors")
    assert errors, body
    for error in errors:
        assert error["extensions"]["code"] == code, body
        message = error["message"].lower()
        for word in LEAKY_WORDS:
            assert word not in message, f"{word!r} in error message {error['message']!r}"
        for key in ("exception", "stacktrace", "traceback"):
            assert key not in error["extensions"], error["extensions"]


def assert_no_data(body: dict[str, Any]) -> None:
    """A refused request returns no data: ``data`` is null, or each root field is null."""
    data = body.get("data")
    assert data is None or all(value is None for value in data.values()), body
