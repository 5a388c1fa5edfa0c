"""Schema-driven fuzzing: queries and mutations generated from schema.graphql, sent for real.

hypothesis-graphql builds documents from the SDL (valid ones, and ones with exactly one
schema violation); each is POSTed to the running endpoint with a user token and with a
service token. None may cause a 500 or an INTERNAL_SERVER_ERROR, every error must carry one
of the contract's codes, and nothing outside the caller's reach may change.
"""

from __future__ import annotations

import json
from pathlib import Path

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.hardening.test_properties import date_times

SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
ROLES = pytest.mark.parametrize("role", ["user", "service"])
# What a caller with a valid token may be told; UNAUTHENTICATED would mean the token broke.
CONTRACT_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN"}


def _json_values() -> st.SearchStrategy[graphql.ValueNode]:
    scalars: st.SearchStrategy[graphql.ValueNode] = st.one_of(
        st.text(max_size=20).map(nodes.String),
        st.integers(min_value=-(2**63), max_value=2**63).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.booleans().map(nodes.Boolean),
        st.just(graphql.NullValueNode()),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(nodes.List),
            st.dictionaries(
                st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), inner, max_size=3
            ).map(
                lambda fields: nodes.Object(
                    [
                        graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value)
                        for key, value in fields.items()
                    ]
                )
            ),
        ),
        max_leaves=8,
    )


def documents(mode: Mode, fields: list[str] | None = None) -> st.SearchStrategy[str]:
    """Queries and mutations of the schema (or of ``fields``), with ids that often exist."""
    people = [ALICE.recipient_id, BOB.recipient_id]  # as recipientId: someone's inbox
    id_nodes = st.one_of(
        st.integers(min_value=1, max_value=8).map(nodes.String),
        st.integers(min_value=1, max_value=8).map(nodes.Int),
        st.sampled_from(people).map(nodes.String),
        st.integers(min_value=-(2**64), max_value=2**64).map(nodes.String),
        st.text(max_size=12).map(nodes.String),
    )
    return from_schema(
        SDL,
        custom_scalars={
            "ID": id_nodes,
            "DateTime": (date_times | st.text(max_size=30)).map(nodes.String),
            "JSON": _json_values(),
        },
        fields=fields,
        mode=mode,
    )


VALID = documents(Mode.POSITIVE)
ONE_VIOLATION = documents(Mode.NEGATIVE)
# A service token is refused everything but publishing: fuzz that one door harder.
CREATES = documents(Mode.POSITIVE, ["createNotification"]) | documents(
    Mode.NEGATIVE, ["createNotification"]
)


@pytest.fixture
async def seeded(api: Api) -> list[int]:
    """A few rows in each inbox; the generated ids (1 to 8) name them and some absent ones."""
    ids = []
    for person in (ALICE, ALICE, ALICE, BOB, ALICE_ELSEWHERE):
        ids.append(await api.add(person, target_type="Task", project_id=5, important=True))
    assert max(ids) <= 8
    return ids


async def fuzz_once(api: Api, document: str, role: str) -> None:
    person: Person = ALICE
    before = await api.snapshot()
    response = await api.client.post(
        "/graphql", json={"query": document}, headers=api.auth(person, role)
    )
    text = await response.text()
    assert response.status < 500, (document, text)
    assert "INTERNAL_SERVER_ERROR" not in text, (document, text)
    body = json.loads(text)
    for error in body.get("errors", []):
        assert error["extensions"]["code"] in CONTRACT_CODES, (document, body)
    after = await api.snapshot()
    # Columns: id, organization_id, recipient_id, … (as the table defines them).
    old_rows = {row[0]: row for row in before}
    new_rows = {row[0]: row for row in after}
    assert old_rows.keys() <= new_rows.keys(), (document, "rows disappeared")
    # What exists changes only in the caller's own inbox, and only for a user token.
    mine = (ALICE.organization_id, ALICE.recipient_id)
    for row_id, row in old_rows.items():
        if role == "service" or (row[1], row[2]) != mine:
            assert new_rows[row_id] == row, (document, f"row {row_id} changed")
    # New rows come only from a service token, and only into its own organization.
    created = [new_rows[row_id] for row_id in new_rows.keys() - old_rows.keys()]
    if role == "user":
        assert not created, (document, "a user token created rows")
    for row in created:
        assert row[1] == ALICE.organization_id, (document, "created outside the org")


@pytest.mark.usefixtures("seeded")
class TestGeneratedDocuments:
    @ROLES
    @FUZZ
    @given(document=VALID)
    async def test_valid_documents(self, api: Api, role: str, document: str) -> None:
        await fuzz_once(api, document, role)

    @ROLES
    @FUZZ
    @given(document=ONE_VIOLATION)
    async def test_documents_with_one_violation(self, api: Api, role: str, document: str) -> None:
        await fuzz_once(api, document, role)

    @FUZZ
    @given(document=CREATES)
    async def test_service_creates(self, api: Api, document: str) -> None:
        await fuzz_once(api, document, "service")
