"""Each portal is its own host, on the emulator's one port, told apart by the Host header."""

from __future__ import annotations

import httpx
import pytest

from emulator.conftest import InstalledApp, call
from namecase.emulator import Emulator
from namecase.emulator.hosts import is_mapped


async def test_the_client_endpoints_host_is_the_portals_domain(
    emulator: Emulator, base_url: str, app: InstalledApp
) -> None:
    # settings/oauth/index.md: client_endpoint is https://DOMAIN/rest/ on a real portal; the
    # official SDK checks exactly this (b24pysdk credentials/auth.py, portal_domain).
    endpoint = httpx.URL(app.portal.client_endpoint)
    assert endpoint.host == app.portal.domain == "acme.bitrix24.test"
    assert endpoint.port == httpx.URL(base_url).port
    assert endpoint.path == "/rest/"


async def test_the_host_header_chooses_the_portal(
    emulator: Emulator, base_url: str, app: InstalledApp
) -> None:
    other = emulator.add_portal(domain="other.bitrix24.test")
    # Straight to the loopback address; only the Host header names the portal.
    async with httpx.AsyncClient(base_url=base_url) as raw:
        own = await raw.post(
            "/rest/profile", json={"auth": app.access_token}, headers={"Host": "acme.bitrix24.test"}
        )
        foreign = await raw.post(
            "/rest/profile", json={"auth": app.access_token}, headers={"Host": other.domain}
        )
    assert own.status_code == 200
    assert (foreign.status_code, foreign.json()["error"]) == (401, "NO_AUTH_FOUND")


async def test_the_emulators_own_address_is_the_oauth_server_not_a_portal(
    base_url: str, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    portal_method = await http.post(f"{base_url}/rest/profile", json={"auth": app.access_token})
    app_info = await http.get(f"{base_url}/rest/app.info", params={"auth": app.access_token})
    assert (portal_method.status_code, portal_method.json()["error"]) == (
        404,
        "ERROR_METHOD_NOT_FOUND",
    )
    assert app_info.json()["result"]["install"]["domain"] == "acme.bitrix24.test"


async def test_the_control_api_answers_on_a_portals_host_too(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # The BX24 shim calls it there: the app page's CSP allows the portal's origin.
    view = await http.get(f"{app.portal.origin}/_emulator/portals/{app.member_id}")
    assert view.json()["domain"] == "acme.bitrix24.test"


@pytest.mark.parametrize("domain", ["127.0.0.1", "acme.bitrix24.test:80", "a/b.test", "nodot", ""])
def test_a_portal_is_named_by_a_host_name(emulator: Emulator, domain: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        emulator.add_portal(domain=domain or "-")


def test_portal_names_are_case_insensitive(emulator: Emulator) -> None:
    portal = emulator.add_portal(domain="ACME.Bitrix24.test")
    assert portal.domain == "acme.bitrix24.test"
    assert emulator.portal_by_domain("Acme.BITRIX24.test") is portal


def test_the_loopback_transport_maps_only_the_given_names() -> None:
    assert is_mapped("acme.bitrix24.test", ["bitrix24.test"])
    assert is_mapped("BITRIX24.TEST.", ["bitrix24.test"])
    assert not is_mapped("acme.bitrix24.test.evil.example", ["bitrix24.test"])
    assert not is_mapped("evilbitrix24.test", ["bitrix24.test"])


async def test_a_renamed_portals_old_host_redirects_to_the_new_host(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.rename_portal(app.member_id, "Moved.bitrix24.test")
    current = await call(http, app, "profile")  # app.portal.client_endpoint is the new host's
    old_host = emulator.base_url.replace("127.0.0.1", "acme.bitrix24.test")
    old = await http.post(f"{old_host}/rest/profile", json={"auth": app.access_token})
    assert old.status_code == 302
    assert httpx.URL(old.headers["location"]).host == "moved.bitrix24.test"
    assert current.status_code == 200
