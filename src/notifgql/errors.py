"""The one error vocabulary of notifgql, rendered by every door.

    NotifGqlError            code                      HTTP
    ├── Unauthenticated      UNAUTHENTICATED           401
    ├── Forbidden            FORBIDDEN                 403
    ├── NotFound             NOT_FOUND                 404
    ├── BadUserInput         BAD_USER_INPUT            400
    ├── TooManySubscriptions TOO_MANY_SUBSCRIPTIONS    429
    └── ServiceUnavailable   SERVICE_UNAVAILABLE       503

Anything else that escapes is an ``INTERNAL_SERVER_ERROR``: logged in full, shown masked.
"""

from __future__ import annotations

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
# All a client is told of an unexpected error; the details go to the log.
MASKED_MESSAGE = "Internal server error"


class NotifGqlError(Exception):
    """An error whose message is safe to show to the client."""

    code = INTERNAL_SERVER_ERROR
    status = 500

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The input at fault (a GraphQL argument or a REST query parameter), when one is.
        self.parameter = parameter


class Unauthenticated(NotifGqlError):
    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(NotifGqlError):
    code = "FORBIDDEN"
    status = 403


class NotFound(NotifGqlError):
    code = "NOT_FOUND"
    status = 404


class BadUserInput(NotifGqlError):
    code = "BAD_USER_INPUT"
    status = 400


class TooManySubscriptions(NotifGqlError):
    code = "TOO_MANY_SUBSCRIPTIONS"
    status = 429


class ServiceUnavailable(NotifGqlError):
    code = "SERVICE_UNAVAILABLE"
    status = 503


# Seconds a client is told to wait (Retry-After) before trying again after a 503: outages
# this process recovers from by itself (a restarting database, a lost connection) take
# about this long to notice and heal.
RETRY_AFTER_SECONDS = 2


class ClientGone(Exception):
    """The client closed its connection before its request's body arrived: nobody to answer."""


class TransientConflict(ServiceUnavailable):
    """A transaction lost to a concurrent one (deadlock, serialization failure).

    Running it again is expected to succeed, so the unit of work does; once its attempts
    are spent, the client hears 503 "try again", which is what it is: not a bad request and
    not a fault of the server, only bad timing.
    """
