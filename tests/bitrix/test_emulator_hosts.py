"""NAMECASE_EMULATOR_HOSTS: the local emulator's portal names resolve to loopback, and only there.

Each emulated portal is its own host (acme.bitrix24.test on the emulator's port, issue 17); no DNS
knows these names, so our client maps them itself. The hook never widens what the guard allows.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conftest import make_settings
from namecase.bitrix.endpoints import EndpointGuard
from namecase.bitrix.transport import portal_http_client
from namecase.emulator import Emulator, serve_emulator


async def elsewhere(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]  # a public address, as DNS would answer for a real name


async def test_the_names_and_their_subdomains_resolve_to_loopback() -> None:
    guard = EndpointGuard(
        allow_loopback=True, resolver=elsewhere, emulator_hosts=("bitrix24.test",)
    )
    assert await guard.addresses("acme.bitrix24.test", 80) == ["127.0.0.1"]
    assert await guard.addresses("BITRIX24.test", 80) == ["127.0.0.1"]
    # Lookalikes are ordinary names, resolved as usual.
    assert await guard.addresses("acme.bitrix24.test.example.org", 80) == ["93.184.215.14"]
    assert await guard.addresses("evilbitrix24.test", 80) == ["93.184.215.14"]


def test_without_allow_http_the_hook_is_refused() -> None:
    with pytest.raises(ValueError, match="ALLOW_HTTP"):
        EndpointGuard(allow_loopback=False, emulator_hosts=("bitrix24.test",))
    with pytest.raises(ValidationError, match="EMULATOR_HOSTS"):
        make_settings("sqlite+aiosqlite:///x.db", allow_http=False, emulator_hosts="bitrix24.test")


@pytest.mark.parametrize("value", ["127.0.0.1", "test", "a b.test", "bitrix24.test/x"])
def test_the_setting_takes_dns_names_only(value: str) -> None:
    with pytest.raises(ValidationError, match="EMULATOR_HOSTS"):
        make_settings("sqlite+aiosqlite:///x.db", emulator_hosts=value)


def test_the_setting_is_a_comma_separated_list() -> None:
    settings = make_settings("sqlite+aiosqlite:///x.db", emulator_hosts="Bitrix24.test, b.test")
    assert settings.emulator_hosts == ("bitrix24.test", "b.test")


async def test_the_service_client_reaches_an_emulated_portal_by_its_name() -> None:
    emulator = Emulator()
    async with serve_emulator(emulator):
        portal = emulator.add_portal(domain="acme.bitrix24.test")
        async with portal_http_client(
            allow_loopback=True, emulator_hosts=("bitrix24.test",)
        ) as mapped:
            answer = await mapped.post(f"{portal.client_endpoint}profile", json={})
    assert (answer.status_code, answer.json()["error"]) == (401, "NO_AUTH_FOUND")
