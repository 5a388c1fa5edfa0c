"""The one error vocabulary of notifgql, rendered by every door.

    NotifGqlError            code                      HTTP
    ├── Unauthenticated      UNAUTHENTICATED           401
    ├── Forbidden            FORBIDDEN                 403
    ├── NotFound             NOT_FOUND                 404
    ├── BadUserInput         BAD_USER_INPUT            400
    ├── TooManySubscriptions TOO_MANY_SUBSCRIPTIONS    429
    └── ServiceUnavailable   SERVICE_UNAVAILABLE       503

Anything else that escapes is an ``INTERNAL_SERVER_ERROR``: logged in full, shown masked.

An error about one input names it in the domain's neutral terms (``filter.target_type``,
``notification.title``, ``page_size``); each door renders that name as its clients know it
(``filter.targetType``, ``filter[type]``, ``per_page``) through its own table of names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

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
        # The input at fault, in neutral terms; a door-specific one only where a door's own
        # parsing refuses something the domain has no name for (an unknown parameter).
        self.parameter = parameter
        # What the message says of the parameter, when it begins with the parameter's name.
        self._predicate: str | None = None

    @classmethod
    def about(cls, parameter: str, predicate: str) -> Self:
        """An error whose message is ``parameter`` then ``predicate``, e.g. "page is too large"."""
        error = cls(f"{parameter} {predicate}", parameter=parameter)
        error._predicate = predicate
        return error

    def named(self, names: Mapping[str, str]) -> tuple[str, str | None]:
        """The message and the parameter in one door's terms, given its table of names.

        A name the table lacks is already the door's own, and is kept.
        """
        if self.parameter is None:
            return self.message, None
        name = names.get(self.parameter, self.parameter)
        if self._predicate is None:
            return self.message, name
        return f"{name} {self._predicate}", name


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


class ResyncRequired(NotifGqlError):
    """A change-feed position older than the history kept: the client must sync afresh."""

    code = "RESYNC_REQUIRED"
    status = 410


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
