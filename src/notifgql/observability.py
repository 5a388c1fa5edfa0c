"""What operators see: request ids, one JSON log line per request, Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import traceback
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy.exc import DBAPIError

from notifgql import requestkeys
from notifgql.errors import ClientGone

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_CLOSED_REQUEST = 499
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_VALID_OPERATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Operation names come from clients; past this many distinct ones they are counted as "other"
# so that a client cannot grow the metrics without bound.
MAX_OPERATION_LABELS = 200

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("notifgql.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {
            key: value
            for key, value in vars(record).items()
            if key not in self._standard and value is not None
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry |= error_summary(record.exc_info[1])
        return orjson.dumps(entry, default=str).decode()


def error_summary(error: BaseException) -> dict[str, str]:
    """What an operator needs of an exception, on one line: its type, the first line of its
    message and where it was raised (the innermost notifgql frame, else the innermost).

    Never a whole traceback: log lines must stay one line each, and tracebacks carry local
    detail (SQL with its parameters, header values) that has no business in a log.
    """
    shown: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        shown = error.orig  # SQLAlchemy's own message appends the SQL and its parameters
    message = (str(shown).strip().splitlines() or [""])[0][:300]
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if f"{os.sep}notifgql{os.sep}" in frame.filename]
    summary = {"error": f"{type(shown).__name__}: {message}" if message else type(shown).__name__}
    if frames:
        frame = (ours or frames)[-1]
        where = Path(frame.filename)
        summary["where"] = f"{'/'.join(where.parts[-2:])}:{frame.lineno} in {frame.name}"
    return summary


class QuietProtocolErrors(logging.Filter):
    """Malformed HTTP from a client (a bad chunk size, a body that does not decompress) is
    answered 400 by aiohttp, which also logs it at ERROR with a traceback: keep one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "malformed request: %s", (error.message.splitlines()[0],)
            record.exc_info = None
        return True


def install_request_ids() -> None:
    """Stamp every log record with the id of the request it was logged in, if any."""
    current = logging.getLogRecordFactory()
    if getattr(current, "stamps_request_ids", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory.stamps_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as a JSON line."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietProtocolErrors) for f in server_log.filters):
        server_log.addFilter(QuietProtocolErrors())


def door(path: str) -> str:
    """Which front door a path belongs to."""
    if path == "/graphql":
        return "graphql"
    if path.startswith("/api/v2/notifications"):
        return "jsonapi"
    if path == "/notifications" or path.startswith("/notifications/"):
        return "crm"
    return "other"


class Metrics:
    """This application's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "notifgql_requests",
            "Requests by door, GraphQL operation name and outcome",
            ["door", "operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "notifgql_request_duration_seconds",
            "Request latency by door",
            ["door"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.pool_in_use = Gauge(
            "notifgql_db_pool_connections_in_use",
            "Database connections checked out of the pool",
            registry=self.registry,
        )
        self.subscriptions = Gauge(
            "notifgql_subscriptions_open",
            "Live subscriptions held by this process",
            registry=self.registry,
        )
        self.subscriptions_live = Gauge(
            "notifgql_subscriptions_live",
            "Subscriptions of this process attached to the event broker (receiving events)",
            registry=self.registry,
        )
        self.plan_fallbacks = Counter(
            "notifgql_plan_fallbacks",
            "Requests a compiled plan handed back to the executor, by reason",
            ["reason"],
            registry=self.registry,
        )
        self._operations: set[str] = set()
        # Bounded: doors x operation labels (capped) x outcomes.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._latencies: dict[str, Any] = {}

    def operation_label(self, name: str | None) -> str:
        """A bounded label for a client-chosen operation name."""
        if not name:
            return "anonymous"
        if not _VALID_OPERATION.fullmatch(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "other"
            self._operations.add(name)
        return name

    def count(self, door: str, operation: str, outcome: str, seconds: float) -> None:
        """Count one request and its latency."""
        # A metric's labels() validates and locks on every call; its children are kept here.
        key = (door, operation, outcome)
        if (counter := self._counters.get(key)) is None:
            counter = self._counters[key] = self.requests.labels(door, operation, outcome)
        if (latency := self._latencies.get(door)) is None:
            latency = self._latencies[door] = self.latency.labels(door)
        counter.inc()
        latency.observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def _clipped(text: str | None, limit: int = 100) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit] + "…"


def _outcome(request: web.Request, status: int) -> str:
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return str(request.get(requestkeys.GRAPHQL_OUTCOME, "ok"))


def request_middleware(metrics: Metrics) -> Any:
    """Request id, access log line and metrics around every request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        # 128 random bits as 32 hex digits, as uuid4().hex gives, for a third of its cost.
        request_id = given if given and _VALID_REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as error:
            status = error.status
            error.headers[REQUEST_ID_HEADER] = request_id
            raise
        except ClientGone:
            # The client hung up mid-body: its mistake (or its network's), not a server error,
            # and no traceback to log. 499 is the status proxies use for it.
            status = CLIENT_CLOSED_REQUEST
            return web.Response(status=status)
        except asyncio.CancelledError:
            if request.transport is None:
                # aiohttp cancels the handler of a connection that was lost: the same case.
                status = CLIENT_CLOSED_REQUEST
            raise
        finally:
            elapsed = time.perf_counter() - started
            which = door(request.path)
            operation = metrics.operation_label(request.get(requestkeys.GRAPHQL_OPERATION))
            metrics.count(which, operation, _outcome(request, status), elapsed)
            if access_log.isEnabledFor(logging.INFO):
                viewer = request.get(requestkeys.VIEWER)
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        # Client-chosen and otherwise unbounded: a log line stays a line.
                        "operation": _clipped(request.get(requestkeys.GRAPHQL_OPERATION)),
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        # Two fields, not "org/sub": either id may itself hold a "/".
                        "viewer": None
                        if viewer is None
                        else {"org": viewer.organization_id, "sub": viewer.subject},
                    },
                )
            request_id_var.reset(token)

    return middleware
