"""GET /: a page for the operator or developer who opens the service's address in a browser.

It says what the service is, whether it is ready, and the exact values to enter in the Bitrix24
developer cabinet (DESIGN.md §3). It is public, so it shows nothing that is not already public:
PUBLIC_URL, the version, the readiness that /readyz tells anyone.
"""

from __future__ import annotations

import base64
import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from namecase.front.exposure import public_url_problems
from namecase.front.language import language_of_accept
from namecase.front.texts import TEXT
from namecase.health import readiness
from namecase.portals.bindings import BOUND_EVENTS
from namecase.runtime import RuntimeDep

router = APIRouter(tags=["operations"])
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
# The style sheet is inlined and allowed by its hash: no extra route for the proxy to pass.
_STYLE = (_HERE / "templates" / "front.css").read_text()
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
SCOPE = "crm"
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}


def package_version() -> str:
    """The installed namecase version (what the operator deployed)."""
    try:
        return version("namecase")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@router.get("/", response_class=HTMLResponse, summary="Front page: readiness and cabinet values")
async def front_page(
    request: Request,
    runtime: RuntimeDep,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """HTML in the browser's language (ru or en)."""
    settings = runtime.settings
    lang = language_of_accept(accept_language)
    public_url = settings.public_url
    return templates.TemplateResponse(
        request,
        "front.html",
        {
            "lang": lang,
            "t": TEXT[lang],
            "style": _STYLE,
            "state": await readiness(runtime.engine),
            "version": package_version(),
            "public_url": public_url,
            "base": urlsplit(public_url).path,
            "problems": public_url_problems(settings),
            "host": urlsplit(public_url).hostname or "",
            "scope": SCOPE,
            "events": BOUND_EVENTS,
            "admin": bool(settings.admin_token),
        },
        headers=_HEADERS,
    )
