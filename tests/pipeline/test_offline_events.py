"""Offline events end to end over real HTTP (issue 13, bitrix24-protocol.md §10): the portal keeps
the queue, the worker collects it, our writes carry our auth_connector and so never come back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select

from namecase.bitrix import encode_php_form
from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.worker import Worker
from namecase.portals.models import Portal
from namecase.queue import leases
from namecase.queue.models import PortalQueue
from support.stack import Stack, running_stack

CRM_ONLINE = {"ONCRMCONTACTADD", "ONCRMCONTACTUPDATE", "ONCRMLEADADD", "ONCRMLEADUPDATE"}


async def until(
    stack: Stack, done: Callable[[], Awaitable[bool] | bool], seconds: float = 60
) -> None:
    """Run the worker until `done` holds. A ring inside the doorbell's minTimeout is dropped,
    so some work is only due a few seconds later: wait for it instead of draining once."""
    deadline = time.monotonic() + seconds
    while True:
        await stack.emulator.wait_deliveries_idle()
        while await stack.worker.run_once():
            pass
        outcome = done()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        assert time.monotonic() < deadline, await stack.describe_queue()
        await asyncio.sleep(0.1)


async def stored(stack: Stack, member_id: str) -> Portal:
    async with stack.runtime.sessions() as session:
        portal = await session.get(Portal, member_id)
        assert portal is not None
        return portal


def bound(stack: Stack, portal: EmulatedPortal) -> tuple[set[str], set[tuple[str, str]]]:
    """(online events, offline (event, connector)) bound on the emulated portal."""
    handlers = stack.emulator.portal(portal.member_id).handlers
    online = {h.event for h in handlers if not h.offline}
    offline = {(h.event, h.connector) for h in handlers if h.offline}
    return online, offline


def normalized(stack: Stack, portal: EmulatedPortal, ids: list[int], name: str) -> bool:
    return all(stack.emulator.contact(portal.member_id, i)["NAME"] == name for i in ids)


async def test_an_offline_portal_binds_its_crm_events_offline_and_the_doorbell_online(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal(plan="professional")
        online, offline = bound(stack, portal)
        row = await stored(stack, portal.member_id)

    assert (row.event_mode, row.offline_extended, row.event_mode_reason) == ("offline", True, None)
    assert online == {"ONOFFLINEEVENT", "ONAPPUPDATE", "ONAPPUNINSTALL"}
    assert offline == {("ONCRMCONTACTADD", "namecase"), ("ONCRMCONTACTUPDATE", "namecase")}
    doorbell = next(
        h for h in stack.emulator.portal(portal.member_id).handlers if h.event == "ONOFFLINEEVENT"
    )
    assert doorbell.min_timeout == 1


async def test_changes_are_collected_from_the_queue_and_our_writes_do_not_come_back(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal(plan="professional")
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(120)
        ]
        await until(stack, lambda: normalized(stack, portal, ids[:1], "Иван0"))
        await until(
            stack,
            lambda: all(
                stack.emulator.contact(portal.member_id, i)["NAME"].startswith("Иван") for i in ids
            ),
        )
        emulated = stack.emulator.portal(portal.member_id)
        stats = stack.emulator.stats(portal.member_id)

    assert emulated.offline.entries == {}  # every entry collected and cleared
    assert stats.offline_suppressed == 120  # each of our 120 updates kept out of our queue
    assert max(stats.updates_per_record.values()) == 1
    assert stats.calls_by_method["crm.contact.list"] == 3  # 120 records, 50 per read, once each
    assert not any(d.event in CRM_ONLINE for d in stack.emulator.deliveries)


async def test_a_users_edit_after_our_correction_is_collected_and_normalized_again(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal(plan="professional")
        contact = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await until(stack, lambda: normalized(stack, portal, [contact], "Иван"))
        await stack.emulator.user_update_contact(portal.member_id, contact, {"NAME": "пЁТР"})
        await until(stack, lambda: normalized(stack, portal, [contact], "Пётр"))
        stats = stack.emulator.stats(portal.member_id)

    assert stats.updates_per_record[("contact", contact)] == 2


async def test_a_portal_without_auth_connector_stays_online_and_says_why(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()  # basic plan: feature.get says N
        contact = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        online, offline = bound(stack, portal)
        row = await stored(stack, portal.member_id)

    assert stack.emulator.contact(portal.member_id, contact)["NAME"] == "Иван"
    assert row.event_mode == "online"
    assert "rest_auth_connector = N" in (row.event_mode_reason or "")
    assert online >= CRM_ONLINE and offline == set()


async def test_event_mode_online_never_asks_for_the_features(database_url: str) -> None:
    async with running_stack(database_url, event_mode="online") as stack:
        portal = await stack.installed_portal(plan="professional")
        row = await stored(stack, portal.member_id)
        calls = stack.emulator.stats(portal.member_id).calls_by_method

    assert (row.event_mode, row.event_mode_reason) == ("online", "NAMECASE_EVENT_MODE=online")
    assert "feature.get" not in calls


async def test_without_the_extended_mode_the_queue_is_read_with_clear(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal(plan="professional")
        stack.emulator.set_offline_features(portal.member_id, extended=False)
        assert (await stack.install(portal)).status_code == 200
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(3)
        ]
        await until(
            stack,
            lambda: all(
                stack.emulator.contact(portal.member_id, i)["NAME"].startswith("Иван") for i in ids
            ),
        )
        row = await stored(stack, portal.member_id)
        calls = stack.emulator.stats(portal.member_id).calls_by_method

    assert (row.event_mode, row.offline_extended) == ("offline", False)
    assert "event.offline.clear" not in calls  # clear=1 hands out and deletes at once


async def test_an_installer_without_admin_rights_falls_back_to_online_events(
    database_url: str,
) -> None:
    hourly = {"reconcile_interval": 3600, "offline_reconcile_interval": 3600}
    async with running_stack(database_url, **hourly) as stack:
        portal = await stack.installed_portal(plan="professional")
        await until(stack, lambda: True)  # the first unit: its sweep finds nothing
        stack.emulator.set_admin(portal.member_id, 1, False)  # the installer loses the rights
        queued = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await until(stack, _online_again(stack, portal.member_id))
        later = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "пЁТР"})
        await until(stack, lambda: normalized(stack, portal, [later], "Пётр"))
        row = await stored(stack, portal.member_id)
        online, _ = bound(stack, portal)
        waiting = stack.emulator.contact(portal.member_id, queued)["NAME"]
        # What the queue held is out of reach now; the sweep is its net (a new worker sweeps).
        stack.worker = Worker(stack.runtime, concurrency=1)
        async with stack.runtime.sessions() as session, session.begin():
            await leases.make_due(session, [portal.member_id])  # as a starting worker does
        await until(stack, lambda: normalized(stack, portal, [queued], "Иван"))

    assert row.event_mode == "online"
    assert "ACCESS_DENIED" in (row.event_mode_reason or "")
    assert online >= CRM_ONLINE
    assert waiting == "иВАН"


def _online_again(stack: Stack, member_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await stored(stack, member_id)).event_mode == "online"

    return check


async def test_the_doorbell_makes_the_portal_due_for_collection(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal(plan="professional")
        await until(stack, lambda: True)  # the first collection: the queue is empty
        async with stack.runtime.sessions() as session:
            before = (await session.get(PortalQueue, portal.member_id)).offline_due_at  # type: ignore[union-attr]
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        async with stack.runtime.sessions() as session:
            queue = (
                await session.execute(
                    select(PortalQueue).where(PortalQueue.member_id == portal.member_id)
                )
            ).scalar_one()
        rings = [d for d in stack.emulator.deliveries if d.event == "ONOFFLINEEVENT"]

    assert [d.status for d in rings] == [200]
    assert before is not None and queue.offline_due_at is not None
    assert queue.offline_due_at < before  # rung: due now, not at the slow poll


async def test_a_doorbell_with_a_wrong_application_token_is_refused(database_url: str) -> None:
    async with running_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal(plan="professional")
        auth = {"member_id": portal.member_id, "domain": portal.domain}
        forged = encode_php_form(
            {"event": "ONOFFLINEEVENT", "auth": {**auth, "application_token": "x"}}
        )
        real = encode_php_form(
            {
                "event": "ONOFFLINEEVENT",
                "auth": {**auth, "application_token": portal.application_token},
            }
        )
        headers = {"content-type": "application/x-www-form-urlencoded"}
        refused = await http.post(f"{stack.app_url}/events", content=forged, headers=headers)
        accepted = await http.post(f"{stack.app_url}/events", content=real, headers=headers)

    assert refused.status_code == 403
    assert accepted.status_code == 200
