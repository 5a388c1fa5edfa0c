"""Compiled plans build each filter value's domain filter once; keys must never collide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifgql.errors import BadUserInput
from notifgql.graphql.compiled import _filter, _frozen
from notifgql.notifications.filters import EVERYTHING, NotificationFilter


def test_values_that_compare_equal_but_differ_get_their_own_keys() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    elsewhere = at.astimezone(timezone(timedelta(hours=2)))
    assert at == elsewhere
    assert _frozen(at) != _frozen(elsewhere)
    assert _frozen(True) != _frozen(1)
    assert _frozen({"a": ["b"]}) != _frozen({"a": "b"})
    assert _frozen(["a", "b"]) != _frozen(["b", "a"])
    assert _frozen({"x": 1, "y": 2}) == _frozen({"y": 2, "x": 1})


def test_the_same_value_gives_the_same_filter_and_others_their_own() -> None:
    first = _filter({"filter": {"category": "work", "tags": ["a", "b"]}})
    again = _filter({"filter": {"tags": ["a", "b"], "category": "work"}})
    other = _filter({"filter": {"category": "home", "tags": ["a", "b"]}})
    assert first is again
    assert first == NotificationFilter(category="work", tags=("a", "b"))
    assert other == NotificationFilter(category="home", tags=("a", "b"))
    assert _filter({}) is EVERYTHING


def test_bad_input_is_refused_every_time() -> None:
    bad = {"filter": {"tags": [f"t{n}" for n in range(21)]}}
    for _ in range(2):
        with pytest.raises(BadUserInput):
            _filter(bad)
