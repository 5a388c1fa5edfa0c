"""Tokens of an identity provider: which are accepted, which refused, and whom they name."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.client import ALICE, ALICE_ELSEWHERE, BOB, Api, Person
from tests.conftest import JWT_SECRET
from tests.graphql.documents import CREATE, assert_error, assert_no_data
from tests.oidc.provider import (
    ALGORITHMS,
    SERVICE_SCOPE,
    Provider,
    bearer,
    hand_made,
    hs256_with_key,
    public_jwk,
    public_pem,
)
from tests.string_ids import AUTH0, UUID

INBOX = "{ notifications(first: 10) { nodes { id recipientId organizationId } } }"


async def inbox(api: Api, token: str) -> dict[str, Any]:
    """The GraphQL answer to an inbox query sent with ``token``."""
    status, body = await api.gql_raw(INBOX, headers=bearer(token))
    assert status == 200, body
    return body


async def refused(api: Api, token: str) -> str:
    """The message of the UNAUTHENTICATED error ``token`` gets; fails on anything else."""
    body = await inbox(api, token)
    assert_error(body, "UNAUTHENTICATED")
    assert_no_data(body)
    return str(body["errors"][0]["message"])


class TestAccepted:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    async def test_each_algorithm_reads_the_inbox(
        self, api: Api, provider: Provider, algorithm: str
    ) -> None:
        kid = provider.add_key(algorithm)
        mine = await api.add(ALICE)
        await api.add(BOB)

        body = await inbox(api, provider.token(kid))

        assert body == {
            "data": {
                "notifications": {
                    "nodes": [{"id": str(mine), "recipientId": "1001", "organizationId": "10"}]
                }
            }
        }

    @pytest.mark.parametrize("person", [AUTH0, UUID], ids=["auth0", "uuid"])
    async def test_subjects_and_organizations_are_ids_as_they_are(
        self, api: Api, provider: Provider, person: Person
    ) -> None:
        kid = provider.add_key()
        mine = await api.add(person)
        await api.add(Person(person.recipient_id.upper(), person.organization_id))

        token = provider.token(kid, provider.claims(person.recipient_id, person.organization_id))
        body = await inbox(api, token)

        assert body["data"]["notifications"]["nodes"] == [
            {
                "id": str(mine),
                "recipientId": person.recipient_id,
                "organizationId": person.organization_id,
            }
        ]

    async def test_hs256_tokens_keep_working_beside_the_provider(
        self, api: Api, provider: Provider
    ) -> None:
        provider.add_key("RS256")
        mine = await api.add(ALICE)

        body = await inbox(api, api.token(ALICE))

        assert [node["id"] for node in body["data"]["notifications"]["nodes"]] == [str(mine)]
        # Decided by the header's alg alone: the provider was not even asked.
        assert provider.fetches == 0

    async def test_a_small_clock_skew_is_tolerated(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        now = int(time.time())
        ahead = provider.claims(iat=now + 20, nbf=now + 20)

        body = await inbox(api, provider.token(kid, ahead))

        assert "errors" not in body, body


class TestRefused:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                lambda _: {"iss": "https://someone-else.example.test/"},
                "The token's issuer is not accepted",
            ),
            (
                lambda _: {"aud": "https://another-api.example.test"},
                "The token's audience is not accepted",
            ),
            # exp is exact: the skew allowed for nbf and iat does not extend a token's life.
            (lambda now: {"exp": now - 1}, "The token has expired"),
            (lambda now: {"exp": now - 120}, "The token has expired"),
            (lambda now: {"nbf": now + 120}, "The token is invalid"),
            (lambda now: {"iat": now + 120}, "The token is invalid"),
        ],
        ids=["issuer", "audience", "just-expired", "expired", "not-before", "issued-in-the-future"],
    )
    async def test_claims_out_of_bounds(
        self, api: Api, provider: Provider, change: Callable[[int], dict[str, Any]], message: str
    ) -> None:
        kid = provider.add_key()
        # The same token with proper claims passes: the change alone is what is refused.
        assert "errors" not in await inbox(api, provider.token(kid))
        claims = provider.claims() | change(int(time.time()))

        assert await refused(api, provider.token(kid, claims)) == message

    @pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
    async def test_required_claim_missing(self, api: Api, provider: Provider, claim: str) -> None:
        kid = provider.add_key()
        claims = provider.claims()
        del claims[claim]

        await refused(api, provider.token(kid, claims))

    async def test_unknown_kid(self, api: Api, provider: Provider) -> None:
        provider.add_key()
        stranger = provider.add_key(publish=False)

        message = await refused(api, provider.token(stranger))

        assert message == "The token's signing key is unknown"

    async def test_no_kid(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        token = jwt.encode(provider.claims(), provider.keys[kid].private, algorithm="RS256")

        assert await refused(api, token) == "The token names no signing key (kid)"

    async def test_signed_by_another_key_under_a_published_kid(
        self, api: Api, provider: Provider
    ) -> None:
        published = provider.add_key()
        forger = provider.add_key(publish=False)

        message = await refused(api, provider.token(forger, header_kid=published))

        assert message == "The token is invalid"

    async def test_changed_claims_break_the_signature(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        header, _, signature = provider.token(kid).split(".")
        other = provider.token(kid, provider.claims(subject="1002")).split(".")[1]

        assert await refused(api, f"{header}.{other}.{signature}") == "The token is invalid"


class TestAlgorithmConfusion:
    async def test_hs256_signed_with_the_public_key_is_refused(
        self, api: Api, provider: Provider
    ) -> None:
        kid = provider.add_key("RS256")
        private = provider.keys[kid].private
        claims = provider.claims()
        # The classic attack: the public key (which anyone can fetch) as the HMAC secret,
        # in each form a verifier might use it.
        for key in (public_pem(private), str(public_jwk(private, kid)).encode()):
            token = hs256_with_key({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, key)
            await refused(api, token)

    async def test_alg_none_is_refused(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        for alg in ("none", "None", "NONE"):
            token = hand_made({"alg": alg, "kid": kid}, provider.claims())
            assert await refused(api, token) == "The token's algorithm is not accepted"

    @pytest.mark.parametrize(
        ("signer", "named"),
        [("RS256", "ES256"), ("ES256", "RS256"), ("EdDSA", "RS256"), ("ES256", "EdDSA")],
    )
    async def test_kid_naming_a_key_of_another_type_is_refused(
        self, api: Api, provider: Provider, signer: str, named: str
    ) -> None:
        signing = provider.add_key(signer)
        other = provider.add_key(named)

        message = await refused(api, provider.token(signing, header_kid=other))

        assert message == "The token's algorithm is not the one of its signing key"

    @pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES384", "HS512"])
    async def test_other_algorithms_are_refused(
        self, api: Api, provider: Provider, alg: str
    ) -> None:
        kid = provider.add_key("RS256")
        keys: dict[str, Any] = {
            "RS": provider.keys[kid].private,
            "PS": provider.keys[kid].private,
            "ES": ec.generate_private_key(ec.SECP384R1()),
            "HS": JWT_SECRET * 2,  # long enough for SHA-512
        }
        token = jwt.encode(provider.claims(), keys[alg[:2]], algorithm=alg, headers={"kid": kid})

        assert await refused(api, token) == "The token's algorithm is not accepted"

    async def test_hs256_under_a_provider_kid_is_checked_with_the_secret_only(
        self, api: Api, provider: Provider
    ) -> None:
        kid = provider.add_key()
        claims = {"sub": "1001", "org": "10"}
        forged = jwt.encode(
            claims,
            "a guessed secret, as long as a real one",
            algorithm="HS256",
            headers={"kid": kid},
        )
        genuine = jwt.encode(claims, JWT_SECRET, algorithm="HS256", headers={"kid": kid})

        assert await refused(api, forged) == "The token is invalid"
        assert "errors" not in await inbox(api, genuine)


class TestServiceScope:
    @pytest.mark.parametrize(
        "grant",
        [
            {"scope": f"openid {SERVICE_SCOPE} profile"},
            {"scp": [SERVICE_SCOPE, "other"]},
            {"scp": SERVICE_SCOPE},
        ],
        ids=["scope", "scp-list", "scp-string"],
    )
    async def test_service_token_creates_in_its_organization(
        self, api: Api, provider: Provider, grant: dict[str, Any]
    ) -> None:
        kid = provider.add_key()
        service = provider.token(kid, provider.claims("billing-service@clients", "10", **grant))

        status, body = await api.gql_raw(
            CREATE,
            {"input": {"recipientId": "1001", "title": "Invoice paid"}},
            headers=bearer(service),
        )

        assert status == 200
        assert "errors" not in body, body
        created = body["data"]["createNotification"]
        assert (created["organizationId"], created["recipientId"]) == ("10", "1001")
        mine = await inbox(api, provider.token(kid))
        assert mine["data"]["notifications"]["nodes"][0]["id"] == created["id"]

    async def test_service_token_has_no_inbox(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        service = provider.token(kid, provider.claims("svc", "10", scope=SERVICE_SCOPE))

        body = await inbox(api, service)

        assert_error(body, "FORBIDDEN")

    async def test_without_the_scope_a_token_is_a_user_token(
        self, api: Api, provider: Provider
    ) -> None:
        kid = provider.add_key()
        # A role claim is what HS256 tokens use; a provider token's counts for nothing.
        claims = provider.claims(scope="openid notifications:read", role="service")
        before = await api.snapshot()

        status, body = await api.gql_raw(
            CREATE,
            {"input": {"recipientId": "1001", "title": "Hi"}},
            headers=bearer(provider.token(kid, claims)),
        )

        assert status == 200
        assert_error(body, "FORBIDDEN")
        assert await api.snapshot() == before


class TestClaimMapping:
    async def test_a_token_without_organization_is_refused(
        self, api: Api, provider: Provider
    ) -> None:
        kid = provider.add_key()

        message = await refused(api, provider.token(kid, provider.claims(organization=None)))

        assert message == "The token has no org claim"

    @pytest.mark.parametrize(
        ("organization", "message"),
        [
            ({"id": "10"}, "The token's org claim is not an id"),
            (["10", "20"], "The token's org claim is not an id"),
            (True, "The token's org claim is not an id"),
            ("", "The token's org claim must not be empty"),
            ("x" * 256, "The token's org claim is longer than 255 characters"),
        ],
        ids=["object", "two", "boolean", "empty", "too-long"],
    )
    async def test_an_organization_that_names_no_id_is_refused(
        self, api: Api, provider: Provider, organization: Any, message: str
    ) -> None:
        kid = provider.add_key()

        assert await refused(api, provider.token(kid, provider.claims(org=organization))) == message

    @pytest.mark.parametrize("organization", [10, ["10"]], ids=["number", "list-of-one"])
    async def test_numbers_and_lists_of_one(
        self, api: Api, provider: Provider, organization: Any
    ) -> None:
        kid = provider.add_key()
        mine = await api.add(ALICE)

        body = await inbox(api, provider.token(kid, provider.claims(org=organization)))

        assert [node["id"] for node in body["data"]["notifications"]["nodes"]] == [str(mine)]


class TestDefaultOrganization:
    @pytest.fixture
    def provider_settings(self) -> dict[str, Any]:
        return {"default_organization": "10"}

    async def test_a_token_naming_none_gets_the_default(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        mine = await api.add(ALICE)
        await api.add(BOB)

        body = await inbox(api, provider.token(kid, provider.claims(organization=None)))

        assert [node["id"] for node in body["data"]["notifications"]["nodes"]] == [str(mine)]

    async def test_a_token_naming_one_keeps_it(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        await api.add(ALICE)

        body = await inbox(api, provider.token(kid, provider.claims(organization="20")))

        assert body["data"]["notifications"]["nodes"] == []


class TestOrganizationClaimPath:
    @pytest.fixture
    def provider_settings(self) -> dict[str, Any]:
        return {
            "jwt_organization_claim": "https://example.com/claims.tenant.id",
            "jwt_subject_claim": "https://example.com/claims.user",
        }

    async def test_nested_inside_a_namespaced_claim(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        mine = await api.add(ALICE)
        await api.add(BOB)
        nested = {"tenant": {"id": "10", "name": "Acme"}, "user": "1001"}
        claims = provider.claims("auth0|someone", None, **{"https://example.com/claims": nested})

        body = await inbox(api, provider.token(kid, claims))

        assert [node["id"] for node in body["data"]["notifications"]["nodes"]] == [str(mine)]

    async def test_the_whole_name_wins_over_the_path(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        await api.add(ALICE)
        elsewhere = await api.add(ALICE_ELSEWHERE)
        claims = provider.claims(
            "x",
            None,
            **{
                "https://example.com/claims.tenant.id": "20",
                "https://example.com/claims": {"tenant": {"id": "10"}, "user": "1001"},
            },
        )

        body = await inbox(api, provider.token(kid, claims))

        assert [node["id"] for node in body["data"]["notifications"]["nodes"]] == [str(elsewhere)]

    async def test_the_path_names_what_is_missing(self, api: Api, provider: Provider) -> None:
        kid = provider.add_key()
        claims = provider.claims(
            "x", None, **{"https://example.com/claims": {"tenant": {}, "user": "1001"}}
        )

        message = await refused(api, provider.token(kid, claims))

        assert message == "The token has no https://example.com/claims.tenant.id claim"
