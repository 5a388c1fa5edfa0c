"""People whose ids are what identity providers hand out, for the string-id tests."""

from __future__ import annotations

from tests.client import Person

# An Auth0 subject with a "|" and letters beyond ASCII, in an organization named alike.
AUTH0 = Person("auth0|ünïcødé-7", "acme|ünï")
# Keycloak, Cognito and Firebase name users (and here organizations) by UUIDs.
UUID = Person("8c5f0a6e-3b1d-4e2a-9f7c-1d2e3f4a5b6c", "0f0c6b1e-2b8e-4d2a-9a51-3f1d5c9e7a10")
# The longest ids there may be, in characters of up to four UTF-8 bytes.
LONGEST = Person("\U0001f680" + "é" * 253 + "|", "o|" + "ß" * 253)
PEOPLE = [AUTH0, UUID, LONGEST]
PEOPLE_IDS = ["auth0", "uuid", "longest"]

# Auth0's user in another organization: the same recipient id, another inbox.
AUTH0_ELSEWHERE = Person(AUTH0.recipient_id, "globex")
# Ids that differ only in ways a careless parser would erase.
ONE = Person("1", "10")
ZERO_ONE = Person("01", "10")
SPACED_ONE = Person(" 1", "10")
UPPER = Person("Alice", "10")
LOWER = Person("alice", "10")
# Actors are named by the publisher's own ids too.
ACTOR = "google-oauth2|1098765432101234567890"

# Ids refused everywhere: empty, too long, or holding a control character.
BAD_IDS = {
    "empty": "",
    "256-characters": "x" * 256,
    "control-character": "line\nbreak",
    "nul": "nul\x00",
    "c1-control": "c1\x85",
}
