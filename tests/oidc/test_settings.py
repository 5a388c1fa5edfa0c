"""The identity provider's settings: refused at start-up in one line when they cannot work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notifgql.cli import main
from notifgql.settings import Settings
from tests.test_serve_cli import only_line, run

JWKS = "https://idp.example.test/.well-known/jwks.json"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This process's environment without NOTIFGQL_ variables; the test sets its own."""
    for name in os.environ:
        if name.startswith("NOTIFGQL_"):
            monkeypatch.delenv(name)
    return monkeypatch


def refusal(environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> str:
    """The one line ``notifgql`` prints when it refuses ``env``."""
    for name, value in env.items():
        environment.setenv(name, value)
    assert main(["export-schema"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    return line


class TestRefused:
    @pytest.mark.parametrize(
        "name",
        [
            "NOTIFGQL_JWT_ISSUER",
            "NOTIFGQL_JWT_AUDIENCE",
            "NOTIFGQL_JWT_SUBJECT_CLAIM",
            "NOTIFGQL_JWT_ORGANIZATION_CLAIM",
            "NOTIFGQL_DEFAULT_ORGANIZATION",
            "NOTIFGQL_JWT_SERVICE_SCOPE",
            "NOTIFGQL_JWT_JWKS_MIN_REFRESH",
            "NOTIFGQL_JWT_JWKS_TIMEOUT",
        ],
    )
    def test_provider_settings_need_a_jwks_url(
        self, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
    ) -> None:
        # A value each setting accepts: only the missing JWKS URL is wrong.
        value = {"NOTIFGQL_DEFAULT_ORGANIZATION": "10", "NOTIFGQL_JWT_JWKS_MIN_REFRESH": "5"}
        line = refusal(environment, capsys, **{name: value.get(name, "7")})

        assert line == (
            f"notifgql: invalid settings: {name} applies to identity provider tokens only: "
            "set NOTIFGQL_JWT_JWKS_URL as well"
        )

    @pytest.mark.parametrize(
        ("name", "value", "reason"),
        [
            ("NOTIFGQL_JWT_JWKS_URL", "ftp://idp.example.test/jwks", "http:// or https://"),
            ("NOTIFGQL_JWT_JWKS_URL", "/.well-known/jwks.json", "absolute"),
            ("NOTIFGQL_JWT_JWKS_URL", f"{JWKS}#keys", "no fragment"),
            ("NOTIFGQL_JWT_SERVICE_SCOPE", "notifications publish", "one scope"),
            ("NOTIFGQL_JWT_SERVICE_SCOPE", 'say"hi"', "one scope"),
            ("NOTIFGQL_DEFAULT_ORGANIZATION", "x" * 256, "longer than 255 characters"),
            ("NOTIFGQL_DEFAULT_ORGANIZATION", "org\x1b", "control character"),
            ("NOTIFGQL_JWT_ORGANIZATION_CLAIM", "", "at least 1 character"),
            ("NOTIFGQL_JWT_SUBJECT_CLAIM", "", "at least 1 character"),
            ("NOTIFGQL_JWT_JWKS_MIN_REFRESH", "-1", "greater than or equal to 0"),
            ("NOTIFGQL_JWT_JWKS_TIMEOUT", "0", "greater than 0"),
        ],
    )
    def test_bad_values(
        self,
        environment: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        name: str,
        value: str,
        reason: str,
    ) -> None:
        line = refusal(environment, capsys, **({"NOTIFGQL_JWT_JWKS_URL": JWKS} | {name: value}))

        assert line.startswith(f"notifgql: invalid setting {name}: "), line
        assert reason in line

    def test_serve_says_it_in_one_line(self, tmp_path: Path) -> None:
        result = run("serve", cwd=tmp_path, NOTIFGQL_JWT_AUDIENCE="https://api.example.test")

        assert result.returncode == 2
        assert only_line(result) == (
            "notifgql: invalid settings: NOTIFGQL_JWT_AUDIENCE applies to identity provider "
            "tokens only: set NOTIFGQL_JWT_JWKS_URL as well"
        )
        assert not (tmp_path / "notifgql.db").exists()


class TestAccepted:
    def test_every_provider_setting(self, environment: pytest.MonkeyPatch) -> None:
        values = {
            "NOTIFGQL_JWT_JWKS_URL": JWKS,
            "NOTIFGQL_JWT_ISSUER": "https://idp.example.test/",
            "NOTIFGQL_JWT_AUDIENCE": "https://api.example.test",
            "NOTIFGQL_JWT_SUBJECT_CLAIM": "uid",
            "NOTIFGQL_JWT_ORGANIZATION_CLAIM": "https://example.com/claims.org",
            "NOTIFGQL_DEFAULT_ORGANIZATION": "810",
            "NOTIFGQL_JWT_SERVICE_SCOPE": "notifications/publish",
            "NOTIFGQL_JWT_JWKS_MIN_REFRESH": "0",
            "NOTIFGQL_JWT_JWKS_TIMEOUT": "2.5",
        }
        for name, value in values.items():
            environment.setenv(name, value)

        settings = Settings()

        assert (settings.jwt_jwks_url, settings.jwt_issuer) == (JWKS, values["NOTIFGQL_JWT_ISSUER"])
        assert settings.jwt_organization_claim == "https://example.com/claims.org"
        assert (settings.default_organization, settings.jwt_service_scope) == (
            "810",
            "notifications/publish",
        )
        assert (settings.jwt_jwks_min_refresh, settings.jwt_jwks_timeout) == (0, 2.5)

    def test_empty_values_mean_unset(self, environment: pytest.MonkeyPatch) -> None:
        for name in ("JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE", "DEFAULT_ORGANIZATION"):
            environment.setenv(f"NOTIFGQL_{name}", "")

        settings = Settings()

        assert settings.jwt_jwks_url is None
        assert (settings.jwt_issuer, settings.jwt_audience) == (None, None)
        assert settings.default_organization is None


class TestProduction:
    @pytest.mark.parametrize(
        ("url", "refused"),
        [
            ("https://idp.example.test/jwks", False),
            ("http://127.0.0.1:8081/jwks", False),
            ("http://localhost:8081/jwks", False),
            ("http://10.0.0.5:8080/certs", True),
            ("http://[2001:db8::5]/jwks", True),
        ],
    )
    def test_keys_fetched_in_clear_are_refused_off_loopback(self, url: str, refused: bool) -> None:
        settings = Settings(env="production", jwt_secret="x" * 40, jwt_jwks_url=url)

        problems = settings.production_problems()

        expected = (
            "NOTIFGQL_JWT_JWKS_URL is not https:// (keys fetched in clear could be replaced "
            "on the way)"
        )
        assert problems == ([expected] if refused else [])
