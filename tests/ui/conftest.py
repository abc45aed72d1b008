"""Headless Chromium for the browser tests (Debian's chromium, driven by Playwright).

The browser tests never skip in CI: there a missing browser is a failure. On a developer's
machine without chromium they skip and say how to get it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Each emulated portal is its own host (acme.bitrix24.test on the emulator's port); no DNS
    # knows these names, so the browser maps them to loopback (docs/EMULATOR.md, "Addressing").
    "--host-resolver-rules=MAP *.bitrix24.test 127.0.0.1",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI, but {reason} (.ci/run installs it)")
    pytest.skip(f"{reason}; install it with `apt-get install chromium` (CI does)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test."""
    if not CHROMIUM_INSTALLED:
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def screenshots() -> Path:
    """Where the browser tests leave their screenshots (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
