"""The operator's pages in a real browser: the front page at / and /admin with its 24-hour chart.

Screenshots go to artifacts/screenshots/ (README.md shows the front page and /admin).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.stack import running_stack

try:
    from playwright.async_api import Browser, expect
except ImportError:  # only off CI: there the browser tests must run (see conftest.py)
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

ADMIN_TOKEN = "operator-browser-admin-token"


@pytest.mark.parametrize(
    ("locale", "heading", "ready"),
    [
        ("en-US", "Values for the Bitrix24 developer cabinet", "Ready"),
        ("ru-RU", "Значения для кабинета разработчика Битрикс24", "Работает"),
    ],
)
async def test_the_front_page_in_the_browsers_language(
    pg_database_url: str,
    browser: Browser,
    screenshots: Path,
    locale: str,
    heading: str,
    ready: str,
) -> None:
    async with running_stack(
        pg_database_url, admin_token=ADMIN_TOKEN, public_url="https://namecase.example.com"
    ) as stack:
        # The browser sends Accept-Language from its locale, as a person's browser does.
        context = await browser.new_context(locale=locale, viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        await page.goto(f"{stack.app_url}/")

        await expect(page.locator("#cabinet-title")).to_have_text(heading)
        await expect(page.locator("#readiness")).to_contain_text(ready)
        await expect(page.locator("#handler-url")).to_have_text("https://namecase.example.com/app")
        await expect(page.locator("#install-url")).to_have_text(
            "https://namecase.example.com/install"
        )
        await expect(page.locator("#scope")).to_have_text("crm")
        # https on a public name (and the emulator's OAuth server): nothing to warn about.
        await expect(page.locator("#warning")).to_have_count(0)
        # The inlined style sheet is allowed by its hash: the page is styled, not blocked.
        assert not [text for text in console if "Content Security Policy" in text]
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(243, 245, 247)"
        await page.screenshot(path=screenshots / f"front-{locale[:2]}.png", full_page=True)

        await page.locator("a[href=admin]").click()
        await expect(page.locator("#token")).to_be_visible()
        await context.close()


async def test_the_front_page_warns_about_an_unreachable_public_url(
    pg_database_url: str, browser: Browser, screenshots: Path
) -> None:
    # Real OAuth servers, but PUBLIC_URL on plain http and loopback (the defaults' mistake).
    async with running_stack(
        pg_database_url, oauth_servers=("https://oauth.bitrix.info",)
    ) as stack:
        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        await page.goto(f"{stack.app_url}/")
        warning = page.locator("#warning")
        await expect(warning).to_be_visible()
        await expect(warning.locator("[data-problem=not_https]")).to_contain_text("not https")
        await expect(warning.locator("[data-problem=local_host]")).to_contain_text("127.0.0.1")
        await page.screenshot(path=screenshots / "front-warning-en.png", full_page=True)


async def test_admin_draws_the_last_day_and_explains_each_portal(
    pg_database_url: str, browser: Browser, screenshots: Path
) -> None:
    async with running_stack(pg_database_url, admin_token=ADMIN_TOKEN) as stack:
        portal = await stack.installed_portal()
        for name in ("иВАН", "ПЁТР", "анна", "Мария"):
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": name})
        await stack.drain()
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        await page.goto(f"{stack.app_url}/admin")
        await page.locator("#token").fill(ADMIN_TOKEN)
        await page.locator("#signin button").click()

        chart = page.locator("#activity-chart svg")
        await expect(chart).to_be_visible()
        await expect(chart.locator("rect.bar-queued")).to_have_count(24)
        await expect(chart.locator("rect.bar-corrections")).to_have_count(24)
        # The bars of the last hours hold this test's four records and three fixes.
        total = "(bars) => bars.reduce((sum, bar) => sum + Number(bar.dataset.value), 0)"
        assert await chart.locator("rect.bar-queued").evaluate_all(total) == 4
        assert await chart.locator("rect.bar-corrections").evaluate_all(total) == 3
        await expect(page.locator("#activity-totals")).to_have_text("4 queued, 3 corrected")

        row = page.locator(f"#portals tr[data-member='{portal.member_id}']")
        await expect(row).to_contain_text("Served: its events are processed as they arrive.")
        await expect(row.locator(".mode")).to_have_text("online")
        assert not [text for text in console if "Content Security Policy" in text]
        await page.screenshot(path=screenshots / "admin-activity.png", full_page=True)
