"""Automatic persisted queries, as Apollo's clients speak them: query texts named by SHA-256.

A client sends ``extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}``
without its query text; when the server knows the hash it runs the text stored under it,
otherwise it answers ``PERSISTED_QUERY_NOT_FOUND`` and the client sends the hash and the text
together, which the server checks (the hash must be the text's SHA-256) and remembers.

The store only maps hashes to texts: a text found by its hash then takes the same path as a
text sent in full, so its checked document and compiled plan are the ones the text has.
It is bounded twice, by its number of texts and by the memory they take, the least recently
used going first; it belongs to one process. Nothing an anonymous caller sends is stored, and
an anonymous caller is never answered from the store (it always hears ``NOT_FOUND``), so that
nobody without a token can grow the process or ask what other callers have sent.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

VERSION = 1
# The memory the stored texts may take together: a few thousand everyday texts of some
# kilobytes each, while a store filled with the largest texts allowed stays bounded.
MAX_STORED_BYTES = 16 * 1024 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED_CODE = "PERSISTED_QUERY_NOT_SUPPORTED"
# The codes that ask the client to send its text: answered 200, as Apollo's clients expect.
ASKING_FOR_THE_TEXT = frozenset({NOT_FOUND_CODE, NOT_SUPPORTED_CODE})


def not_found() -> dict[str, Any]:
    """The answer to a hash this process does not know (the client then sends the text)."""
    return {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": NOT_FOUND_CODE}}]
    }


def not_supported() -> dict[str, Any]:
    """The answer to a hash alone while persisted queries are switched off."""
    return {
        "errors": [
            {"message": "PersistedQueryNotSupported", "extensions": {"code": NOT_SUPPORTED_CODE}}
        ]
    }


class BadPersistedQuery(Exception):
    """A persistedQuery extension the server refuses; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def requested_hash(extensions: dict[str, Any] | None, known: Container[str] = ()) -> str | None:
    """The SHA-256 (lowercase hex) a request's extensions name, or None when they name none.

    A hash in ``known`` (the store's keys) is well-formed already: the pattern match, which
    costs as much as the rest of a hit's bookkeeping, is left out for it.
    """
    if extensions is None:
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    # Every persisted request passes here: the well-formed case is checked first, in one go.
    if type(persisted) is dict:
        version, sha256 = persisted.get("version"), persisted.get("sha256Hash")
        if (
            type(version) is int
            and version == VERSION
            and type(sha256) is str
            and (sha256 in known or _SHA256_HEX.fullmatch(sha256))
        ):
            return sha256
    raise BadPersistedQuery(_what_is_wrong(persisted))


def _what_is_wrong(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        return "extensions.persistedQuery must be an object"
    version = persisted.get("version")
    if type(version) is not int or version != VERSION:
        return f"extensions.persistedQuery.version must be {VERSION}, the only version supported"
    return "extensions.persistedQuery.sha256Hash must be 64 lowercase hexadecimal digits"


def sha256_of(query: str) -> str:
    """The hash a client computes for ``query``: SHA-256 of its UTF-8, in lowercase hex."""
    # surrogatepass: a lone surrogate cannot come from a client's UTF-8, so the hash it
    # gives simply matches nothing (instead of raising).
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class _Entry:
    query: str
    weight: int


class PersistedQueries:
    """Query texts by their SHA-256, at most ``capacity`` of them and ``max_bytes`` in all."""

    def __init__(self, capacity: int, max_bytes: int = MAX_STORED_BYTES) -> None:
        if capacity < 1:
            raise ValueError("a store holds at least one query")
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._weight = 0

    def get(self, sha256: str) -> str | None:
        """The text stored under ``sha256``, now the most recently used; None if unknown."""
        entry = self._entries.get(sha256)
        if entry is None:
            return None
        self._entries.move_to_end(sha256)
        return entry.query

    def put(self, sha256: str, query: str) -> None:
        """Remember ``query`` under ``sha256``, which the caller has checked is its hash."""
        present = self._entries.get(sha256)
        if present is not None:
            self._entries.move_to_end(sha256)
            return
        weight = sys.getsizeof(query)
        if weight > self.max_bytes // 4:
            return  # one huge text would push out many everyday ones
        self._entries[sha256] = _Entry(query, weight)
        self._weight += weight
        while len(self._entries) > self.capacity or self._weight > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._weight -= evicted.weight

    @property
    def weight(self) -> int:
        """Bytes of memory the stored texts take."""
        return self._weight

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._entries

    def __len__(self) -> int:
        return len(self._entries)
