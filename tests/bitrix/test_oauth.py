"""OAuth refresh against the emulated OAuth server (protocol §4; issue 5 item 6)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import httpx
import pytest

from namecase.bitrix import (
    AppNotInstalled,
    ForbiddenEndpoint,
    InvalidGrant,
    OAuthClient,
    PaymentRequired,
)
from namecase.emulator import Emulator

from .conftest import CLIENT_ID, CLIENT_SECRET, Wire
from .portal_doubles import MemoryLink


async def test_refresh_returns_a_rotated_pair_naming_the_portal(
    emulator: Emulator, oauth: OAuthClient, link: MemoryLink
) -> None:
    portal = emulator.portal(link.member_id)

    grant = await oauth.refresh(link.server_endpoint, link.refresh_token)

    assert grant.member_id == portal.member_id
    assert grant.client_endpoint == portal.client_endpoint
    assert grant.server_endpoint == emulator.server_endpoint
    assert grant.refresh_token != link.refresh_token
    assert grant.access_token != link.access_token
    assert grant.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert grant.scope == "crm"
    assert grant.user_id == 1


async def test_a_spent_refresh_token_is_an_invalid_grant(
    oauth: OAuthClient, link: MemoryLink
) -> None:
    await oauth.refresh(link.server_endpoint, link.refresh_token)

    with pytest.raises(InvalidGrant) as raised:
        await oauth.refresh(link.server_endpoint, link.refresh_token)

    assert raised.value.portal_state == "auth_failed"
    assert link.refresh_token not in str(raised.value)


async def test_the_secret_travels_only_in_a_post_body_to_the_token_endpoint(
    emulator: Emulator, oauth: OAuthClient, link: MemoryLink, wire: Wire
) -> None:
    wire.requests.clear()

    await oauth.refresh(link.server_endpoint, link.refresh_token)

    (request,) = wire.requests
    assert request.method == "POST"
    assert str(request.url) == f"{emulator.base_url}/oauth/token/"
    assert request.url.query == b""
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "refresh_token": [link.refresh_token],
    }


async def test_wrong_client_credentials_are_refused_as_invalid_client_without_the_secret(
    emulator: Emulator, http: httpx.AsyncClient, link: MemoryLink
) -> None:
    wrong = OAuthClient(
        http,
        client_id=CLIENT_ID,
        client_secret="not-the-secret-at-all",
        oauth_servers=(emulator.base_url,),
        allow_http=True,
    )

    with pytest.raises(AppNotInstalled) as raised:
        await wrong.refresh(link.server_endpoint, link.refresh_token)

    assert raised.value.code == "invalid_client"
    assert raised.value.status == 401
    assert "not-the-secret-at-all" not in str(raised.value)


async def test_payment_required_at_refresh_is_terminal(
    emulator: Emulator, oauth: OAuthClient, link: MemoryLink
) -> None:
    emulator.set_payment_required(link.member_id)

    with pytest.raises(PaymentRequired) as raised:
        await oauth.refresh(link.server_endpoint, link.refresh_token)

    assert raised.value.portal_state == "payment_required"


async def test_an_oauth_server_outside_the_allow_list_gets_no_request(
    emulator: Emulator, http: httpx.AsyncClient, link: MemoryLink, wire: Wire
) -> None:
    strict = OAuthClient(
        http,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        oauth_servers=("https://oauth.bitrix.info", "https://oauth.bitrix24.tech"),
        allow_http=True,
    )
    wire.requests.clear()
    refreshes_before = emulator.refresh_count

    with pytest.raises(ForbiddenEndpoint):
        await strict.refresh(emulator.server_endpoint, link.refresh_token)
    with pytest.raises(ForbiddenEndpoint):
        await strict.refresh("https://oauth.bitrix.info.evil.example/rest/", link.refresh_token)

    assert wire.requests == []
    assert emulator.refresh_count == refreshes_before


async def test_plain_http_oauth_is_refused_unless_allowed(
    emulator: Emulator, http: httpx.AsyncClient, link: MemoryLink, wire: Wire
) -> None:
    https_only = OAuthClient(
        http,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        oauth_servers=(emulator.base_url,),
        allow_http=False,
    )
    wire.requests.clear()

    with pytest.raises(ForbiddenEndpoint, match="not https"):
        await https_only.refresh(link.server_endpoint, link.refresh_token)

    assert wire.requests == []


async def test_allow_list_entries_compare_by_origin() -> None:
    from namecase.bitrix import oauth_origin

    allowed = ("https://OAuth.Bitrix.info/", "https://oauth.bitrix24.tech:443")

    assert oauth_origin("https://oauth.bitrix.info/rest/", allowed=allowed, allow_http=False) == (
        "https://oauth.bitrix.info"
    )
    assert oauth_origin("https://oauth.bitrix24.tech/rest/", allowed=allowed, allow_http=False)
    with pytest.raises(ForbiddenEndpoint):
        oauth_origin("https://oauth.bitrix.info:8443/rest/", allowed=allowed, allow_http=False)
    with pytest.raises(ForbiddenEndpoint):
        oauth_origin("https://user:pw@oauth.bitrix.info/rest/", allowed=allowed, allow_http=False)


async def test_token_grant_repr_hides_the_tokens(oauth: OAuthClient, link: MemoryLink) -> None:
    grant = await oauth.refresh(link.server_endpoint, link.refresh_token)

    assert grant.access_token not in repr(grant)
    assert grant.refresh_token not in repr(grant)
    assert grant.member_id in repr(grant)
