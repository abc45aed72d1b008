"""The test harness can start its own throw-away PostgreSQL when none is configured."""

from __future__ import annotations

import asyncio
import glob

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from support.postgres import _temporary_cluster


@pytest.mark.skipif(
    not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reason="no PostgreSQL server binaries"
)
def test_temporary_cluster_accepts_connections_and_is_removed() -> None:
    with _temporary_cluster() as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        async def ask() -> int:
            connection = await asyncpg.connect(dsn)
            try:
                value: int = await connection.fetchval("SELECT 41 + 1")
                return value
            finally:
                await connection.close()

        assert asyncio.run(ask()) == 42
    with pytest.raises(OSError):
        asyncio.run(asyncpg.connect(dsn, timeout=2))
