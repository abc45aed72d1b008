"""The migrations build the schema the models describe, on PostgreSQL and on SQLite, both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from namecase import migration
from namecase.db import create_engine
from namecase.schema import metadata
from support.postgres import postgres_server, session_database


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_server() as server, session_database(server) as url:
        yield url


async def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    engine = create_engine(url)

    def inspect_schema(connection: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return tables, compare_metadata(context, metadata)

    async with engine.connect() as connection:
        result = await connection.run_sync(inspect_schema)
    await engine.dispose()
    return result


async def test_upgrade_downgrade_upgrade_round_trip(empty_database: str) -> None:
    await asyncio.to_thread(migration.upgrade, empty_database)
    tables, diff = await _tables_and_diff(empty_database)
    assert set(metadata.tables) <= tables
    assert diff == [], f"models and migrations disagree: {diff}"

    await asyncio.to_thread(migration.downgrade, empty_database, "base")
    tables, _ = await _tables_and_diff(empty_database)
    assert tables <= {"alembic_version"}

    await asyncio.to_thread(migration.upgrade, empty_database)
    await asyncio.to_thread(migration.upgrade, empty_database)  # idempotent
    engine = create_engine(empty_database)
    assert await migration.current_revision(engine) == migration.head_revision()
    await engine.dispose()
