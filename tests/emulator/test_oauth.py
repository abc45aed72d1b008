"""The OAuth server: refresh with rotating tokens, errors, lifetimes, OAuth-server app.info."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from emulator.conftest import CLIENT_ID, CLIENT_SECRET, InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator, EmulatorConfig, serve_emulator

# bitrix24-protocol.md §4 "Refresh response (200, verbatim)".
DOCUMENTED_REFRESH_RESPONSE: dict[str, Any] = {
    "access_token": "ydtj8pho532wydb5ixk78ol7uqlb7sch",
    "client_endpoint": "https://portal.bitrix24.ru/rest/",
    "domain": "oauth.bitrix24.tech",
    "expires": 1780319382,
    "expires_in": 3600,
    "member_id": "a223c6b3710f85df22e9377d6c4f7553",
    "refresh_token": "3s6lr4kr3cv2od4v853gvrchb875bwxb",
    "scope": "crm,entity,im,task",
    "server_endpoint": "https://oauth.bitrix24.tech/rest/",
    "status": "F",
    "user_id": 67,
}


def refresh_params(refresh_token: str, **overrides: str) -> dict[str, str]:
    params = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    params.update(overrides)
    return params


async def test_refresh_answers_the_documented_fields_in_the_documented_order(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == list(DOCUMENTED_REFRESH_RESPONSE)
    for key, documented in DOCUMENTED_REFRESH_RESPONSE.items():
        assert type(body[key]) is type(documented), key
    assert body["domain"] == emulator.base_url.removeprefix("http://")  # the OAuth server
    assert body["client_endpoint"] == app.portal.client_endpoint
    assert body["server_endpoint"] == emulator.server_endpoint
    assert body["member_id"] == app.member_id
    assert body["expires_in"] == 3600
    assert body["access_token"] != app.access_token
    assert body["refresh_token"] != app.refresh_token


async def test_refresh_works_as_a_form_post_too(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await http.post(emulator.oauth_token_url, data=refresh_params(app.refresh_token))
    assert response.status_code == 200
    assert response.json()["member_id"] == app.member_id


async def test_a_used_refresh_token_answers_invalid_grant(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    first = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    again = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    newest = first.json()["refresh_token"]
    rotated = await http.get(emulator.oauth_token_url, params=refresh_params(newest))

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Invalid grant"}
    assert rotated.status_code == 200
    assert emulator.refresh_count == 2
    assert emulator.stats(app.member_id).refreshes == 2


async def test_the_refreshed_access_token_works_and_the_old_one_lives_until_expiry(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    refreshed = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    new_token = refreshed.json()["access_token"]

    with_new = await http.get(f"{app.portal.client_endpoint}profile", params={"auth": new_token})
    with_old = await call(http, app, "profile")

    assert with_new.status_code == 200
    assert with_old.status_code == 200


async def test_old_access_token_can_be_made_to_die_at_refresh(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    config = EmulatorConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, old_access_valid_after_refresh=False
    )
    emulator = Emulator(config=config)
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
        response = await call(http, app, "profile")
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


async def test_wrong_client_credentials_answer_invalid_client(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    bad_secret = refresh_params(app.refresh_token, client_secret="nope")
    bad_id = refresh_params(app.refresh_token, client_id="app.other")
    for params in (bad_secret, bad_id):
        response = await http.get(emulator.oauth_token_url, params=params)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    # The refresh token was not spent by the rejected attempts.
    ok = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    assert ok.status_code == 200


async def test_missing_refresh_token_answers_invalid_request(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await http.get(emulator.oauth_token_url, params=refresh_params(""))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": 'No "refresh_token" parameter found',
    }


async def test_access_tokens_expire_after_the_configured_lifetime(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    clock = [1_800_000_000.0]
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token_ttl=600.0,
        clock=lambda: clock[0],
    )
    emulator = Emulator(config=config)
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        clock[0] += 599
        before = await call(http, app, "profile")
        clock[0] += 2
        after = await call(http, app, "profile")
        refreshed = await http.get(
            emulator.oauth_token_url, params=refresh_params(app.refresh_token)
        )

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired.",
    }
    assert refreshed.json()["expires_in"] == 600
    assert refreshed.json()["expires"] == int(clock[0]) + 600


async def test_oauth_server_app_info_tells_the_trusted_install_data(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await http.get(
        f"{emulator.server_endpoint}app.info", params={"auth": app.access_token}
    )

    assert response.status_code == 200
    result = response.json()["result"]
    assert result["client_id"] == CLIENT_ID
    assert result["user_id"] == 1
    assert result["install"] == {
        "installed": True,
        "version": 1,
        "status": "F",
        "scope": "crm",
        "domain": "acme.bitrix24.test",
        "uri": app.portal.origin,
        "client_endpoint": app.portal.client_endpoint,
        "member_id": app.member_id,
        "member_type": "PORTAL",
    }


async def test_revoked_tokens_fail_both_refresh_and_calls(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.revoke_tokens(app.member_id)

    refresh = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    rest = await call(http, app, "profile")

    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")
    assert (rest.status_code, rest.json()["error"]) == (401, "NO_AUTH_FOUND")


async def test_payment_required_fails_refresh_and_calls_until_cleared(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.set_payment_required(app.member_id)
    refresh = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    rest = await call(http, app, "profile")
    emulator.set_payment_required(app.member_id, required=False)
    cleared = await call(http, app, "profile")

    assert refresh.status_code == 401
    assert refresh.json() == {"error": "PAYMENT_REQUIRED", "error_description": "Payment required"}
    assert (rest.status_code, rest.json()["error"]) == (401, "PAYMENT_REQUIRED")
    assert cleared.status_code == 200


async def test_expired_access_tokens_are_renewed_by_a_refresh(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.expire_access_tokens(app.member_id)
    expired = await call(http, app, "profile")
    refreshed = await http.get(emulator.oauth_token_url, params=refresh_params(app.refresh_token))
    fresh = await http.get(
        f"{app.portal.client_endpoint}profile", params={"auth": refreshed.json()["access_token"]}
    )

    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    assert fresh.status_code == 200


async def test_oauth_app_info_has_the_shape_the_official_sdk_parses(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # The docs name this call (settings/oauth/simple-way.md) but not its answer; b24pysdk reads
    # `expires` with datetime.fromisoformat and the time block with processing and dates
    # (api/responses/bitrix_app_info_response.py, bitrix_time_response.py).
    body = (
        await http.get(f"{emulator.server_endpoint}app.info", params={"auth": app.access_token})
    ).json()
    expires = datetime.fromisoformat(body["result"]["expires"])
    grant = emulator.tokens.authenticate(app.access_token, emulator.now())
    assert expires.utcoffset() is not None
    assert expires.timestamp() == int(grant.expires_at)
    assert {"start", "finish", "duration", "processing", "date_start", "date_finish"} <= set(
        body["time"]
    )
