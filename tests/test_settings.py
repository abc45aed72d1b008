"""Settings are validated at start with errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from namecase.settings import Settings


def test_defaults_run_the_embedded_database_with_the_worker_in_serve() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.runs_worker_in_serve
    assert settings.oauth_servers == ("https://oauth.bitrix.info", "https://oauth.bitrix24.tech")
    assert settings.reconcile_interval == 60
    assert settings.lease_seconds == 30


def test_http_oauth_server_is_refused_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="NAMECASE_ALLOW_HTTP"):
        Settings(oauth_servers="http://127.0.0.1:9000")  # type: ignore[arg-type]
    allowed = Settings(oauth_servers="http://127.0.0.1:9000/", allow_http=True)  # type: ignore[arg-type]
    assert allowed.oauth_servers == ("http://127.0.0.1:9000",)


def test_malformed_secret_key_is_refused_with_how_to_generate_one() -> None:
    with pytest.raises(ValidationError, match="not a Fernet key"):
        Settings(secret_keys="not-a-key")  # type: ignore[arg-type]


def test_key_rotation_list_keeps_order() -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(secret_keys=f"{new}, {old}")  # type: ignore[arg-type]
    assert settings.secret_keys == (new, old)


def test_postgresql_requires_secret_keys() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEYS is required"):
        Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1/test")


def test_worker_in_serve_defaults_off_on_postgresql() -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1/test",
        secret_keys=key,  # type: ignore[arg-type]
    )
    assert not settings.runs_worker_in_serve


def test_embedded_key_is_generated_once_beside_the_sqlite_file(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/n.db")
    first = settings.fernet_keys()
    assert (tmp_path / "n.key").stat().st_mode & 0o777 == 0o600
    assert settings.fernet_keys() == first


def test_public_url_must_be_absolute() -> None:
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        Settings(public_url="example.com/events")


# --- secrets never echoed, admin token strength (issue 14 item 6) ---------------------------


def _windows(secret: str, width: int = 8) -> set[str]:
    """Every run of `width` characters of a secret: none of them may show in an error."""
    return {secret[i : i + width] for i in range(len(secret) - width + 1)}


def test_a_bad_secret_key_is_refused_without_echoing_it() -> None:
    valid = Fernet.generate_key().decode()
    broken = valid[:-5] + "@@@@="  # 39 of the 44 characters of a real key, as in the finding
    with pytest.raises(ValidationError) as caught:
        Settings(secret_keys=f"{valid},{broken}")  # type: ignore[arg-type]

    text = str(caught.value)
    assert "SECRET_KEYS entry #2 is not a Fernet key" in text
    assert [w for w in _windows(valid) | _windows(broken) if w in text] == []


def test_a_refused_configuration_does_not_echo_the_other_secrets() -> None:
    password, client_secret = "pg-password-0123456789", "client-secret-0123456789abcdef"
    admin_token = "admin-token-0123456789-abcdef"
    with pytest.raises(ValidationError) as caught:
        Settings(
            database_url=f"postgresql+asyncpg://namecase:{password}@db/namecase",
            client_secret=client_secret,
            admin_token=admin_token,
        )  # no SECRET_KEYS with PostgreSQL: a model-level error, which quotes the whole input

    text = str(caught.value)
    assert "SECRET_KEYS is required" in text
    secrets = _windows(password) | _windows(client_secret) | _windows(admin_token)
    assert [w for w in secrets if w in text] == []


def test_urls_in_errors_lose_their_credentials() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(oauth_servers="ftp://user:hunter2-password@oauth.example")  # type: ignore[arg-type]

    assert "oauth.example" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("token", ["change-me-too", "short-token", "x" * 23])
def test_a_weak_or_example_admin_token_is_refused_at_start(token: str) -> None:
    with pytest.raises(ValidationError, match="ADMIN_TOKEN") as caught:
        Settings(admin_token=token)

    assert token not in str(caught.value)


def test_a_long_admin_token_is_accepted_and_an_empty_one_means_off() -> None:
    assert Settings(admin_token="x" * 24).admin_token == "x" * 24
    assert Settings(admin_token="").admin_token is None


def test_the_cli_prints_a_configuration_error_without_the_secret(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    broken = Fernet.generate_key().decode()[:-5] + "@@@@="
    environment = {**os.environ, "NAMECASE_SECRET_KEYS": broken}
    result = subprocess.run(
        [sys.executable, "-m", "namecase", "migrate"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        check=False,
    )

    assert result.returncode == 2
    assert "not a Fernet key" in result.stderr
    assert [w for w in _windows(broken) if w in result.stderr + result.stdout] == []
