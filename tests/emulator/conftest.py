"""Fixtures for the emulator's own tests: a served emulator, an app stub, an installed app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulator.receiver import Receiver, serve_receiver
from namecase.emulator import Emulator, Portal, serve_emulator
from namecase.emulator.hosts import loopback_client

CLIENT_ID = "local.test.1"
CLIENT_SECRET = "test-secret"


@pytest.fixture
def emulator() -> Emulator:
    """A fresh emulator with known app credentials."""
    return Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
async def base_url(emulator: Emulator) -> AsyncIterator[str]:
    """The emulator, served on a free loopback port."""
    async with serve_emulator(emulator) as url:
        yield url


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The app's side: records installer posts and event deliveries."""
    async with serve_receiver() as stub:
        yield stub


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that does not follow redirects (as careful Bitrix clients do) and reaches
    the portals by their names (*.bitrix24.test → 127.0.0.1, namecase.emulator.hosts)."""
    async with loopback_client(timeout=10.0) as client:
        yield client


@dataclass
class InstalledApp:
    """The app installed on a portal, with the tokens the installer frame carried."""

    portal: Portal
    access_token: str
    refresh_token: str
    application_token: str

    @property
    def member_id(self) -> str:
        return self.portal.member_id


async def install(
    emulator: Emulator, receiver: Receiver, portal: Portal, finish: bool = True
) -> InstalledApp:
    """Install the app through its installer frame and return the frame's tokens."""
    receiver.installer_html = (
        "<script>BX24.installFinish();</script>" if finish else "<p>not finished</p>"
    )
    await emulator.install_app(portal.member_id, receiver.url("/install"))
    form = receiver.at("/install")[-1].form
    return InstalledApp(
        portal=portal,
        access_token=form["AUTH_ID"],
        refresh_token=form["REFRESH_ID"],
        application_token=form["APPLICATION_TOKEN"],
    )


@pytest.fixture
async def app(emulator: Emulator, base_url: str, receiver: Receiver) -> InstalledApp:
    """The app installed (and install finished) on portal acme.bitrix24.test."""
    portal = emulator.add_portal(domain="acme.bitrix24.test")
    return await install(emulator, receiver, portal)


async def call(
    http: httpx.AsyncClient, app: InstalledApp, method: str, params: dict[str, Any] | None = None
) -> httpx.Response:
    """POST a JSON REST call with the app's access token."""
    body = {**(params or {}), "auth": app.access_token}
    return await http.post(f"{app.portal.client_endpoint}{method}", json=body)
