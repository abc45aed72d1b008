"""The settings page in a real browser, opened the way Bitrix24 opens it: in the portal's frame.

The emulator's portal page (`http://{domain}:{port}/?app=URL`) POSTs the documented frame fields
into an iframe, and serves the BX24 library the page loads. Screenshots go to
artifacts/screenshots/.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from sqlalchemy import select

from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.models import Change
from namecase.portals.repository import PortalRepository
from namecase.portals.service import options_of
from namecase.ui.page_token import PAGE_TOKEN_SECONDS, PageTokenSigner
from support.stack import Stack

from .harness import NOT_ADMIN, frame_request, page_api, page_stack

try:
    from playwright.async_api import Browser, FrameLocator, Page, expect
except ImportError:  # only off CI: there the browser tests must run (see conftest.py)
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

VIEWPORT = {"width": 1280, "height": 1800}
ADMIN_TOKEN = "browser-admin-token-0123456789"


async def open_in_portal(
    page: Page, stack: Stack, portal: EmulatedPortal, lang: str
) -> FrameLocator:
    """Open the portal page that frames the app, as the administrator clicking it in the menu.

    The emulator's portal page frames the app with user 1's tokens: the portal's administrator.
    """
    app = quote(f"{stack.app_url}/app", safe="")
    await page.goto(f"{portal.origin}/?app={app}&lang={lang}")
    frame = page.frame_locator("iframe[name=b24frame]")
    await expect(frame.locator("h1")).to_be_visible()
    await expect(frame.locator("#read-only")).to_have_count(0)
    return frame


async def test_settings_open_in_the_frame_and_toggles_persist(
    pg_database_url: str, browser: Browser, screenshots: Path
) -> None:
    async with page_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        page = await browser.new_page(viewport=VIEWPORT)
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        frame = await open_in_portal(page, stack, portal, "ru")
        await expect(frame.locator("h1")).to_have_text("Регистр имён")
        # The emulator's BX24 library loaded and BX24.init called back.
        await expect(frame.locator("html.in-bitrix24")).to_have_count(1)

        await frame.locator("#entity-lead").check()
        await expect(frame.locator("#save-status")).to_have_text("Сохранено")
        await frame.locator("#dry_run").check()
        await expect(frame.locator("#save-status")).to_have_text("Сохранено")
        await frame.locator("#particles").uncheck()
        await expect(frame.locator("#save-status")).to_have_text("Сохранено")
        await frame.locator("#fix_lookalikes").uncheck()
        await expect(frame.locator("#save-status")).to_have_text("Сохранено")

        frame = await open_in_portal(page, stack, portal, "ru")  # reopen: a new frame POST
        await expect(frame.locator("#entity-lead")).to_be_checked()
        await expect(frame.locator("#dry_run")).to_be_checked()
        await expect(frame.locator("#particles")).not_to_be_checked()
        await expect(frame.locator("#fix_lookalikes")).not_to_be_checked()
        await expect(frame.locator("#entity-contact")).to_be_checked()
        await page.screenshot(path=screenshots / "settings-ru.png", full_page=True)
        # The page's own policy allows everything it does (BX24 library, its API, its styles).
        assert not [text for text in console if "Content Security Policy" in text]
        async with stack.runtime.sessions() as session:
            row = await PortalRepository(session).get(portal.member_id)
        assert row is not None
        options = options_of(row)
        assert (options.entities, options.dry_run, options.particles) == (
            ("contact", "lead"),
            True,
            False,
        )
        assert options.fix_lookalikes is False

        # A page left open past its token's life renews it through BX24 and carries on.
        expired = PageTokenSigner(stack.settings.fernet_keys()[0]).issue(
            portal.member_id, "ru", admin=True, now=time.time() - PAGE_TOKEN_SECONDS - 60
        )
        meta = frame.locator("meta[name=namecase-token]")
        await meta.evaluate("(meta, token) => { meta.content = token; }", expired)
        await frame.locator("#keep_latin_mixed_case").uncheck()
        await expect(frame.locator("#save-status")).to_have_text("Сохранено")
        assert await meta.get_attribute("content") != expired
        await expect(frame.locator("#banner")).to_be_hidden()

        # The last entity cannot be unticked: the page says why and the server keeps it.
        await frame.locator("#entity-lead").uncheck()
        await frame.locator("#entity-contact").click()  # the page puts the tick back
        await expect(frame.locator("#save-status")).to_have_text(
            "Выберите хотя бы одно: контакты или лиды."
        )
        await expect(frame.locator("#entity-contact")).to_be_checked()


async def test_a_new_admin_sees_corrections_undoes_one_and_fixes_old_records(
    pg_database_url: str, browser: Browser, screenshots: Path
) -> None:
    async with page_stack(pg_database_url, admin_token=ADMIN_TOKEN) as stack:
        portal = stack.add_portal()
        old = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": name})
            for name in ["ольга", "ПАВЕЛ", "Анна"] * 40
        ]
        assert (await stack.install(portal)).status_code == 200
        await stack.drain()
        page = await browser.new_page(viewport=VIEWPORT)

        # A first visit: the onboarding is open and there is no history yet.
        frame = await open_in_portal(page, stack, portal, "en")
        await expect(frame.locator("#onboarding")).to_have_attribute("open", "")
        await expect(frame.locator("#history-empty")).to_be_visible()
        await page.screenshot(path=screenshots / "first-visit-en.png", full_page=True)

        # A colleague types a name in caps; the correction shows up with its reason.
        contact_id = await stack.emulator.user_add_contact(
            portal.member_id, {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ"}
        )
        await stack.drain()
        frame = await open_in_portal(page, stack, portal, "en")
        row = frame.locator("#history-rows tr", has_text="иВАН")
        await expect(row).to_contain_text("Иван")
        await expect(row).to_contain_text("Typed with Caps Lock on")

        # Undo it: the typed value goes back, and our own echo event does not undo the undo.
        await row.locator("button.undo").click()
        await expect(frame.locator("#undo-status")).to_have_text("Restored 1.")
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "иВАН"
        assert stack.emulator.contact(portal.member_id, contact_id)["LAST_NAME"] == "Петров"
        frame = await open_in_portal(page, stack, portal, "en")
        row = frame.locator("#history-rows tr", has_text="иВАН")
        await expect(row).to_have_class("undone")
        await expect(row).to_contain_text("Undone")
        await page.screenshot(path=screenshots / "undone-en.png", full_page=True)

        # Fix the records from before the install, and watch the bar reach 100%.
        await frame.locator("#backfill-start").click()
        await expect(frame.locator("#backfill-text")).to_have_attribute("data-state", "running")
        await stack.drain()
        await expect(frame.locator("#backfill-percent")).to_have_text("100%", timeout=15_000)
        bar = frame.locator("#backfill-bar")
        assert await bar.evaluate("bar => bar.value") == 100
        await expect(frame.locator("#backfill-text")).to_contain_text("checked: 121 of 121")
        await expect(frame.locator("#backfill-text")).to_contain_text("to fix: 80")
        # The history now leads with the backfill's corrections, 20 to a page.
        await expect(frame.locator("#history-rows tr")).to_have_count(20)
        await expect(frame.locator("#history-more")).to_be_visible()
        await page.screenshot(path=screenshots / "backfill-done-en.png", full_page=True)
        names = {stack.emulator.contact(portal.member_id, i)["NAME"] for i in old}
        assert names == {"Ольга", "Павел", "Анна"}
        # The undone name stays as typed through the backfill as well.
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "иВАН"

        # The operator sees the same portal in /admin.
        admin = await browser.new_page(viewport={"width": 1400, "height": 900})
        await admin.goto(f"{stack.app_url}/admin")
        await admin.locator("#token").fill(ADMIN_TOKEN)
        await admin.locator("#signin button").click()
        portal_row = admin.locator(f"#portals tr[data-member='{portal.member_id}']")
        await expect(portal_row).to_contain_text(portal.domain)
        await expect(portal_row).to_contain_text("active")
        await admin.screenshot(path=screenshots / "admin.png", full_page=True)


async def test_the_page_works_when_the_bx24_library_cannot_load(
    pg_database_url: str, browser: Browser
) -> None:
    # Nothing listens on port 9 of loopback: the library's request is refused.
    async with page_stack(pg_database_url, bx24_js_url="http://127.0.0.1:9/api/v1/") as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "мАРИЯ"})
        await stack.drain()
        page = await browser.new_page(viewport=VIEWPORT)

        frame = await open_in_portal(page, stack, portal, "en")
        await frame.locator("#dry_run").check()
        await expect(frame.locator("#save-status")).to_have_text("Saved")
        await frame.locator("#history-rows tr", has_text="мАРИЯ").locator("button.undo").click()
        await expect(frame.locator("#undo-status")).to_have_text("Restored 1.")

        await expect(frame.locator("html.in-bitrix24")).to_have_count(0)
        async with stack.runtime.sessions() as session:
            (change,) = (await session.execute(select(Change))).scalars().all()
        assert change.undone_at is not None


async def test_a_colleague_who_is_not_an_admin_sees_names_only_when_shown_and_changes_nothing(
    pg_database_url: str, browser: Browser, screenshots: Path
) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "мАРИЯ"})
        await stack.drain()
        page = await browser.new_page(viewport=VIEWPORT)
        query, form = frame_request(stack, portal, "en", NOT_ADMIN)

        await page.goto(f"{stack.app_url}/app?{urlencode({**query, **form})}")

        await expect(page.locator("#read-only")).to_contain_text(
            "Only a Bitrix24 administrator can change these settings"
        )
        # The history holds contacts' names: administrators only by default (issue 14 item 8).
        await expect(page.locator("#history-hidden")).to_be_visible()
        await expect(page.locator("#history-rows tr")).to_have_count(0)
        async with await page_api(http, stack, portal) as api:
            state = (await api.get("state")).json()["settings"]
            shown = await api.put("settings", json={**state, "history_for_everyone": True})
            assert shown.status_code == 200
        await page.goto(f"{stack.app_url}/app?{urlencode({**query, **form})}")
        row = page.locator("#history-rows tr", has_text="мАРИЯ")
        await expect(row).to_contain_text("Мария")
        await expect(row.locator("button.undo")).to_have_count(0)
        await expect(row.locator("input.pick")).to_be_disabled()
        for control in ("#enabled", "#entity-lead", "#dry_run", "#backfill-start", "#select-all"):
            await expect(page.locator(control)).to_be_disabled()
        await page.screenshot(path=screenshots / "read-only-en.png", full_page=True)
        async with stack.runtime.sessions() as session:
            stored = await PortalRepository(session).get(portal.member_id)
        assert stored is not None and options_of(stored).enabled
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Мария"
