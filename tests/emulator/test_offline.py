"""Offline events over real HTTP, checked against bitrix24-protocol.md §10 and the docs it cites
([RU] api-reference/events/offline-events.md, event-offline-get.md, event-offline-clear.md,
event-offline-error.md, event-offline-list.md, on-offline-event.md, event-bind.md,
common/system/feature-get.md)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from emulator.conftest import InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator

K = "namecase"  # our auth_connector
OFFLINE_EVENTS = ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE")


@pytest.fixture
async def pro(emulator: Emulator, base_url: str, receiver: Receiver) -> InstalledApp:
    """The app on a Professional portal (both features: feature-get.md, doorbell.py)."""
    portal = emulator.add_portal(domain="pro.bitrix24.test", plan="professional")
    return await install(emulator, receiver, portal)


async def ok(http: httpx.AsyncClient, app: InstalledApp, method: str, **params: Any) -> Any:
    response = await call(http, app, method, params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def bind_offline(
    http: httpx.AsyncClient, app: InstalledApp, connector: str | None = K
) -> None:
    for event in OFFLINE_EVENTS:
        params = {"event": event, "event_type": "offline"}
        if connector is not None:
            params["auth_connector"] = connector
        await ok(http, app, "event.bind", **params)


async def get(http: httpx.AsyncClient, app: InstalledApp, **params: Any) -> Any:
    return await ok(http, app, "event.offline.get", auth_connector=K, **params)


def ids_of(result: Any) -> list[int]:
    return [int(event["EVENT_DATA"]["FIELDS"]["ID"]) for event in result["events"]]


# --- feature.get and binding --------------------------------------------------------------


async def test_feature_get_answers_by_plan_and_by_switch(
    emulator: Emulator, pro: InstalledApp, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    codes = ("rest_offline_extended", "rest_auth_connector")
    on_pro = [(await ok(http, pro, "feature.get", CODE=code))["value"] for code in codes]
    on_basic = [(await ok(http, app, "feature.get", CODE=code))["value"] for code in codes]
    emulator.set_offline_features(pro.member_id, extended=False)
    switched = (await ok(http, pro, "feature.get", CODE="rest_offline_extended"))["value"]
    empty = await call(http, pro, "feature.get", {})

    assert on_pro == ["Y", "Y"]
    assert on_basic == ["N", "N"]
    assert switched == "N"
    assert (empty.status_code, empty.json()) == (
        400,
        {"error": "CODE_EMPTY", "error_description": "CODE can't be empty"},
    )


async def test_offline_binding_is_per_connector_and_listed_with_it(
    pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    again = await call(
        http,
        pro,
        "event.bind",
        {"event": "ONCRMCONTACTADD", "event_type": "offline", "auth_connector": K},
    )
    other = await call(
        http, pro, "event.bind", {"event": "ONCRMCONTACTADD", "event_type": "offline"}
    )
    listed = await ok(http, pro, "event.get")

    assert again.status_code == 400 and again.json()["error"] == "ERROR_CORE"
    assert other.json()["result"] is True  # another connector (none) is another binding
    assert {"event": "ONCRMCONTACTADD", "connector_id": K, "offline": 1} in listed
    assert {"event": "ONCRMCONTACTADD", "connector_id": "", "offline": 1} in listed
    removed = await ok(
        http, pro, "event.unbind", event="ONCRMCONTACTADD", event_type="offline", auth_connector=K
    )
    assert removed == {"count": 1}


async def test_offline_binding_needs_an_administrator(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.set_admin(pro.member_id, 1, False)  # the installer lost the rights
    refused = await call(
        http, pro, "event.bind", {"event": "ONCRMCONTACTADD", "event_type": "offline"}
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "ACCESS_DENIED",
        "error_description": "Access denied! Offline events binding requires administrator "
        "access rights",
    }


async def test_the_doorbell_cannot_be_bound_offline(
    pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    refused = await call(
        http, pro, "event.bind", {"event": "ONOFFLINEEVENT", "event_type": "offline"}
    )
    assert refused.status_code == 400
    assert (
        refused.json()["error_description"] == "Offline event cannot be registered for this event."
    )


async def test_auth_connector_on_a_plan_without_it_is_refused_on_any_method(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    bind = await call(
        http,
        app,
        "event.bind",
        {"event": "ONCRMCONTACTADD", "event_type": "offline", "auth_connector": K},
    )
    update = await call(http, app, "crm.contact.list", {"auth_connector": K})
    in_batch = await call(
        http, app, "batch", {"cmd": {"a": f"crm.contact.list?auth_connector={K}"}}
    )

    for response in (bind, update):
        assert response.status_code == 403
        assert response.json() == {
            "error": "WRONG_LICENSE",
            "error_description": "This feature is not enabled for the current license: "
            "auth_connector",
        }
    assert in_batch.json()["result"]["result_error"]["a"]["error"] == "WRONG_LICENSE"


async def test_a_portal_that_denies_offline_events_refuses_the_binding(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.set_offline_features(pro.member_id, offline=False)
    refused = await call(
        http, pro, "event.bind", {"event": "ONCRMCONTACTADD", "event_type": "offline"}
    )
    extended = await ok(http, pro, "feature.get", CODE="rest_offline_extended")
    assert refused.status_code == 403 and refused.json()["error"] == "WRONG_LICENSE"
    assert extended == {"value": "N"}


# --- queue entries --------------------------------------------------------------------------


async def test_the_queue_keeps_one_entry_per_object_with_its_latest_change(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    first = await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    for name in "bcde":
        await emulator.user_update_contact(pro.member_id, first, {"NAME": name}, user_id=2)
    listed = await ok(http, pro, "event.offline.list", auth_connector=K)

    assert [(e["EVENT_NAME"], e["EVENT_DATA"]) for e in listed] == [
        ("ONCRMCONTACTADD", {"FIELDS": {"ID": first}}),
        ("ONCRMCONTACTUPDATE", {"FIELDS": {"ID": first}}),  # 4 updates, one entry
    ]
    update = listed[1]
    assert re.fullmatch(r"[0-9a-f]{32}", update["MESSAGE_ID"])
    assert update["EVENT_ADDITIONAL"] == {"user_id": 2}
    assert (update["PROCESS_ID"], update["ERROR"]) == ("", "0")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00", update["TIMESTAMP_X"])


async def test_get_with_clear_hands_a_batch_out_and_deletes_it(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    created = [await emulator.user_add_contact(pro.member_id, {"NAME": str(n)}) for n in range(3)]
    first = await get(http, pro, limit=2)
    second = await get(http, pro)
    third = await get(http, pro)

    assert first["process_id"] is None
    assert ids_of(first) == created[:2]
    assert set(first["events"][0]) == {
        "ID",
        "TIMESTAMP_X",
        "EVENT_NAME",
        "EVENT_DATA",
        "EVENT_ADDITIONAL",
        "MESSAGE_ID",
    }
    assert ids_of(second) == created[2:]
    assert third == {"process_id": None, "events": []}


async def test_clear_0_reserves_a_batch_that_its_process_id_selects_again(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    created = [await emulator.user_add_contact(pro.member_id, {"NAME": str(n)}) for n in range(3)]
    reserved = await get(http, pro, clear=0, limit=2)
    process_id = reserved["process_id"]
    others = await get(http, pro, clear=0)  # parallel readers get disjoint sets
    again = await get(http, pro, clear=0, process_id=process_id)  # e.g. after a crash
    listed = await ok(http, pro, "event.offline.list", auth_connector=K)

    assert re.fullmatch(r"[A-Za-z0-9]{32}", process_id)
    assert ids_of(reserved) == created[:2]
    assert ids_of(others) == created[2:] and others["process_id"] != process_id
    assert again == reserved
    assert [e["PROCESS_ID"] for e in listed] == [process_id, process_id, others["process_id"]]

    assert await ok(http, pro, "event.offline.clear", process_id=process_id, auth_connector=K)
    left = await ok(http, pro, "event.offline.list", auth_connector=K)
    assert [e["PROCESS_ID"] for e in left] == [others["process_id"]]


async def test_clear_removes_listed_ids_or_message_ids_of_the_batch_only(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    for n in range(3):
        await emulator.user_add_contact(pro.member_id, {"NAME": str(n)})
    batch = await get(http, pro, clear=0)
    process_id = batch["process_id"]
    one, two, three = batch["events"]
    await ok(
        http, pro, "event.offline.clear", process_id=process_id, id=[one["ID"]], auth_connector=K
    )
    await ok(
        http,
        pro,
        "event.offline.clear",
        process_id=process_id,
        message_id=[two["MESSAGE_ID"]],
        auth_connector=K,
    )
    wrong_batch = await ok(
        http, pro, "event.offline.clear", process_id="x" * 32, id=[three["ID"]], auth_connector=K
    )
    left = await ok(http, pro, "event.offline.list", auth_connector=K)
    bad_message = await call(
        http,
        pro,
        "event.offline.clear",
        {"process_id": process_id, "message_id": ["short"], "auth_connector": K},
    )
    no_process = await call(http, pro, "event.offline.clear", {"auth_connector": K})

    assert wrong_batch is True
    assert [e["ID"] for e in left] == [three["ID"]]
    assert bad_message.status_code == 400
    assert no_process.status_code == 400 and no_process.json()["error"] == "ERROR_ARGUMENT"


async def test_a_change_to_a_reserved_record_makes_a_new_unreserved_entry(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    contact = await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    await emulator.user_update_contact(pro.member_id, contact, {"NAME": "b"})
    reserved = await get(http, pro, clear=0)
    await emulator.user_update_contact(pro.member_id, contact, {"NAME": "c"})
    fresh = await get(http, pro, clear=0)

    assert [e["EVENT_NAME"] for e in reserved["events"]] == list(OFFLINE_EVENTS)
    assert [e["EVENT_NAME"] for e in fresh["events"]] == ["ONCRMCONTACTUPDATE"]
    assert fresh["events"][0]["MESSAGE_ID"] == reserved["events"][1]["MESSAGE_ID"]
    assert fresh["events"][0]["ID"] != reserved["events"][1]["ID"]


async def test_clear_0_needs_the_extended_mode_and_clear_1_does_not(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.set_offline_features(pro.member_id, extended=False)
    await bind_offline(http, pro)
    contact = await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    reserve = await call(http, pro, "event.offline.get", {"clear": 0, "auth_connector": K})
    taken = await get(http, pro)

    assert reserve.status_code == 403 and reserve.json()["error"] == "WRONG_LICENSE"
    assert ids_of(taken) == [contact]


async def test_get_refuses_bad_input_and_non_admins(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    zero = await call(http, pro, "event.offline.get", {"limit": 0})
    bad_field = await call(http, pro, "event.offline.get", {"filter": {"=NAME": "x"}})
    array_value = await call(http, pro, "event.offline.get", {"filter": {"=ID": [1, 2]}})
    pair = emulator.frame_tokens(pro.member_id, user_id=2)
    manager = await http.post(
        f"{pro.portal.client_endpoint}event.offline.get", json={"auth": pair.access_token}
    )

    for response in (zero, bad_field, array_value):
        assert response.status_code == 400 and response.json()["error"] == "ERROR_ARGUMENT"
    assert manager.status_code == 403
    assert manager.json() == {"error": "ACCESS_DENIED", "error_description": "Access denied!"}


async def test_get_filters_and_orders_by_the_documented_fields(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    created = [await emulator.user_add_contact(pro.member_id, {"NAME": str(n)}) for n in range(3)]
    await emulator.user_update_contact(pro.member_id, created[0], {"NAME": "x"})
    updates = await get(http, pro, clear=0, filter={"=EVENT_NAME": "ONCRMCONTACTUPDATE"})
    newest_first = await get(http, pro, clear=0, order={"ID": "DESC"})

    assert ids_of(updates) == [created[0]]
    assert ids_of(newest_first) == created[::-1]


async def test_error_marks_and_releases_and_deletes_the_same_object_outside_the_batch(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    contact = await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    batch = await get(http, pro, clear=0)
    await emulator.user_update_contact(pro.member_id, contact, {"NAME": "b"})  # outside it
    add, update_outside = batch["events"][0], None
    update_outside = (await ok(http, pro, "event.offline.list", auth_connector=K))[-1]
    await ok(
        http,
        pro,
        "event.offline.error",
        process_id=batch["process_id"],
        message_id=[add["MESSAGE_ID"]],
        auth_connector=K,
    )
    normal = await get(http, pro, clear=0)
    errors = await get(http, pro, clear=0, error=1)
    listed = await ok(http, pro, "event.offline.list", auth_connector=K)

    assert update_outside["EVENT_NAME"] == "ONCRMCONTACTUPDATE"  # another MESSAGE_ID: kept
    assert [e["EVENT_NAME"] for e in normal["events"]] == ["ONCRMCONTACTUPDATE"]
    assert [e["MESSAGE_ID"] for e in errors["events"]] == [add["MESSAGE_ID"]]
    assert {e["ERROR"] for e in listed} == {"0", "1"}


async def test_error_with_a_wrong_process_id_marks_nothing_but_deletes(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    [entry] = await ok(http, pro, "event.offline.list", auth_connector=K)
    await ok(
        http,
        pro,
        "event.offline.error",
        process_id="nobody",
        message_id=[entry["MESSAGE_ID"]],
        auth_connector=K,
    )
    assert await ok(http, pro, "event.offline.list", auth_connector=K) == []


async def test_list_pages_by_fifty_with_a_total_and_changes_nothing(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    for n in range(55):
        await emulator.user_add_contact(pro.member_id, {"NAME": str(n)})
    first = (await call(http, pro, "event.offline.list", {"auth_connector": K})).json()
    second = (
        await call(http, pro, "event.offline.list", {"auth_connector": K, "start": 50})
    ).json()
    taken = await get(http, pro, limit=100)

    assert (len(first["result"]), first["total"], first["next"]) == (50, 55, 50)
    assert (len(second["result"]), second["total"]) == (5, 55) and "next" not in second
    assert len(taken["events"]) == 55


async def test_a_reservation_lapses_after_thirty_days(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    await get(http, pro, clear=0)
    for entry in pro.portal.offline.entries.values():  # 31 days pass
        entry.timestamp -= 31 * 86400
    assert await ok(http, pro, "event.offline.list", auth_connector=K) == []


# --- auth_connector ---------------------------------------------------------------------------


async def test_a_write_carrying_the_connector_is_not_queued_for_it_but_fires_online(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await bind_offline(http, pro)
    await ok(http, pro, "event.bind", event="ONCRMCONTACTUPDATE", handler=receiver.url("/on"))
    ids = [await emulator.user_add_contact(pro.member_id, {"NAME": str(n)}) for n in range(4)]
    await get(http, pro, limit=10)  # the adds are handled
    fields = {"fields": {"NAME": "X"}}
    await ok(http, pro, "crm.contact.update", id=ids[0], auth_connector=K, **fields)
    await ok(  # on the batch request
        http,
        pro,
        "batch",
        auth_connector=K,
        cmd={"u": f"crm.contact.update?id={ids[1]}&fields[NAME]=X"},
    )
    await ok(  # on the command
        http,
        pro,
        "batch",
        cmd={"u": f"crm.contact.update?id={ids[2]}&fields[NAME]=X&auth_connector={K}"},
    )
    await ok(http, pro, "crm.contact.update", id=ids[3], **fields)  # without it: queued
    await emulator.user_update_contact(pro.member_id, ids[0], {"NAME": "y"})  # a user: queued
    await emulator.wait_deliveries_idle()
    queued = await get(http, pro)

    assert sorted(ids_of(queued)) == [ids[0], ids[3]]
    assert len(receiver.at("/on")) == 5  # online handlers do not care about the connector
    assert emulator.stats(pro.member_id).offline_suppressed == 3


async def test_each_connector_has_its_own_queue(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    await bind_offline(http, pro, connector=None)
    contact = await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    await ok(http, pro, "crm.contact.update", id=contact, fields={"NAME": "b"}, auth_connector=K)
    ours = await get(http, pro)
    unnamed = await ok(http, pro, "event.offline.get")

    assert [e["EVENT_NAME"] for e in ours["events"]] == ["ONCRMCONTACTADD"]
    assert [e["EVENT_NAME"] for e in unnamed["events"]] == list(OFFLINE_EVENTS)


async def test_uninstall_takes_the_queue_with_the_app(
    emulator: Emulator, pro: InstalledApp, http: httpx.AsyncClient
) -> None:
    await bind_offline(http, pro)
    await emulator.user_add_contact(pro.member_id, {"NAME": "a"})
    emulator.uninstall_app(pro.member_id)
    assert pro.portal.offline.entries == {}
