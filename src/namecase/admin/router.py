"""/admin/status (JSON), /admin (HTML) and dead-letter replay, for the operator.

Everything here needs `Authorization: Bearer $NAMECASE_ADMIN_TOKEN`, compared in constant time.
With no ADMIN_TOKEN configured the admin surface does not exist (404), so a forgotten setting
never leaves it open. The token travels in a header, never a cookie: replay is CSRF-safe.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates

from namecase.admin import service
from namecase.admin.metrics import database_metrics
from namecase.admin.schemas import AdminStatus, ReplayRequest, ReplayResult
from namecase.db import ROW_ID_MAX, utcnow
from namecase.portals.repository import PortalRepository
from namecase.queue import inbox
from namecase.runtime import RuntimeDep, SessionDep

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
_SCRIPT = (_HERE / "static" / "admin.js").read_bytes()
_bearer = HTTPBearer(auto_error=False, description="NAMECASE_ADMIN_TOKEN")
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}

# The lifespan puts the database-backed gauges on /metrics while the app runs (admin/metrics.py).
router = APIRouter(tags=["operations"], lifespan=database_metrics)


def admin_enabled(runtime: RuntimeDep) -> str:
    """The configured token; without one the admin surface answers 404."""
    if not runtime.settings.admin_token:
        raise HTTPException(404)
    return runtime.settings.admin_token


def bearer_matches(presented: HTTPAuthorizationCredentials | None, expected: str) -> bool:
    """Constant-time comparison of the presented bearer token with ADMIN_TOKEN."""
    if presented is None or presented.scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.credentials.encode(), expected.encode())


def require_admin(
    expected: Annotated[str, Depends(admin_enabled)],
    presented: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries the admin bearer token."""
    if not bearer_matches(presented, expected):
        raise HTTPException(401, "admin bearer token required", {"WWW-Authenticate": "Bearer"})


AdminDep = Depends(require_admin)
_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing or wrong bearer token"},
    404: {"description": "admin is off (NAMECASE_ADMIN_TOKEN unset), or no such portal"},
}


@router.get(
    "/admin/status",
    response_model=AdminStatus,
    dependencies=[AdminDep],
    responses=_ERRORS,
    summary="Portals, queue depth, REST health and workers",
)
async def admin_status(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="portals per page")] = 200,
    calls: Annotated[int, Query(ge=0, le=50, description="recent REST calls per portal")] = 5,
) -> AdminStatus:
    """Totals over all portals; per portal (a page of them, by domain) the details."""
    return await service.fleet_status(
        session, now=utcnow(), offset=offset, limit=limit, calls=calls
    )


@router.post(
    "/admin/portals/{member_id}/replay",
    response_model=ReplayResult,
    dependencies=[AdminDep],
    responses=_ERRORS,
    summary="Give a portal's dead inbox items another try",
)
async def replay_dead(
    session: SessionDep,
    member_id: Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    body: ReplayRequest | None = None,
) -> ReplayResult:
    """Re-queue dead items (all of the portal's, or the listed ids); the worker is told."""
    if await PortalRepository(session).get(member_id) is None:
        raise HTTPException(404, "no such portal")
    ids = body.ids if body is not None else None
    revived = await inbox.replay_dead(session, member_id, ids or ())
    return ReplayResult(member_id=member_id, revived=revived)


@router.get(
    "/admin",
    response_class=HTMLResponse,
    responses=_ERRORS,
    summary="The same status as a page (bearer header, or a sign-in kept in sessionStorage)",
)
async def admin_page(
    request: Request,
    session: SessionDep,
    expected: Annotated[str, Depends(admin_enabled)],
    presented: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> HTMLResponse:
    """Without a token: a sign-in form. With the right bearer header: the status, rendered."""
    status: AdminStatus | None = None
    if presented is not None:
        if not bearer_matches(presented, expected):
            raise HTTPException(401, "admin bearer token required", {"WWW-Authenticate": "Bearer"})
        status = await service.fleet_status(session, now=utcnow(), offset=0, limit=200, calls=5)
    return templates.TemplateResponse(
        request,
        "admin.html",
        {"initial": status.model_dump(mode="json") if status else None},
        headers=_PAGE_HEADERS,
    )


@router.get("/admin/static/admin.js", include_in_schema=False)
async def admin_script(_: Annotated[str, Depends(admin_enabled)]) -> Response:
    return Response(
        _SCRIPT,
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
