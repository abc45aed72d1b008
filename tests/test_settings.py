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
