"""The summary panel and the record links in a real browser, in the portal's frame.

A correction's "Contact #N" opens the contact's card with BX24.openPath (in the emulator, the
portal page around the frame shows the opened path in its slider). Screenshots go to
artifacts/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest

from namecase.emulator import Portal as EmulatedPortal
from support.stack import Stack

from .harness import frame_request, page_api, page_stack

try:
    from playwright.async_api import Browser, FrameLocator, Page, expect
except ImportError:  # only off CI: there the browser tests must run (see conftest.py)
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

VIEWPORT = {"width": 1280, "height": 1400}
TEXTS = {
    "en": ("names corrected in 7 days", "records checked in 7 days", "Contact", "Lead"),
    "ru": ("имён исправлено за 7 дней", "записей проверено за 7 дн.", "Контакт", "Лид"),
}


async def open_in_portal(
    page: Page, stack: Stack, portal: EmulatedPortal, lang: str
) -> FrameLocator:
    app = quote(f"{stack.app_url}/app", safe="")
    await page.goto(f"{portal.origin}/?app={app}&lang={lang}")
    frame = page.frame_locator("iframe[name=b24frame]")
    await expect(frame.locator("html.in-bitrix24")).to_have_count(1)  # BX24.init called back
    return frame


async def corrected_records(stack: Stack, portal: EmulatedPortal) -> tuple[int, int]:
    """A contact and a lead, each typed in caps and corrected by the app."""
    async with httpx.AsyncClient() as http, await page_api(http, stack, portal) as api:
        settings = (await api.get("state")).json()["settings"]
        settings["entities"] = ["contact", "lead"]
        assert (await api.put("settings", json=settings)).status_code == 200
    contact_id = await stack.emulator.user_add_contact(
        portal.member_id, {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ"}
    )
    lead_id = await stack.emulator.user_add_lead(portal.member_id, {"NAME": "оЛЬГА"})
    await stack.drain()
    return contact_id, lead_id


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_summary_and_record_links_in_the_portal(
    pg_database_url: str, browser: Browser, screenshots: Path, lang: str
) -> None:
    corrected, checked, contact, lead = TEXTS[lang]
    async with page_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        contact_id, lead_id = await corrected_records(stack, portal)
        page = await browser.new_page(viewport=VIEWPORT)
        frame = await open_in_portal(page, stack, portal, lang)

        summary = frame.locator("#summary")
        await expect(summary).to_contain_text(corrected)
        await expect(summary).to_contain_text(checked)
        await expect(frame.locator("#corrected-7d")).to_have_text("3")  # NAME, LAST_NAME, NAME
        await expect(frame.locator("#corrected-30d")).to_have_text("3")
        await expect(frame.locator("#checked")).to_have_text("2")  # one contact, one lead
        await expect(frame.locator("#trial-30d")).to_be_hidden()

        contact_link = frame.locator(f"#history-rows a.record:text-is('{contact} #{contact_id}')")
        await expect(contact_link.first).to_be_visible()
        lead_link = frame.locator(f"#history-rows a.record:text-is('{lead} #{lead_id}')")
        await expect(lead_link).to_have_count(1)
        await page.screenshot(path=screenshots / f"summary-{lang}.png", full_page=True)

        # The link opens the card in the portal's slider, over the app, via BX24.openPath.
        await contact_link.first.click()
        slider = page.locator("#bx24-slider")
        await expect(slider).to_have_attribute("data-path", f"/crm/contact/details/{contact_id}/")
        await lead_link.click()
        await expect(slider).to_have_attribute("data-path", f"/crm/lead/details/{lead_id}/")
        await expect(frame.locator("h1")).to_be_visible()  # the app stayed where it was


async def test_without_the_bx24_library_the_link_opens_the_card_in_the_whole_window(
    pg_database_url: str, browser: Browser
) -> None:
    async with page_stack(pg_database_url, bx24_js_url="http://127.0.0.1:9/api/v1/") as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "мАРИЯ"})
        await stack.drain()
        page = await browser.new_page(viewport=VIEWPORT)
        query, form = frame_request(stack, portal, "en")
        await page.goto(f"{stack.app_url}/app?{urlencode({**query, **form})}")

        link = page.locator("#history-rows a.record").first
        await expect(link).to_have_text(f"Contact #{contact_id}")
        portal_url = portal.client_endpoint.removesuffix("rest/")  # the portal's own address
        card = f"{portal_url}crm/contact/details/{contact_id}/"
        await expect(link).to_have_attribute("href", card)
        await expect(link).to_have_attribute("target", "_top")
