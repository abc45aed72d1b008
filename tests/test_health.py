"""Liveness, readiness and metrics answer over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from conftest import make_settings
from namecase.app import create_app
from namecase.settings import Settings
from support.servers import serve


async def test_healthz_readyz_and_metrics(settings: Settings) -> None:
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'namecase_http_requests_total{method="GET",route="/healthz",status="200"}' in (
            metrics.text
        )
        assert "namecase_http_request_duration_seconds_bucket" in metrics.text


async def test_readyz_is_503_with_the_reason_when_migrations_are_behind(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "namecase migrate" in ready.json()["reason"]


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    settings = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("database unreachable")


async def test_every_response_carries_a_request_id(settings: Settings) -> None:
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        fresh = await client.get("/healthz")
    assert given.headers["x-request-id"] == "abc-123"
    assert len(fresh.headers["x-request-id"]) == 16
