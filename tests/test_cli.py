"""The CLI's contracts: migrate is idempotent from any directory; serve refuses a stale schema."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import TEST_KEY
from namecase import migration
from support.postgres import postgres_server, session_database
from support.servers import free_port


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with postgres_server() as server, session_database(server) as url:
        yield url


def namecase(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "NAMECASE_DATABASE_URL": url,
        "NAMECASE_SECRET_KEYS": TEST_KEY,
        "NAMECASE_LOG_FORMAT": "text",
    }
    return subprocess.run(
        [sys.executable, "-m", "namecase", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
        check=False,
    )


def test_serve_refuses_a_postgresql_schema_behind_the_code(
    empty_postgres: str, tmp_path: Path
) -> None:
    result = namecase("serve", "--port", "1", url=empty_postgres, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `namecase migrate` first" in result.stderr


def test_migrate_works_from_any_directory_and_twice(empty_postgres: str, tmp_path: Path) -> None:
    first = namecase("migrate", url=empty_postgres, cwd=tmp_path)
    second = namecase("migrate", url=empty_postgres, cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    assert f"database at revision {migration.head_revision()}" in second.stdout


def test_a_bad_setting_stops_the_cli_with_a_clear_message(tmp_path: Path) -> None:
    environment = {**os.environ, "NAMECASE_SECRET_KEYS": "not-a-key"}
    result = subprocess.run(
        [sys.executable, "-m", "namecase", "portals"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr and "not a Fernet key" in result.stderr


def test_worker_refuses_the_embedded_database(tmp_path: Path) -> None:
    result = namecase("worker", url=f"sqlite+aiosqlite:///{tmp_path}/x.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr


async def test_a_worker_serves_its_own_metrics_when_given_a_port(
    pg_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    environment = {
        **os.environ,
        "NAMECASE_DATABASE_URL": pg_database_url,
        "NAMECASE_SECRET_KEYS": TEST_KEY,
        "NAMECASE_WORKER_METRICS_PORT": str(port),
        "NAMECASE_LOG_FORMAT": "text",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "namecase", "worker", cwd=tmp_path, env=environment
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):  # until the process listens (imports take a while)
                try:
                    answer = await http.get(f"http://127.0.0.1:{port}/metrics")
                    break
                except httpx.ConnectError:
                    assert process.returncode is None, "the worker exited"
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the worker never served its metrics")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    assert answer.status_code == 200
    assert "namecase_rest_calls_total" in answer.text
    assert "namecase_event_to_update_seconds" in answer.text
