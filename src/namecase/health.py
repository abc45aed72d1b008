"""Liveness, readiness and Prometheus metrics for orchestrators."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from namecase.admin.metrics import DATABASE_METRICS
from namecase.metrics import REGISTRY
from namecase.migration import current_revision, head_revision
from namecase.runtime import RuntimeDep

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@dataclass(frozen=True)
class Readiness:
    """Whether the service can serve: database reachable and migrations at head."""

    ready: bool
    revision: str | None
    reason: str = ""


async def readiness(engine: AsyncEngine) -> Readiness:
    """Ask the database; the reason says what an operator should do when not ready."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await current_revision(engine)
    except Exception as error:  # any driver error means "not ready", with the reason
        return Readiness(False, None, f"database unreachable: {type(error).__name__}")
    head = head_revision()
    if revision != head:
        reason = (
            f"migrations behind: database at {revision}, code at {head}; run `namecase migrate`"
        )
        return Readiness(False, revision, reason)
    return Readiness(True, revision)


@router.get("/readyz", summary="Readiness: database reachable and migrations at head")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    state = await readiness(runtime.engine)
    if not state.ready:
        return JSONResponse({"status": "unavailable", "reason": state.reason}, status_code=503)
    return JSONResponse({"status": "ready", "revision": state.revision})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    # Read the database-backed gauges (inbox depth, portals by state) on this loop first, so
    # the synchronous collector only formats what was read. If the database cannot be read, the
    # scrape still answers: the collector says namecase_database_scrape_ok 0 (an alert's cue).
    try:
        await DATABASE_METRICS.refresh(runtime.sessions)
    except Exception:  # any driver error; the collector's own read reports it
        log.warning("metrics: the database-backed gauges could not be read", exc_info=True)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
