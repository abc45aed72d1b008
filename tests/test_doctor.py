"""`namecase doctor`: a checklist of the configuration, non-zero exit when something is wrong.

Run as the operator runs it, as a process with its environment, against a real database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conftest import TEST_KEY
from namecase.db import create_engine, create_session_factory
from namecase.doctor import token_bits
from namecase.portals.crypto import TokenCipher
from namecase.portals.models import Portal
from support.postgres import postgres_server, session_database

EMULATOR_OAUTH = "http://127.0.0.1:8900"
STRONG_TOKEN = "Zq3v9XkP2mW7rT4yH8bN1cF6dJ5sL0aG-e_u"


def healthy(database_url: str, **overrides: str) -> dict[str, str]:
    """A local emulator setup that passes every check."""
    environment = {
        "NAMECASE_DATABASE_URL": database_url,
        "NAMECASE_SECRET_KEYS": TEST_KEY,
        "NAMECASE_PUBLIC_URL": "http://localhost:8000",
        "NAMECASE_OAUTH_SERVERS": EMULATOR_OAUTH,
        "NAMECASE_ALLOW_HTTP": "true",
        "NAMECASE_CLIENT_ID": "local.namecase.test",
        "NAMECASE_CLIENT_SECRET": "test-client-secret",
        "NAMECASE_ADMIN_TOKEN": STRONG_TOKEN,
    }
    environment.update(overrides)
    return environment


def doctor(environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NAMECASE_")}
    return subprocess.run(
        [sys.executable, "-m", "namecase", "doctor"],
        capture_output=True,
        text=True,
        cwd=cwd,  # no .env there
        env={**clean, "NAMECASE_LOG_FORMAT": "text", **environment},
        timeout=120,
        check=False,
    )


def line(result: subprocess.CompletedProcess[str], name: str) -> str:
    found = [row for row in result.stdout.splitlines() if row[6:].startswith(name + " ")]
    assert found, f"no {name} line in:\n{result.stdout}{result.stderr}"
    return found[0]


async def store_portal(
    database_url: str, key: str, *, server_endpoint: str = f"{EMULATOR_OAUTH}/rest/"
) -> None:
    cipher = TokenCipher((key,))
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            session.add(
                Portal(
                    member_id="m-1",
                    domain="portal-1.example",
                    client_endpoint="https://portal-1.example/rest/",
                    server_endpoint=server_endpoint,
                    access_token_enc=cipher.encrypt("access"),
                    refresh_token_enc=cipher.encrypt("refresh"),
                )
            )
    finally:
        await engine.dispose()


async def test_a_healthy_setup_passes_every_check(pg_database_url: str, tmp_path: Path) -> None:
    await store_portal(pg_database_url, TEST_KEY)
    result = doctor(healthy(pg_database_url), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert "migrations at head" in line(result, "database")
    assert "all 2 stored tokens decrypt" in line(result, "secret keys")
    assert "(local emulator setup)" in line(result, "PUBLIC_URL")
    assert result.stdout.rstrip().endswith("everything checked is in order")


async def test_every_problem_is_listed_with_what_to_do(
    pg_database_url: str, tmp_path: Path
) -> None:
    await store_portal(
        pg_database_url, TEST_KEY, server_endpoint="https://oauth.elsewhere.example/rest/"
    )
    other_key = Fernet.generate_key().decode()
    result = doctor(
        healthy(
            pg_database_url,
            NAMECASE_SECRET_KEYS=other_key,
            NAMECASE_PUBLIC_URL="http://127.0.0.1:8000",
            NAMECASE_OAUTH_SERVERS="https://oauth.bitrix.info",
            NAMECASE_ALLOW_HTTP="false",
            NAMECASE_CLIENT_SECRET="",
            NAMECASE_ADMIN_TOKEN="aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        tmp_path,
    )
    assert result.returncode == 1
    assert line(result, "database").startswith("ok")
    assert "do not decrypt (m-1)" in line(result, "secret keys")
    assert "not https" in line(result, "PUBLIC_URL")
    assert "oauth.elsewhere.example" in line(result, "portals' OAuth servers")
    assert "CLIENT_SECRET unset" in line(result, "app credentials")
    assert "weak" in line(result, "ADMIN_TOKEN")
    for name in ("secret keys", "PUBLIC_URL", "portals' OAuth servers", "app credentials"):
        assert line(result, name).startswith("FAIL")
    assert "5 problem(s) found" in result.stdout


async def test_tokens_under_an_older_key_decrypt_but_ask_for_rotation(
    pg_database_url: str, tmp_path: Path
) -> None:
    await store_portal(pg_database_url, TEST_KEY)
    newer = Fernet.generate_key().decode()
    result = doctor(healthy(pg_database_url, NAMECASE_SECRET_KEYS=f"{newer},{TEST_KEY}"), tmp_path)
    assert result.returncode == 0, result.stdout
    assert "2 still use an older key (run `namecase rotate-keys`)" in line(result, "secret keys")


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with postgres_server() as server, session_database(server) as url:
        yield url


def test_a_database_behind_the_code_fails(empty_postgres: str, tmp_path: Path) -> None:
    result = doctor(healthy(empty_postgres), tmp_path)
    assert result.returncode == 1
    assert line(result, "database").startswith("FAIL")
    assert "run `namecase migrate`" in line(result, "database")


def test_an_unreachable_database_fails(tmp_path: Path) -> None:
    result = doctor(healthy("postgresql+asyncpg://postgres@127.0.0.1:1/none"), tmp_path)
    assert result.returncode == 1
    assert "database unreachable" in line(result, "database")


def test_a_public_url_that_does_not_resolve_fails(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761 §6.4).
    environment = healthy(
        f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
        NAMECASE_PUBLIC_URL="https://namecase.invalid",
        NAMECASE_OAUTH_SERVERS="https://oauth.bitrix.info",
        NAMECASE_ALLOW_HTTP="false",
    )
    result = doctor(environment, tmp_path)
    assert result.returncode == 1
    assert "does not resolve" in line(result, "PUBLIC_URL")
    # The embedded database that does not exist yet is not created by a check.
    assert "does not exist yet" in line(result, "database")
    assert not (tmp_path / "new.db").exists()


def test_invalid_settings_stop_before_any_check(tmp_path: Path) -> None:
    result = doctor({"NAMECASE_SECRET_KEYS": "not-a-key"}, tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("FAIL  settings")
    assert "not a Fernet key" in result.stdout


def test_an_unset_admin_token_is_a_problem(tmp_path: Path) -> None:
    environment = healthy(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", NAMECASE_ADMIN_TOKEN="")
    result = doctor(environment, tmp_path)
    assert result.returncode == 1
    assert "unset" in line(result, "ADMIN_TOKEN")


@pytest.mark.parametrize(
    ("token", "strong"),
    [
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", False),
        ("123456789012345678901234567890", False),
        ("abcdefghijklmnopqrstuvwx", False),
        (STRONG_TOKEN, True),
    ],
)
def test_token_strength_counts_length_and_alphabet(token: str, strong: bool) -> None:
    assert (token_bits(token) >= 128) is strong


def test_an_https_public_url_on_this_machine_fails_with_real_oauth_servers(
    tmp_path: Path,
) -> None:
    environment = healthy(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        NAMECASE_PUBLIC_URL="https://localhost",
        NAMECASE_OAUTH_SERVERS="https://oauth.bitrix.info",
        NAMECASE_ALLOW_HTTP="false",
    )
    result = doctor(environment, tmp_path)
    assert result.returncode == 1
    assert "Bitrix24's servers cannot connect there" in line(result, "PUBLIC_URL")
    assert line(result, "OAUTH_SERVERS").startswith("ok")


def test_plain_http_allowed_next_to_real_oauth_servers_fails(tmp_path: Path) -> None:
    environment = healthy(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        NAMECASE_OAUTH_SERVERS=f"https://oauth.bitrix.info,{EMULATOR_OAUTH}",
    )
    result = doctor(environment, tmp_path)
    assert result.returncode == 1
    assert "plain http is for the local emulator only" in line(result, "OAUTH_SERVERS")
