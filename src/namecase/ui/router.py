"""/app: the page Bitrix24 opens in its frame, and the JSON API that page calls.

The page is served only to a caller the stored portal vouches for (ui/frame.py), framed only by
that portal (`Content-Security-Policy: frame-ancestors`), and authorizes its API calls with a
signed token in a header (ui/page_token.py) — no cookies, so nothing for CSRF to ride on.
Any user of the portal may read; only a portal administrator's token may change anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from namecase.bitrix import ForbiddenEndpoint, FormError, origin_of, parse_php_form
from namecase.callers import caller_of
from namecase.db import ROW_ID_MAX
from namecase.i18n import Language, language_of
from namecase.pipeline import backfill as backfills
from namecase.portals import lifecycle
from namecase.portals.models import Portal
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import ALL_FIELDS
from namecase.portals.service import options_of
from namecase.runtime import Runtime, RuntimeDep, SessionDep
from namecase.settings import Settings
from namecase.ui import service
from namecase.ui.frame import FrameRejected, FrameRequest, frame_user, verify_frame
from namecase.ui.page_token import (
    RENEWAL_GRACE_SECONDS,
    InvalidPageToken,
    PageGrant,
    PageTokenSigner,
)
from namecase.ui.schemas import (
    ENTITY_ORDER,
    ChangesPage,
    PageState,
    PageTokenView,
    SettingsForm,
    SettingsView,
    TokenRenewal,
    UndoRequest,
    UndoResult,
)
from namecase.ui.texts import TEXT

router = APIRouter(tags=["settings page"])
FRAME_MAX_BYTES = 16384  # the frame POST is well under 2 KiB (protocol §1, §9)
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
_STATIC = {
    "app.js": "application/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_STATIC_BODIES = {name: (_HERE / "static" / name).read_bytes() for name in _STATIC}
_STATIC_VERSION = hashlib.sha256(b"".join(_STATIC_BODIES.values())).hexdigest()[:12]
_HOST = re.compile(r"[a-z0-9.-]+(:[0-9]{1,5})?")
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# --- the page ------------------------------------------------------------------------------


@router.post("/app", response_class=HTMLResponse, summary="The app page in the Bitrix24 frame")
async def open_from_frame(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    """Bitrix24 POSTs the frame fields (protocol §1, §9); answer the settings page or 403."""
    query = dict(request.query_params)
    try:
        parsed = parse_php_form(await request.body(), max_bytes=FRAME_MAX_BYTES)
    except FormError:
        return _forbidden(request, language_of(query.get("LANG")), status=400)
    form = {key: value for key, value in parsed.items() if isinstance(value, str)}
    return await _open(request, runtime, session, form, query)


@router.get("/app", response_class=HTMLResponse, summary="The app page, opened directly")
async def open_directly(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    """The same page from a query string (member_id with APPLICATION_TOKEN or AUTH_ID).

    For local use against the emulator; a frame always POSTs.
    """
    return await _open(request, runtime, session, {}, dict(request.query_params))


async def _open(
    request: Request,
    runtime: Runtime,
    session: SessionDep,
    form: dict[str, str],
    query: dict[str, str],
) -> Response:
    lang = language_of(query.get("LANG"))
    try:
        frame = FrameRequest.from_fields(form, query)
        stored = await PortalRepository(session).get(frame.member_id)
        access = await verify_frame(frame, stored, runtime.bitrix, caller=_caller(request))
    except FrameRejected:
        return _forbidden(request, lang, status=403)
    portal = access.portal
    await lifecycle.request_probe(session, portal)  # unpaid or unreachable: look again soon
    lang = frame.language(portal)
    retention = runtime.settings.inbox_retention_days
    state = await service.page_state(session, portal, retention_days=retention)
    token = _signer(runtime.settings).issue(portal.member_id, lang, admin=access.admin)
    base = urlsplit(runtime.settings.public_url).path.rstrip("/")
    response = templates.TemplateResponse(
        request,
        "app.html",
        {
            "lang": lang,
            "t": TEXT[lang],
            "state": state,
            "token": token,
            "admin": access.admin,
            "base": base,
            "version": _STATIC_VERSION,
            "bx24_js_url": runtime.settings.bx24_js_url,
            "entities": ENTITY_ORDER,
            "fields": ALL_FIELDS,
            "first_visit": not await service.has_history(session, portal.member_id),
            "history_visible": history_visible(portal, admin=access.admin),
        },
        headers={
            **_NO_STORE,
            "Content-Security-Policy": page_policy(portal, runtime.settings),
            "Referrer-Policy": "no-referrer",
        },
    )
    return response


def page_policy(portal: Portal, settings: Settings) -> str:
    """CSP of the page: framed only by the portal, scripts only from us and the BX24 library.

    No X-Frame-Options: it cannot name the portal, and DENY would break the frame.
    """
    ancestors = " ".join(portal_origins(portal))
    bx24 = _script_source(settings.bx24_js_url)
    return (
        f"frame-ancestors {ancestors}; default-src 'self'; script-src 'self' {bx24}; "
        f"connect-src 'self' {ancestors}; img-src 'self' data:; style-src 'self'; "
        "base-uri 'none'; object-src 'none'; form-action 'self'"
    )


def portal_origins(portal: Portal) -> list[str]:
    """The portal's own origins: its stored client_endpoint's, and https://DOMAIN."""
    origins: list[str] = []
    with contextlib.suppress(ForbiddenEndpoint):
        origins.append(origin_of(portal.client_endpoint))
    domain = (portal.domain or "").lower()
    if _HOST.fullmatch(domain) and f"https://{domain}" not in origins:
        origins.append(f"https://{domain}")
    return origins or ["'none'"]


def _script_source(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = parts.netloc.lower()
    if not _HOST.fullmatch(host):
        return ""
    return f"{parts.scheme}://{host}" if parts.scheme else host


def _caller(request: Request) -> str:
    """Whose AUTH_ID check budget a request spends (the proxy's X-Forwarded-For, if trusted)."""
    return caller_of(request.client.host if request.client else None)


def _forbidden(request: Request, lang: Language, *, status: int) -> HTMLResponse:
    base = urlsplit(request.app.state.runtime.settings.public_url).path.rstrip("/")
    return templates.TemplateResponse(
        request,
        "forbidden.html",
        {"lang": lang, "t": TEXT[lang], "base": base},
        status_code=status,
        headers={**_NO_STORE, "Content-Security-Policy": "default-src 'none'; style-src 'self'"},
    )


@router.get("/app/static/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    """The page's script and style sheet (a fixed list: no paths from the request)."""
    if name not in _STATIC:
        raise HTTPException(404)
    return Response(
        _STATIC_BODIES[name],
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# --- the page's API ----------------------------------------------------------------------


@lru_cache(maxsize=8)
def _signer(settings: Settings) -> PageTokenSigner:
    return PageTokenSigner(settings.fernet_keys()[0])


def _grant_of(runtime: Runtime, authorization: str, grace: float = 0.0) -> PageGrant:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "the page token is missing", {"WWW-Authenticate": "Bearer"})
    try:
        return _signer(runtime.settings).verify(token.strip(), grace=grace)
    except InvalidPageToken as error:
        raise HTTPException(401, f"page token: {error}", {"WWW-Authenticate": "Bearer"}) from error


def page_grant(runtime: RuntimeDep, authorization: Annotated[str, Header()] = "") -> PageGrant:
    """The grant of the page token in `Authorization: Bearer …` (never a cookie: CSRF-safe)."""
    return _grant_of(runtime, authorization)


GrantDep = Annotated[PageGrant, Depends(page_grant)]


async def granted_portal(grant: GrantDep, session: SessionDep) -> Portal:
    """The portal the page token names, while the app is installed there."""
    portal = await PortalRepository(session).get(grant.member_id)
    if portal is None or portal.state == "uninstalled":
        raise HTTPException(403, "the app is not installed on this portal")
    return portal


PortalDep = Annotated[Portal, Depends(granted_portal)]


async def administered_portal(grant: GrantDep, portal: PortalDep) -> Portal:
    """The granted portal, when the page's user is its administrator (every change needs it)."""
    if not grant.admin:
        raise HTTPException(403, TEXT[grant.lang]["admin_only"])
    return portal


AdminPortalDep = Annotated[Portal, Depends(administered_portal)]


def history_visible(portal: Portal, *, admin: bool) -> bool:
    """The history shows contacts' and leads' names: administrators see it, others only when an
    administrator turned on "show corrections to everyone" (issue 14 item 8)."""
    return admin or options_of(portal).history_for_everyone


async def history_portal(grant: GrantDep, portal: PortalDep) -> Portal:
    """The granted portal, when the page's user may see its history."""
    if not history_visible(portal, admin=grant.admin):
        raise HTTPException(403, TEXT[grant.lang]["history_admins_only"])
    return portal


HistoryPortalDep = Annotated[Portal, Depends(history_portal)]
_API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, forged or expired page token"},
    403: {"description": "the app is no longer installed"},
}
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_API_ERRORS,
    403: {"description": "not a Bitrix24 administrator, or the app is no longer installed"},
}


@router.post(
    "/app/api/token",
    response_model=PageTokenView,
    responses={
        401: {"description": "not a token this service issued, or expired too long ago"},
        403: {"description": "the Bitrix24 token was refused, or the app is not installed"},
    },
)
async def renew_token(
    request: Request,
    body: TokenRenewal,
    runtime: RuntimeDep,
    session: SessionDep,
    authorization: Annotated[str, Header()] = "",
) -> PageTokenView:
    """A page open longer than its token renews it with the user's BX24 token (BX24.getAuth).

    The old token names the portal (it may have expired within RENEWAL_GRACE_SECONDS); the
    Bitrix24 token proves the user is still there, checked like a frame's AUTH_ID. Admin rights
    come from that check alone, never from the old token: renewal cannot escalate.
    """
    grant = _grant_of(runtime, authorization, grace=RENEWAL_GRACE_SECONDS)
    portal = await PortalRepository(session).get(grant.member_id)
    if portal is None or portal.state == "uninstalled":
        raise HTTPException(403, "the app is not installed on this portal")
    # Our page token vouches for the caller: they had the page, so they are the portal's user.
    user = await frame_user(
        portal, body.auth_id, runtime.bitrix, caller=_caller(request), vouched=True
    )
    if user is None:
        raise HTTPException(403, "the Bitrix24 token was refused")
    token = _signer(runtime.settings).issue(portal.member_id, grant.lang, admin=user.admin)
    return PageTokenView(token=token, expires_at=_signer(runtime.settings).verify(token).expires_at)


@router.get("/app/api/state", response_model=PageState, responses=_API_ERRORS)
async def read_state(portal: PortalDep, session: SessionDep, runtime: RuntimeDep) -> PageState:
    """Current options, portal state, backfill progress and the summary of recent work."""
    retention = runtime.settings.inbox_retention_days
    return await service.page_state(session, portal, retention_days=retention)


@router.put("/app/api/settings", response_model=SettingsView, responses=_CHANGE_ERRORS)
async def write_settings(
    form: SettingsForm, portal: AdminPortalDep, session: SessionDep
) -> SettingsView:
    """Save the whole settings form (validated; nothing is saved when any field is invalid)."""
    return service.save_settings(session, portal, form)


@router.get(
    "/app/api/changes",
    response_model=ChangesPage,
    responses={
        **_API_ERRORS,
        403: {"description": "administrators only (unless shown to everyone), or not installed"},
    },
)
async def read_changes(
    grant: GrantDep,
    portal: HistoryPortalDep,
    session: SessionDep,
    before_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ChangesPage:
    """Recent corrections, newest first, with reasons in the page's language."""
    return await service.history(
        session, portal.member_id, grant.lang, before_id=before_id, limit=limit
    )


@router.post(
    "/app/api/undo",
    response_model=UndoResult,
    responses={**_CHANGE_ERRORS, 502: {"description": "the portal could not be read or written"}},
)
async def undo(
    body: UndoRequest, portal: AdminPortalDep, runtime: RuntimeDep
) -> Response | UndoResult:
    """Put the typed values back on the portal and keep them from being corrected again."""
    try:
        return await service.undo_changes(runtime, portal, body.ids)
    except service.UndoFailed as error:
        return JSONResponse({"error": "portal_unavailable", "detail": str(error)}, 502)


@router.get("/app/api/backfill", response_model=backfills.BackfillProgress, responses=_API_ERRORS)
async def read_backfill(portal: PortalDep, session: SessionDep) -> backfills.BackfillProgress:
    """Progress of "fix existing records" (poll it while `state` is running)."""
    return await backfills.backfill_progress(session, portal)


@router.post(
    "/app/api/backfill",
    response_model=backfills.BackfillProgress,
    status_code=202,
    responses={**_CHANGE_ERRORS, 409: {"description": "off, or already running"}},
)
async def start_backfill(
    grant: GrantDep, portal: AdminPortalDep, session: SessionDep
) -> Response | backfills.BackfillProgress:
    """Start "fix existing records" for the enabled entities; the worker does the rest."""
    try:
        await backfills.start_backfill(session, portal)
    except backfills.BackfillRefused as refused:
        detail = TEXT[grant.lang].get(refused.reason, refused.reason)
        return JSONResponse({"error": refused.reason, "detail": detail}, 409)
    return await backfills.backfill_progress(session, portal)
