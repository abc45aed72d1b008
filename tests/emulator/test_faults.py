"""Injected faults: latency, 5xx, timeouts, resets, dropped deliveries, portal rename."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from emulator.conftest import InstalledApp, call
from emulator.receiver import Receiver
from namecase.emulator import Emulator


async def test_latency_delays_calls_without_blocking_other_requests(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.faults(app.member_id).latency = 0.2
    started = time.perf_counter()
    responses = await asyncio.gather(*(call(http, app, "profile") for _ in range(10)))
    elapsed = time.perf_counter() - started

    assert all(r.status_code == 200 for r in responses)
    assert elapsed >= 0.2
    assert elapsed < 1.0  # served one after another they would take 2 s


async def test_error_faults_answer_500_internal_server_error(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.faults(app.member_id).error_next = 2
    statuses = [(await call(http, app, "profile")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert emulator.stats(app.member_id).injected_errors == 2


async def test_error_rate_fails_about_that_share_of_calls(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.faults(app.member_id).error_rate = 0.5
    app.portal.bucket.depth = 1000
    statuses = [(await call(http, app, "user.admin")).status_code for _ in range(100)]
    assert 25 <= statuses.count(500) <= 75
    assert statuses.count(500) + statuses.count(200) == 100


async def test_a_reset_drops_the_connection_without_an_answer(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.faults(app.member_id).reset_next = 1
    with pytest.raises(httpx.TransportError):
        await call(http, app, "profile")
    assert (await call(http, app, "profile")).status_code == 200
    assert emulator.stats(app.member_id).injected_resets == 1


async def test_a_timeout_never_answers_in_time(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    faults = emulator.faults(app.member_id)
    faults.timeout_next = 1
    faults.timeout_seconds = 30.0
    with pytest.raises(httpx.ReadTimeout):
        await http.post(
            f"{app.portal.client_endpoint}profile", json={"auth": app.access_token}, timeout=0.2
        )
    assert emulator.stats(app.member_id).injected_timeouts == 1
    emulator.release_hangs()


async def test_dropped_deliveries_are_logged_but_never_sent(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await call(http, app, "event.bind", {"event": "ONCRMCONTACTADD", "handler": receiver.url("/e")})
    emulator.faults(app.member_id).drop_next_events = 1
    await emulator.user_add_contact(app.member_id, {"NAME": "lost"})
    await emulator.user_add_contact(app.member_id, {"NAME": "kept"})
    await emulator.wait_deliveries_idle()

    lost, kept = emulator.deliveries
    assert lost.dropped and lost.status is None
    assert kept.ok
    assert len(receiver.at("/e")) == 1


async def test_event_delay_holds_deliveries_back(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await call(http, app, "event.bind", {"event": "ONCRMCONTACTADD", "handler": receiver.url("/e")})
    emulator.faults(app.member_id).event_delay = 0.2
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await asyncio.sleep(0.05)
    early = len(receiver.at("/e"))
    await emulator.wait_deliveries_idle()
    assert (early, len(receiver.at("/e"))) == (0, 1)


async def test_a_renamed_portal_redirects_with_302_and_location(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    old_endpoint = app.portal.client_endpoint
    emulator.rename_portal(app.member_id, "renamed.bitrix24.test")

    moved = await http.post(f"{old_endpoint}profile?x=1", json={"auth": app.access_token})
    location = moved.headers["location"]
    again = await http.post(location, json={"auth": app.access_token})

    assert moved.status_code == 302
    # Location is on the portal's new host (settings/how-to-call-rest-api/change-domen.md).
    new_origin = emulator.base_url.replace("127.0.0.1", "renamed.bitrix24.test")
    assert location == f"{new_origin}/rest/profile?x=1"
    assert app.portal.client_endpoint == f"{new_origin}/rest/"
    assert again.status_code == 200
    assert emulator.stats(app.member_id).redirects_302 == 1


async def test_after_a_rename_events_and_refreshes_carry_the_new_domain(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await call(http, app, "event.bind", {"event": "ONCRMCONTACTADD", "handler": receiver.url("/e")})
    emulator.rename_portal(app.member_id, "renamed.bitrix24.test")
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    form = receiver.at("/e")[0].form
    assert form["auth[domain]"] == "renamed.bitrix24.test"
    assert form["auth[member_id]"] == app.member_id


async def test_a_host_that_is_no_portal_serves_no_portal_methods(
    base_url: str, http: httpx.AsyncClient, app: InstalledApp
) -> None:
    nobody = await http.get(f"{base_url.replace('127.0.0.1', 'nobody.bitrix24.test')}/rest/profile")
    # The portal's name in the path of the emulator's address is no way to reach it either.
    by_path = await http.get(f"{base_url}/acme.bitrix24.test/rest/profile")
    assert (nobody.status_code, nobody.json()["error"]) == (404, "ERROR_METHOD_NOT_FOUND")
    assert by_path.status_code == 404
