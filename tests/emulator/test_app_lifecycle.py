"""What happens to the app on a portal over its life, as the emulator plays it (issue 12 item 9):
a temporarily closed portal, an app update, an uninstall, the OAuth server counting requests."""

from __future__ import annotations

import httpx

from emulator.receiver import Receiver
from namecase.emulator import Emulator

from .conftest import InstalledApp, call
from .test_events import bind
from .test_oauth import refresh_params


async def test_a_closed_portal_answers_portal_deleted_until_it_is_reopened(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.close_portal(app.member_id)
    closed = await call(http, app, "profile")
    token = await http.post(emulator.oauth_token_url, data=refresh_params(app.refresh_token))
    emulator.close_portal(app.member_id, closed=False)
    reopened = await call(http, app, "profile")

    # "Публичная часть сайта закрыта" (_includes/system-errors.md): HTTP 500, PORTAL_DELETED.
    assert closed.status_code == 500
    assert closed.json() == {"error": "PORTAL_DELETED", "error_description": "Portal was deleted"}
    assert token.status_code == 200  # the OAuth server is Bitrix24's, not the portal's
    assert reopened.status_code == 200


async def test_an_update_sends_the_new_application_token_and_deletes_the_handlers(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONAPPUPDATE", receiver.url("/events"))
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))

    token = emulator.update_app(app.member_id)
    await emulator.wait_deliveries_idle()
    handlers = await call(http, app, "event.get")

    [delivery] = receiver.at("/events")
    form = delivery.form
    assert form["event"] == "ONAPPUPDATE"
    assert form["auth[application_token]"] == token != app.application_token
    assert form["auth[refresh_token]"] and form["auth[access_token]"]
    assert (form["data[VERSION]"], form["data[PREVIOUS_VERSION]"]) == ("2", "1")
    # "При удалении и обновлении приложения его действия будут удаляться" (event-bind.md).
    assert handlers.json()["result"] == []


async def test_after_an_uninstall_a_refresh_answers_invalid_client(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.uninstall_app(app.member_id)
    token = await http.post(emulator.oauth_token_url, data=refresh_params(app.refresh_token))
    rest = await call(http, app, "profile")

    # "invalid_client: ... Возможно, приложение не установлено в Битрикс24" (error-codes.md).
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert rest.status_code == 401 and rest.json()["error"] == "NO_AUTH_FOUND"


async def test_the_oauth_server_counts_every_token_request_of_a_portal(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    stats = emulator.stats(app.member_id)
    before, refreshes = stats.token_requests, stats.refreshes
    emulator.set_payment_required(app.member_id)
    await http.post(emulator.oauth_token_url, data=refresh_params(app.refresh_token))
    emulator.set_payment_required(app.member_id, required=False)
    await http.post(emulator.oauth_token_url, data=refresh_params(app.refresh_token))

    assert stats.token_requests == before + 2
    assert stats.refreshes == refreshes + 1
