"""Shape checks of client WebSocket frames, before Strawberry's handlers index into them.

Strawberry trusts a frame to be an object with well-typed fields; anything else raised
deep in its handlers (a dropped socket, or an operation that silently never runs). Each
check returns what is wrong with a frame, or None when the handler may take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Frames that name an operation, per protocol: the id is how the answers find it.
_TRANSPORT_OPERATION_FRAMES = frozenset({"subscribe", "complete"})
_LEGACY_OPERATION_FRAMES = frozenset({"start", "stop"})


def transport_frame_problem(frame: object) -> str | None:
    """What makes ``frame`` an invalid graphql-transport-ws message, if anything."""
    if not isinstance(frame, Mapping):
        return "Message must be a JSON object"
    kind = frame.get("type")
    if not isinstance(kind, str):
        return "Message type must be a string"
    if kind in _TRANSPORT_OPERATION_FRAMES and not _is_id(frame.get("id")):
        return "Message id must be a non-empty string"
    if kind == "subscribe":
        return request_problem(frame.get("payload"))
    return None


def legacy_frame_problem(frame: object) -> str | None:
    """What makes ``frame`` an invalid graphql-ws (legacy) message, if anything."""
    if not isinstance(frame, Mapping):
        return "Message must be a JSON object"
    kind = frame.get("type")
    if not isinstance(kind, str):
        return "Message type must be a string"
    if kind in _LEGACY_OPERATION_FRAMES and not _is_id(frame.get("id")):
        return "Message id must be a non-empty string"
    if kind == "start":
        return request_problem(frame.get("payload"))
    return None


def request_problem(payload: object) -> str | None:
    """What makes ``payload`` an invalid GraphQL request (query, variables, …), if anything."""
    if not isinstance(payload, Mapping):
        return "Message payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "payload.query must be a string"
    if not _optional(payload, "variables", Mapping):
        return "payload.variables must be an object or null"
    if not _optional(payload, "operationName", str):
        return "payload.operationName must be a string or null"
    if not _optional(payload, "extensions", Mapping):
        return "payload.extensions must be an object or null"
    return None


def frame_id(frame: object) -> str | None:
    """The frame's operation id, when it has a usable one."""
    if isinstance(frame, Mapping):
        value = frame.get("id")
        if _is_id(value):
            return str(value)
    return None


def _is_id(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _optional(payload: Mapping[str, Any], key: str, kind: type) -> bool:
    value = payload.get(key)
    return value is None or isinstance(value, kind)
