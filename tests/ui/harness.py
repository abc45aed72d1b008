"""The settings page under test: the stack with the emulator's BX24 library, and the frame POST.

The emulator's user 1 is the portal's administrator and user 2 is not (docs/EMULATOR.md); pages
open as the administrator unless a test says otherwise.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from namecase.emulator import Portal as EmulatedPortal
from support.stack import Stack, running_stack

TOKEN_META = re.compile(r'<meta name="namecase-token" content="([^"]+)">')
ADMIN = 1
NOT_ADMIN = 2


def page_stack(database_url: str, **overrides: Any) -> AbstractAsyncContextManager[Stack]:
    """The running stack, with the page loading the emulator's BX24 library."""
    return running_stack(database_url, page_library=True, **overrides)


def frame_request(
    stack: Stack,
    portal: EmulatedPortal,
    lang: str = "en",
    user_id: int = ADMIN,
    **form_overrides: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """The query string and form body Bitrix24 sends when `user_id` opens the app (§1, §9)."""
    emulator = stack.emulator
    query = emulator.frame_query(emulator.portal(portal.member_id), lang)
    form = emulator.frame_form(portal, emulator.frame_tokens(portal.member_id, user_id))
    form.update(form_overrides)
    return query, form


async def open_frame(
    http: httpx.AsyncClient,
    stack: Stack,
    portal: EmulatedPortal,
    lang: str = "en",
    user_id: int = ADMIN,
    **form_overrides: str,
) -> httpx.Response:
    """POST /app as the Bitrix24 frame does when `user_id` opens the app."""
    query, form = frame_request(stack, portal, lang, user_id, **form_overrides)
    return await http.post(f"{stack.app_url}/app", params=query, data=form)


def page_token(page: httpx.Response) -> str:
    """The API token the page embeds for its own calls."""
    found = TOKEN_META.search(page.text)
    assert found, "the page carries no token"
    return found.group(1)


async def page_api(
    http: httpx.AsyncClient,
    stack: Stack,
    portal: EmulatedPortal,
    user_id: int = ADMIN,
    lang: str = "en",
) -> httpx.AsyncClient:
    """A client that calls the page's API as `user_id`'s page script does (bearer page token)."""
    page = await open_frame(http, stack, portal, lang, user_id)
    assert page.status_code == 200, page.text
    return httpx.AsyncClient(
        base_url=f"{stack.app_url}/app/api/",
        headers={"Authorization": f"Bearer {page_token(page)}"},
        timeout=30.0,
    )
