"""The rule for recipient, organization and actor ids, on its own."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from notifgql.auth import issue_token
from notifgql.ids import opaque_id_problem
from notifgql.notifications.limits import MAX_OPAQUE_ID_LENGTH
from tests.string_ids import BAD_IDS, PEOPLE

GOOD = [
    "3030",
    "0",
    "01",
    " padded ",
    "u_8f2c",
    "auth0|abc123",
    "Ünïcødé 🚀 \u200d\u202e",
    "x" * MAX_OPAQUE_ID_LENGTH,
    *(person.recipient_id for person in PEOPLE),
    *(person.organization_id for person in PEOPLE),
]


class TestOpaqueIds:
    @pytest.mark.parametrize("value", GOOD)
    def test_usable_ids(self, value: str) -> None:
        assert opaque_id_problem(value) is None

    @pytest.mark.parametrize("value", list(BAD_IDS.values()), ids=list(BAD_IDS))
    def test_unusable_ids(self, value: str) -> None:
        assert opaque_id_problem(value) is not None

    def test_every_control_character_and_surrogate_is_refused(self) -> None:
        refused = {
            code
            for code in range(sys.maxunicode + 1)
            if opaque_id_problem(f"a{chr(code)}b") is not None
        }
        expected = {
            code
            for code in range(sys.maxunicode + 1)
            if unicodedata.category(chr(code)) in ("Cc", "Cs")
        }
        assert refused == expected

    def test_problems_read_as_the_end_of_a_sentence(self) -> None:
        assert opaque_id_problem("") == "must not be empty"
        assert opaque_id_problem("x" * 256) == "is longer than 255 characters"
        assert opaque_id_problem("a\x07") == "contains a control character or a lone surrogate"

    def test_tokens_are_issued_only_for_usable_ids(self) -> None:
        for claim, (subject, organization) in {
            "sub": ("", "10"),
            "org": ("1001", "x" * 256),
        }.items():
            with pytest.raises(ValueError, match=f"the {claim} claim"):
                issue_token("s" * 40, subject=subject, organization_id=organization)
