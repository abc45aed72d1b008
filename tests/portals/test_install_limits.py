"""Install attempts are rate-limited per caller and overall before any OAuth call (issue 14 item
5), and an install whose confirmed endpoint resolves to our network is refused (item 3).

The OAuth server here is a counting double on loopback that refuses every refresh token: what
matters is how many attempts reach it, not what it answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from conftest import make_settings
from namecase.app import create_app
from namecase.bitrix import EndpointGuard, encode_php_form
from namecase.emulator import Emulator, serve_emulator
from namecase.portals.link import RefreshLocks
from namecase.portals.repository import PortalRepository
from namecase.portals.service import PortalService
from namecase.portals.throttle import InstallBudget
from support.servers import serve


@dataclass
class RefusingOAuthServer:
    """Counts token requests and answers each with invalid_grant (protocol §4)."""

    requests: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        self.requests += 1
        body = json.dumps({"error": "invalid_grant", "error_description": "no"}).encode()
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Service:
    url: str
    oauth: RefusingOAuthServer
    oauth_url: str


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    oauth = RefusingOAuthServer()
    async with serve(oauth) as oauth_url:
        # The default per-caller limit (10 a minute); overall 30 a minute instead of 120.
        settings = make_settings(database_url, oauth_servers=(oauth_url,), install_limit_overall=30)
        async with serve(create_app(settings)) as url:
            yield Service(url, oauth, oauth_url)


def _install_form(service: Service, n: int) -> dict[str, str]:
    return {
        "AUTH_ID": f"made-up-access-{n}",
        "AUTH_EXPIRES": "3600",
        "REFRESH_ID": f"made-up-refresh-{n}",
        "SERVER_ENDPOINT": f"{service.oauth_url}/rest/",
        "APPLICATION_TOKEN": f"made-up-app-token-{n}",
        "member_id": f"member{n}",
        "status": "F",
    }


async def _install_from(http: httpx.AsyncClient, service: Service, address: str, n: int) -> int:
    response = await http.post(
        f"{service.url}/install",
        data=_install_form(service, n),
        headers={"X-Forwarded-For": address},
    )
    if response.status_code == 429:
        assert response.headers["Retry-After"] == "60"
    return response.status_code


async def test_installs_from_one_address_are_limited_before_the_oauth_server(
    service: Service,
) -> None:
    async with httpx.AsyncClient() as http:
        flood = [await _install_from(http, service, "203.0.113.9", n) for n in range(25)]
        elsewhere = await _install_from(http, service, "198.51.100.1", 99)

    assert flood[:10] == [403] * 10  # the burst reached the OAuth server, which refused it
    assert flood.count(429) >= 5  # the rest waits for the budget to refill (one per 6 s)
    assert elsewhere == 403  # another caller has its own budget
    assert service.oauth.requests == flood.count(403) + 1  # nothing refused here reached it


async def test_installs_from_everywhere_share_an_overall_budget(service: Service) -> None:
    async with httpx.AsyncClient() as http:
        answers = [
            await _install_from(http, service, f"10.{n // 250}.{n % 250}.1", n) for n in range(100)
        ]

    assert answers[:30] == [403] * 30
    assert answers.count(429) >= 30
    assert service.oauth.requests == answers.count(403)


async def test_install_events_spend_the_same_budget(service: Service) -> None:
    def event(n: int) -> str:
        return encode_php_form(
            {
                "event": "ONAPPINSTALL",
                "data": {"VERSION": "1", "LANGUAGE_ID": "ru"},
                "ts": "1700000000",
                "auth": {
                    "domain": "acme.bitrix24.ru",
                    "member_id": f"member{n}",
                    "application_token": f"made-up-app-token-{n}",
                    "access_token": f"made-up-access-{n}",
                    "refresh_token": f"made-up-refresh-{n}",
                    "server_endpoint": f"{service.oauth_url}/rest/",
                    "client_endpoint": "https://acme.bitrix24.ru/rest/",
                },
            }
        )

    async with httpx.AsyncClient() as http:
        answers = [
            (
                await http.post(
                    f"{service.url}/events",
                    content=event(n),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Forwarded-For": "203.0.113.10",
                    },
                )
            ).status_code
            for n in range(25)
        ]

    assert answers[:10] == [403] * 10
    assert answers.count(429) >= 5
    assert service.oauth.requests == answers.count(403)


def test_the_budget_refills_with_time() -> None:
    now = [1000.0]
    budget = InstallBudget(per_caller=(2.0, 0.5), overall=(3.0, 1.0), clock=lambda: now[0])

    assert [budget.admit("a") for _ in range(3)] == [True, True, False]
    assert budget.admit("b") is True
    assert budget.admit("c") is False  # overall: 3 in the burst
    now[0] += 2.0
    assert budget.admit("a") is True


async def test_an_install_whose_portal_resolves_to_our_network_is_refused(
    database_url: str,
) -> None:
    """An on-premise portal names its own host; if that host resolves to one of our addresses
    (here a made-up DNS answer for the emulated portal's name), nothing is stored and no token
    goes there."""
    emulator = Emulator(client_id="local.namecase.test", client_secret="test-client-secret")
    async with serve_emulator(emulator) as emulator_url:
        named = emulator_url
        settings = make_settings(database_url, oauth_servers=(named,), public_url=named)
        app = create_app(settings)
        async with serve(app) as url:

            async def hostile_dns(host: str, port: int) -> list[str]:
                # The portal's own name (portal-1.bitrix24.test) answers a private address.
                return ["10.0.0.7"] if host.endswith(".bitrix24.test") else []

            runtime = app.state.runtime
            runtime.portals = PortalService(
                sessions=runtime.sessions,
                cipher=runtime.cipher,
                oauth=runtime.oauth,
                bitrix=runtime.bitrix,
                locks=RefreshLocks(),
                handler_url=f"{named}/events",
                allow_http=True,
                guard=EndpointGuard(allow_loopback=True, resolver=hostile_dns),
            )
            portal = emulator.add_portal()
            response = await emulator.install_app(portal.member_id, install_url=f"{url}/install")
            async with runtime.sessions() as session:
                stored = await PortalRepository(session).get(portal.member_id)

    assert response.status_code == 403
    assert "resolves to a private address" in response.text
    assert stored is None
