"""Liveness, readiness and Prometheus metrics for orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from namecase.admin.metrics import DATABASE_METRICS
from namecase.metrics import REGISTRY
from namecase.migration import current_revision, head_revision
from namecase.runtime import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations at head")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await current_revision(runtime.engine)
    except Exception as error:  # any driver error means "not ready", with the reason
        reason = f"database unreachable: {type(error).__name__}"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    head = head_revision()
    if revision != head:
        reason = (
            f"migrations behind: database at {revision}, code at {head}; run `namecase migrate`"
        )
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "revision": revision})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    # Read the database-backed gauges (inbox depth, portals by state) on this loop first, so
    # the synchronous collector only formats what was read.
    await DATABASE_METRICS.refresh(runtime.sessions)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
