"""Fixtures for the protocol tests: the emulator on a loopback port, an installed portal whose
tokens came through a real installer frame and were confirmed at the OAuth server, and a client
with recorded sleeps and call log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from namecase.bitrix import BitrixClient, LeakyBucket, OAuthClient
from namecase.bitrix.transport import portal_http_client
from namecase.emulator import PORTAL_DOMAIN_SUFFIX, Emulator, serve_emulator
from support.servers import serve

from .portal_doubles import CallLog, Installer, MemoryLink, Sleeps

CLIENT_ID = "local.namecase.bitrix-tests"
CLIENT_SECRET = "bitrix-tests-client-secret-0123456789"


@dataclass
class Wire:
    """Every request our side sent, as seen by httpx (method, URL, body)."""

    requests: list[httpx.Request]

    async def record(self, request: httpx.Request) -> None:
        self.requests.append(request)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with serve_emulator(emulator, host="127.0.0.1", port=0):
        yield emulator
        emulator.release_hangs()


@pytest.fixture
async def installer() -> AsyncIterator[tuple[Installer, str]]:
    app = Installer()
    async with serve(app) as base_url:
        yield app, f"{base_url}/install"


@pytest.fixture
def wire() -> Wire:
    return Wire([])


@pytest.fixture
async def http(wire: Wire) -> AsyncIterator[httpx.AsyncClient]:
    # The production client: every connection checked by the endpoint guard (loopback allowed,
    # as NAMECASE_ALLOW_HTTP does for the emulator).
    # The emulator's portals are hosts under bitrix24.test (NAMECASE_EMULATOR_HOSTS).
    async with portal_http_client(
        allow_loopback=True, emulator_hosts=(PORTAL_DOMAIN_SUFFIX,)
    ) as client:
        client.event_hooks["request"].append(wire.record)
        yield client


@pytest.fixture
def oauth(http: httpx.AsyncClient, emulator: Emulator) -> OAuthClient:
    return OAuthClient(
        http,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        oauth_servers=(emulator.base_url,),
        allow_http=True,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def call_log() -> CallLog:
    return CallLog()


@pytest.fixture
def make_client(
    http: httpx.AsyncClient, sleeps: Sleeps, call_log: CallLog
) -> Callable[..., BitrixClient]:
    def make(**overrides: Any) -> BitrixClient:
        options: dict[str, Any] = {
            "allow_http": True,
            "on_call": call_log,
            "sleep": sleeps,
            "request_timeout": 2.0,
        }
        options.update(overrides)
        return BitrixClient(http, **options)

    return make


@pytest.fixture
def client(make_client: Callable[..., BitrixClient]) -> BitrixClient:
    return make_client()


@pytest.fixture
def install(
    emulator: Emulator, installer: tuple[Installer, str], oauth: OAuthClient
) -> Callable[..., Any]:
    """Install the app on a new portal the way /install does; return a MemoryLink to it."""
    frames, install_url = installer

    async def install_portal(
        domain: str = "acme.bitrix24.test", bucket: LeakyBucket | None = None, **portal: Any
    ) -> MemoryLink:
        created = emulator.add_portal(domain=domain, **portal)
        response = await emulator.install_app(created.member_id, install_url=install_url)
        assert response.status_code == 200
        frame = frames.frames[-1]
        grant = await oauth.refresh(frame["SERVER_ENDPOINT"], frame["REFRESH_ID"])
        assert grant.member_id == created.member_id
        return MemoryLink(
            member_id=grant.member_id,
            oauth=oauth,
            server_endpoint=frame["SERVER_ENDPOINT"],
            client_endpoint=grant.client_endpoint,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            bucket=bucket or LeakyBucket.for_portal(),
        )

    return install_portal


@pytest.fixture
async def link(install: Callable[..., Any]) -> MemoryLink:
    portal: MemoryLink = await install()
    return portal
