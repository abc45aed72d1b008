"""Least data (issue 14 item 8): the history of corrections holds contacts' and leads' names, so
only portal administrators see it — whatever a user's CRM rights — unless an administrator turns
on "show corrections to everyone". Undo stays an administrator's, always."""

from __future__ import annotations

import httpx

from namecase.emulator import Portal as EmulatedPortal
from support.stack import Stack

from .harness import NOT_ADMIN, open_frame, page_api, page_stack

HIDDEN_NOTE = 'id="history-hidden"'
ADMINS_ONLY = "Only Bitrix24 administrators see the recent corrections"
SHOW_TO_EVERYONE = {
    "enabled": True,
    "entities": ["contact"],
    "fields": ["NAME", "SECOND_NAME", "LAST_NAME"],
    "dry_run": False,
    "particles": True,
    "keep_latin_mixed_case": True,
    "fix_lookalikes": True,
    "history_for_everyone": True,
}


async def _corrected(stack: Stack) -> EmulatedPortal:
    portal = await stack.installed_portal()
    await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН", "LAST_NAME": "петров"})
    await stack.drain()
    return portal


async def test_a_non_administrator_sees_no_history_by_default(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await _corrected(stack)
        page = await open_frame(http, stack, portal, user_id=NOT_ADMIN)
        async with await page_api(http, stack, portal, user_id=NOT_ADMIN) as api:
            changes = await api.get("changes")
        async with await page_api(http, stack, portal) as api:
            admin_changes = await api.get("changes")

    assert page.status_code == 200
    assert HIDDEN_NOTE in page.text and ADMINS_ONLY in page.text
    assert 'data-visible="no"' in page.text
    assert changes.status_code == 403
    assert changes.json()["detail"].startswith(ADMINS_ONLY)
    assert "иВАН" not in changes.text and "Иван" not in changes.text
    assert admin_changes.status_code == 200
    assert len(admin_changes.json()["changes"]) == 2


async def test_an_administrator_can_show_the_history_to_everyone(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await _corrected(stack)
        async with await page_api(http, stack, portal) as api:
            saved = await api.put("settings", json=SHOW_TO_EVERYONE)
        page = await open_frame(http, stack, portal, lang="ru", user_id=NOT_ADMIN)
        async with await page_api(http, stack, portal, user_id=NOT_ADMIN) as api:
            changes = await api.get("changes")
            undo = await api.post("undo", json={"ids": [changes.json()["changes"][0]["id"]]})

    assert saved.status_code == 200 and saved.json()["history_for_everyone"] is True
    assert HIDDEN_NOTE not in page.text and 'data-visible="yes"' in page.text
    assert changes.status_code == 200
    assert {c["after"] for c in changes.json()["changes"]} == {"Иван", "Петров"}
    assert undo.status_code == 403  # seeing is not undoing


async def test_the_option_is_off_until_an_administrator_turns_it_on(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        admin_page = await open_frame(http, stack, portal, lang="ru")
        async with await page_api(http, stack, portal) as api:
            state = (await api.get("state")).json()
        async with await page_api(http, stack, portal, user_id=NOT_ADMIN) as api:
            refused = await api.put("settings", json=SHOW_TO_EVERYONE)

    assert state["settings"]["history_for_everyone"] is False
    assert 'id="history_for_everyone">' in admin_page.text  # unchecked, editable by an admin
    assert "Показывать последние исправления всем пользователям" in admin_page.text
    assert refused.status_code == 403
