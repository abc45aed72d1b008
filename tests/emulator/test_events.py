"""Event delivery and installation, checked against the payloads in bitrix24-protocol.md."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from emulator.conftest import InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator, EmulatorConfig, serve_emulator

# bitrix24-protocol.md §2 "Documented payload (verbatim)".
DOCUMENTED_UPDATE_EVENT = json.loads(
    """{"event":"ONCRMCONTACTUPDATE","event_handler_id":"12","data":{"FIELDS":{"ID":"82"}},"ts":"1724697689",
 "auth":{"access_token":"s6p6eclrvim6da22ft9ch94ekreb52lv","expires_in":"3600","scope":"crm",
 "domain":"some-domain.bitrix24.com","server_endpoint":"https://oauth.bitrix24.tech/rest/","status":"F",
 "client_endpoint":"https://some-domain.bitrix24.com/rest/","member_id":"a223c6b3710f85df22e9377d6c4f7553",
 "refresh_token":"4s386p3q0tr8dy89xvmt96234v3dljg8","application_token":"51856fefc120afa4b628cc82d3935cce"}}"""
)
# §2: keys of captured real payloads, in order.
CAPTURED_AUTH_ORDER = [
    "access_token",
    "expires",
    "expires_in",
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
    "refresh_token",
    "application_token",
]
ALWAYS_PRESENT_AUTH = {
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "application_token",
}
# §1 "What the installer and main URLs receive" (verbatim keys).
DOCUMENTED_FRAME_QUERY = ["DOMAIN", "PROTOCOL", "LANG", "APP_SID"]
DOCUMENTED_FRAME_FORM = [
    "AUTH_ID",
    "AUTH_EXPIRES",
    "REFRESH_ID",
    "SERVER_ENDPOINT",
    "APPLICATION_TOKEN",
    "APPLICATION_SCOPE",
    "member_id",
    "status",
    "PLACEMENT",
]
# §8 ONAPPUNINSTALL (verbatim).
DOCUMENTED_UNINSTALL = json.loads(
    """{"event":"ONAPPUNINSTALL","data":{"LANGUAGE_ID":"ru","CLEAN":1},"ts":"1466439714",
 "auth":{"domain":"some-domain.bitrix24.ru","server_endpoint":"https://oauth.bitrix24.tech/rest/",
 "client_endpoint":"https://some-domain.bitrix24.ru/rest/","member_id":"a223c6b3710f85df22e9377d6c4f7553",
 "application_token":"51856fefc120afa4b628cc82d3935cce"}}"""
)


def flatten(payload: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"auth": {"domain": x}}`` -> ``{"auth[domain]": "x"}``, as a PHP form carries it."""
    flat: dict[str, str] = {}
    for key, value in payload.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        else:
            flat[name] = str(value)
    return flat


async def bind(http: httpx.AsyncClient, app: InstalledApp, event: str, handler: str) -> None:
    response = await call(http, app, "event.bind", {"event": event, "handler": handler})
    assert response.json()["result"] is True


async def test_update_event_is_a_php_style_form_post_shaped_like_the_documented_payload(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    contact_id = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await bind(http, app, "ONCRMCONTACTUPDATE", receiver.url("/events"))
    await emulator.user_update_contact(app.member_id, contact_id, {"NAME": "b"})
    await emulator.wait_deliveries_idle()

    [delivery] = receiver.at("/events")
    assert delivery.method == "POST"
    assert delivery.headers["content-type"] == "application/x-www-form-urlencoded"
    assert delivery.headers["user-agent"] == "Bitrix24 Webhook Engine"
    assert b"auth%5Bdomain%5D=" in delivery.body  # brackets encoded as http_build_query does
    form = delivery.form
    documented = flatten(DOCUMENTED_UPDATE_EVENT)
    assert set(documented) <= set(form)
    assert set(form) - set(documented) == {"auth[expires]", "auth[user_id]"}
    sent_auth = [key[len("auth[") : -1] for key in form if key.startswith("auth[")]
    assert sent_auth == CAPTURED_AUTH_ORDER
    assert form["event"] == "ONCRMCONTACTUPDATE"
    assert form["data[FIELDS][ID]"] == str(contact_id)
    assert form["auth[member_id]"] == app.member_id
    assert form["auth[domain]"] == "acme.bitrix24.test"
    assert form["auth[client_endpoint]"] == app.portal.client_endpoint
    assert form["auth[server_endpoint]"] == emulator.server_endpoint
    assert form["auth[application_token]"] == app.application_token
    assert form["auth[expires_in]"] == "3600"
    assert form["auth[user_id]"] == "1"
    assert abs(int(form["ts"]) - time.time()) < 5
    handler_id = (await call(http, app, "event.get")).json()["result"]
    assert len(handler_id) == 1 and form["event_handler_id"].isdigit()


async def test_the_event_access_token_works_for_rest_calls(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    contact_id = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    form = receiver.at("/events")[0].form
    endpoint = form["auth[client_endpoint]"]
    response = await http.post(
        f"{endpoint}crm.contact.get", json={"id": contact_id, "auth": form["auth[access_token]"]}
    )
    assert response.json()["result"]["NAME"] == "a"


async def test_contact_and_lead_add_update_events_all_fire(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    events = ["ONCRMCONTACTADD", "ONCRMCONTACTUPDATE", "ONCRMLEADADD", "ONCRMLEADUPDATE"]
    for event in events:
        await bind(http, app, event, receiver.url(f"/{event}"))
    contact_id = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.user_update_contact(app.member_id, contact_id, {"NAME": "b"})
    lead_id = await emulator.user_add_lead(app.member_id, {"NAME": "a"})
    await emulator.user_update_lead(app.member_id, lead_id, {"NAME": "b"})
    await emulator.wait_deliveries_idle()

    for event in events:
        [delivery] = receiver.at(f"/{event}")
        assert delivery.form["event"] == event


async def test_rest_changes_fire_events_too_including_the_apps_own_updates(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    await bind(http, app, "ONCRMCONTACTUPDATE", receiver.url("/events"))
    contact_id = (await call(http, app, "crm.contact.add", {"fields": {"NAME": "a"}})).json()[
        "result"
    ]
    # An update that changes nothing still fires ONCRMCONTACTUPDATE (protocol §7).
    await call(http, app, "crm.contact.update", {"id": contact_id, "fields": {"NAME": "a"}})
    await emulator.wait_deliveries_idle()

    assert [d.form["event"] for d in receiver.at("/events")] == [
        "ONCRMCONTACTADD",
        "ONCRMCONTACTUPDATE",
    ]


async def test_automation_changes_carry_no_tokens(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTUPDATE", receiver.url("/events"))
    contact_id = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.user_update_contact(app.member_id, contact_id, {"NAME": "b"}, automation=True)
    await emulator.wait_deliveries_idle()

    auth_keys = {k[5:-1] for k in receiver.at("/events")[0].form if k.startswith("auth[")}
    assert auth_keys == ALWAYS_PRESENT_AUTH


async def test_no_events_are_sent_before_the_install_is_finished(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(), finish=False)
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    await emulator.user_add_contact(app.member_id, {"NAME": "early"})
    await emulator.wait_deliveries_idle()
    before = len(receiver.at("/events"))

    emulator.finish_install(app.member_id)
    await emulator.user_add_contact(app.member_id, {"NAME": "late"})
    await emulator.wait_deliveries_idle()

    assert before == 0
    assert len(receiver.at("/events")) == 1
    assert emulator.stats(app.member_id).events_suppressed_before_install == 1


async def test_installer_frame_gets_the_documented_fields(
    emulator: Emulator, base_url: str, receiver: Receiver
) -> None:
    portal = emulator.add_portal(domain="frame.bitrix24.test")
    await emulator.install_app(portal.member_id, receiver.url("/install?x=1"), lang="en")

    [frame] = receiver.at("/install")
    assert frame.method == "POST"
    assert list(frame.query) == ["x", *DOCUMENTED_FRAME_QUERY]
    assert frame.query["DOMAIN"] == "frame.bitrix24.test"
    assert frame.query["PROTOCOL"] == "0"  # the emulator speaks plain http
    assert frame.query["LANG"] == "en"
    form = frame.form
    assert list(form) == DOCUMENTED_FRAME_FORM
    assert form["AUTH_EXPIRES"] == "3600"
    assert form["SERVER_ENDPOINT"] == emulator.server_endpoint
    assert form["APPLICATION_SCOPE"] == "crm"
    assert form["member_id"] == portal.member_id
    assert form["status"] == "F"
    assert form["PLACEMENT"] == "DEFAULT"
    assert form["APPLICATION_TOKEN"] != frame.query["APP_SID"]
    assert portal.install_finished  # the answer called BX24.installFinish()


async def test_an_installer_that_never_calls_install_finish_leaves_the_install_open(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(), finish=False)
    assert not app.portal.install_finished
    assert (await call(http, app, "profile")).status_code == 200


async def test_install_finish_sends_onappinstall_with_tokens(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(), finish=False)
    await bind(http, app, "ONAPPINSTALL", receiver.url("/events"))
    emulator.finish_install(app.member_id)
    await emulator.wait_deliveries_idle()

    form = receiver.at("/events")[0].form
    assert form["event"] == "ONAPPINSTALL"
    assert form["data[INSTALLED]"] == "Y"
    assert form["data[LANGUAGE_ID]"] == "ru"
    assert form["auth[application_token]"] == app.application_token
    assert form["auth[refresh_token]"]


async def test_uninstall_sends_the_documented_onappuninstall_and_revokes(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONAPPUNINSTALL", receiver.url("/events"))
    emulator.uninstall_app(app.member_id, clean=True)
    await emulator.wait_deliveries_idle()

    form = receiver.at("/events")[0].form
    documented = flatten(DOCUMENTED_UNINSTALL)
    # event_handler_id is not in this (older) example; the emulator sends it with every event.
    assert set(form) == {*documented, "event_handler_id"}
    assert form["data[CLEAN]"] == "1"
    assert form["auth[application_token]"] == app.application_token
    assert (await call(http, app, "profile")).status_code == 401
    assert app.portal.handlers == []


async def test_reinstall_wipes_handlers_and_changes_the_application_token(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    again = await install(emulator, receiver, app.portal)
    assert (await call(http, again, "event.get")).json()["result"] == []
    assert again.application_token != app.application_token


async def test_a_failed_delivery_is_logged_and_never_resent(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    receiver.status = 500
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    await asyncio.sleep(0.05)

    assert len(receiver.at("/events")) == 1
    [delivery] = emulator.deliveries
    assert delivery.status == 500
    assert not delivery.ok
    assert delivery.latency is not None and delivery.latency >= 0
    assert delivery.body.startswith("event=ONCRMCONTACTADD&")


async def test_an_unreachable_handler_is_logged_with_the_error(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", "http://127.0.0.1:9/nowhere")
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    [delivery] = emulator.deliveries
    assert delivery.status is None
    assert delivery.error and "cannot connect" in delivery.error


async def test_a_slow_handler_times_out_and_the_delivery_is_lost(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    emulator = Emulator(config=EmulatorConfig(delivery_timeout=0.1))
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
        receiver.delay = 0.5
        await emulator.user_add_contact(app.member_id, {"NAME": "a"})
        await emulator.wait_deliveries_idle()
        receiver.delay = 0.0
    [delivery] = emulator.deliveries
    assert delivery.error and "Timeout" in delivery.error


async def test_delivery_is_asynchronous_and_does_not_hold_up_the_change(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/events"))
    receiver.delay = 0.3
    started = time.perf_counter()
    response = await call(http, app, "crm.contact.add", {"fields": {"NAME": "a"}})
    answered_in = time.perf_counter() - started
    in_flight = emulator.dispatcher.pending
    await emulator.wait_deliveries_idle()
    receiver.delay = 0.0

    assert response.status_code == 200
    assert in_flight == 1
    assert answered_in < 0.3
    assert emulator.deliveries[0].ok


async def test_handler_bound_with_auth_type_gets_that_users_tokens(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    params = {"event": "ONCRMCONTACTADD", "handler": receiver.url("/events"), "auth_type": 2}
    await call(http, app, "event.bind", params)
    await emulator.user_add_contact(app.member_id, {"NAME": "a"}, automation=True)
    await emulator.wait_deliveries_idle()
    assert receiver.at("/events")[0].form["auth[user_id]"] == "2"


async def test_every_bound_handler_gets_its_own_delivery(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/one"))
    await bind(http, app, "ONCRMCONTACTADD", receiver.url("/two"))
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    one, two = receiver.at("/one")[0].form, receiver.at("/two")[0].form
    assert one["event_handler_id"] != two["event_handler_id"]
    assert len(emulator.deliveries) == 2
