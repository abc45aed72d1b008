"""POST /install: the installer frame of a Bitrix24 portal (bitrix24-protocol.md §1)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from namecase.bitrix import BitrixError, parse_php_form
from namecase.callers import caller_of
from namecase.i18n import Language, language_of
from namecase.portals.schemas import InstallRequest
from namecase.portals.service import InstallRejected, PortalIdentity
from namecase.portals.throttle import admit_install
from namecase.runtime import RuntimeDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["bitrix24"])
INSTALL_MAX_BYTES = 16384  # the installer form is well under 2 KiB
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "title_ok": "namecase is installed",
        "body_ok": "New and changed contacts will get properly cased names within seconds.",
        "finishing": "Finishing the installation…",
        "no_library": "The Bitrix24 library did not load; reopen the application to finish.",
        "title_error": "The installation could not be completed",
        "body_error": "Nothing was saved. Reopen the application to try again.",
    },
    "ru": {
        "title_ok": "namecase установлен",
        "body_ok": "Имена новых и изменённых контактов будут исправляться за несколько секунд.",
        "finishing": "Завершаем установку…",
        "no_library": "Библиотека Битрикс24 не загрузилась; откройте приложение снова.",
        "title_error": "Установку не удалось завершить",
        "body_error": "Ничего не сохранено. Откройте приложение снова, чтобы повторить.",
    },
}


def _install_request(form: dict[str, str], query: dict[str, str]) -> InstallRequest:
    return InstallRequest(
        auth_id=form.get("AUTH_ID", ""),
        auth_expires=int(form.get("AUTH_EXPIRES") or 3600),
        refresh_id=form.get("REFRESH_ID", ""),
        server_endpoint=form.get("SERVER_ENDPOINT", ""),
        application_token=form.get("APPLICATION_TOKEN", ""),
        member_id=form.get("member_id", ""),
        status=form.get("status", ""),
        scope=form.get("APPLICATION_SCOPE", ""),
        domain=query.get("DOMAIN", ""),
        lang=query.get("LANG", "en"),
    )


@router.post("/install", response_class=HTMLResponse, summary="Bitrix24 installer frame")
async def install(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Confirm the portal with the OAuth server, store it, bind events, call installFinish."""
    query = dict(request.query_params)
    lang = language_of(query.get("LANG"))
    try:
        parsed = parse_php_form(await request.body(), max_bytes=INSTALL_MAX_BYTES)
        form = {key: value for key, value in parsed.items() if isinstance(value, str)}
        install_request = _install_request(form, query)
    except (ValidationError, ValueError):
        return _page(request, lang, ok=False, status=400, reason=_bad_form(lang))
    identity = PortalIdentity(
        member_id=install_request.member_id,
        server_endpoint=install_request.server_endpoint,
        refresh_token=install_request.refresh_id,
        application_token=install_request.application_token,
        domain=install_request.domain,
        lang=lang,
    )
    caller = caller_of(request.client.host if request.client else None)
    if not admit_install(runtime.settings, caller):
        page = _page(request, lang, ok=False, status=429, reason=_too_many(lang))
        page.headers["Retry-After"] = "60"
        return page
    try:
        await runtime.portals.install(identity)
    except InstallRejected as rejected:
        log.warning("install rejected: %s", rejected.reason)
        return _page(request, lang, ok=False, status=rejected.status_code, reason=rejected.reason)
    except BitrixError as error:
        log.warning("install failed while binding events: %s", error)
        reason = f"Bitrix24: {error.code or error.description}"
        return _page(request, lang, ok=False, status=502, reason=reason)
    return _page(request, lang, ok=True, status=200, reason="")


def _too_many(lang: Language) -> str:
    if lang == "ru":
        return "Слишком много попыток установки; повторите через минуту."
    return "Too many install attempts; try again in a minute."


def _bad_form(lang: Language) -> str:
    if lang == "ru":
        return "Запрос установки неполон или повреждён."
    return "The install request is incomplete or malformed."


def _page(request: Request, lang: Language, *, ok: bool, status: int, reason: str) -> HTMLResponse:
    runtime = request.app.state.runtime
    return templates.TemplateResponse(
        request,
        "install.html",
        {
            "lang": lang,
            "t": TEXT[lang],
            "ok": ok,
            "reason": reason,
            "bx24_js_url": runtime.settings.bx24_js_url,
        },
        status_code=status,
    )
