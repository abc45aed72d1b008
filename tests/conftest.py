"""Fixtures shared by all tests: a real PostgreSQL (and SQLite) database per test, the app served
on a loopback port, and settings pointing at them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from namecase import migration
from namecase.db import create_engine, create_session_factory
from namecase.schema import metadata
from namecase.settings import Settings
from support.postgres import NoPostgres, postgres_server, session_database

TEST_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session."""
    try:
        with postgres_server() as server, session_database(server) as url:
            _in_thread(migration.upgrade, url)
            yield url
    except NoPostgres as error:
        pytest.exit(str(error), returncode=3)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating per test)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _in_thread(migration.upgrade, f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A clean, migrated database: every test using it runs on PostgreSQL and on SQLite."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        await _truncate_all(url)
        return url
    path = tmp_path / "namecase.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def pg_database_url(postgres_url: str) -> str:
    """A clean PostgreSQL database, for tests of PostgreSQL-only behaviour."""
    await _truncate_all(postgres_url)
    return postgres_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test service: our key, http allowed (loopback emulator)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_keys": (TEST_KEY,),
        "allow_http": True,
        "client_id": "local.namecase.test",
        "client_secret": "test-client-secret",
        "worker": False,
        "log_format": "json",
    }
    values.update(overrides)
    if values["allow_http"] and "emulator_hosts" not in overrides:
        # The emulator's portals are hosts under bitrix24.test on its port (docs/EMULATOR.md).
        values["emulator_hosts"] = ("bitrix24.test",)
    return Settings(**values)  # type: ignore[arg-type]


def _in_thread(function: Callable[..., object], *args: object) -> None:
    """Run sync code that starts its own event loop (alembic's env.py) off the test's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(function, *args).result()
