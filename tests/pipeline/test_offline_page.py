"""The pure decisions of offline events: reading a page of the queue, the sweep's interval, and
what is bound in each mode (bitrix24-protocol.md §10)."""

from __future__ import annotations

from typing import Any

from conftest import make_settings
from namecase.pipeline.offline import read_page, sweep_interval
from namecase.portals.bindings import (
    AUTH_CONNECTOR,
    BOUND_EVENTS,
    DOORBELL,
    ONLINE,
    offline_wanted,
    plan_bindings,
)
from namecase.portals.models import Portal
from namecase.portals.schemas import PortalOptions
from namecase.queue import Enqueued

OURS = "https://namecase.example/events"
CONTACTS = PortalOptions(entities=["contact"])


def entry(event: str, record_id: Any, entry_id: int = 1, message: str = "m" * 32) -> Any:
    data = {"FIELDS": {"ID": record_id}}
    return {"ID": str(entry_id), "EVENT_NAME": event, "EVENT_DATA": data, "MESSAGE_ID": message}


def test_a_page_names_its_records_by_number_or_string() -> None:
    answer = {
        "process_id": "p" * 32,
        "events": [entry("ONCRMCONTACTADD", 5, 1), entry("onCrmContactUpdate", "6", 2)],
    }
    page = read_page("m1", answer, CONTACTS)
    assert page.process_id == "p" * 32
    assert page.records == [
        Enqueued("m1", "contact", 5, "offline"),
        Enqueued("m1", "contact", 6, "offline"),
    ]
    assert (page.entry_ids, page.unusable, page.size) == (["1", "2"], [], 2)


def test_entries_that_name_no_record_are_marked_as_errors_not_queued() -> None:
    answer = {
        "process_id": None,
        "events": [
            entry("ONCRMDEALADD", 5, 1, "a" * 32),  # not an event we bind
            entry("ONCRMCONTACTADD", "0", 2, "b" * 32),
            entry("ONCRMCONTACTADD", "x", 3, "c" * 32),
            {"ID": "4", "EVENT_NAME": "ONCRMCONTACTADD", "EVENT_DATA": False, "MESSAGE_ID": "d"},
            "not an entry",
        ],
    }
    page = read_page("m1", answer, CONTACTS)
    assert page.process_id is None and page.records == [] and page.entry_ids == []
    assert page.unusable == ["a" * 32, "b" * 32, "c" * 32, "d"]
    assert page.size == 4


def test_records_of_a_type_the_portal_does_not_normalize_are_cleared_unread() -> None:
    page = read_page("m1", {"events": [entry("ONCRMLEADUPDATE", 7)]}, CONTACTS)
    assert page.records == [] and page.entry_ids == ["1"] and page.unusable == []
    off = PortalOptions(enabled=False)
    assert read_page("m1", {"events": [entry("ONCRMCONTACTADD", 7)]}, off).records == []


def test_the_sweep_is_a_rare_net_only_where_the_queue_is_reserved_and_confirmed() -> None:
    settings = make_settings("sqlite+aiosqlite://", reconcile_interval=60)
    offline = Portal(event_mode="offline", offline_extended=True)
    cleared = Portal(event_mode="offline", offline_extended=False)
    online = Portal(event_mode="online", offline_extended=False)
    assert sweep_interval(settings, offline) == 3600
    assert sweep_interval(settings, cleared) == 60
    assert sweep_interval(settings, online) == 60


def test_offline_mode_binds_the_crm_events_offline_and_unbinds_them_online() -> None:
    bound = [{"event": event, "handler": OURS, "offline": 0} for event in BOUND_EVENTS]
    plan = plan_bindings(bound, OURS, offline_wanted(["contact", "lead"]))
    crm = ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE", "ONCRMLEADADD", "ONCRMLEADUPDATE")
    assert plan.bind_offline == crm
    assert plan.bind == (DOORBELL,)
    assert {event for event, _ in plan.unbind} == set(crm)
    assert plan.unbind_offline == ()


def test_online_mode_removes_our_offline_bindings_and_leaves_others_alone() -> None:
    bound = [
        {"event": "ONCRMCONTACTADD", "connector_id": AUTH_CONNECTOR, "offline": 1},
        {"event": "ONCRMLEADADD", "connector_id": "someone-else", "offline": 1},
        {"event": DOORBELL, "handler": OURS, "offline": 0},
    ]
    plan = plan_bindings(bound, OURS, ONLINE)
    assert plan.unbind_offline == ("ONCRMCONTACTADD",)
    assert plan.unbind == ((DOORBELL, OURS),)
    assert plan.bind == BOUND_EVENTS


def test_leads_are_bound_offline_only_where_they_are_normalized() -> None:
    bound = [{"event": "ONCRMLEADADD", "connector_id": AUTH_CONNECTOR, "offline": 1}]
    plan = plan_bindings(bound, OURS, offline_wanted(["contact"]))
    assert plan.bind_offline == ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE")
    assert plan.unbind_offline == ("ONCRMLEADADD",)
