"""The pipeline stays exact when the portal misbehaves and when events never arrive."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from sqlalchemy import select

from namecase.db import utcnow
from namecase.pipeline.worker import Worker
from namecase.portals.models import Portal
from namecase.queue.models import InboxItem, PortalQueue
from support.stack import running_stack

BAD = [{"NAME": f"иВАН{index}", "LAST_NAME": "ПЕТРОВ-водкин"} for index in range(60)]


async def test_faults_every_record_normalized_and_none_updated_twice(database_url: str) -> None:
    async with running_stack(database_url, rest_timeout=0.5) as stack:
        # The emulator's bucket is smaller than the one we assume (503s), tokens live 3 s.
        portal = await stack.installed_portal(bucket_depth=8)
        stack.emulator.tokens.ttl = 3.0
        faults = stack.emulator.faults(portal.member_id)
        faults.error_rate = 0.10
        faults.timeout_rate = 0.05
        faults.timeout_seconds = 1.0
        faults.reset_rate = 0.03
        faults.error_next, faults.timeout_next, faults.reset_next = 2, 1, 1  # at least these
        ids = []
        for record in BAD:  # arriving in waves, so there are many batches
            ids.append(await stack.emulator.user_add_contact(portal.member_id, dict(record)))
            if len(ids) % 10 == 0:
                await stack.drain(seconds=60)
            if len(ids) == 30:
                stack.emulator.expire_access_tokens(portal.member_id)
        await stack.drain(seconds=120)
        for contact_id in ids:
            contact = stack.emulator.contact(portal.member_id, contact_id)
            assert contact["LAST_NAME"] == "Петров-Водкин", contact
        stats = stack.emulator.stats(portal.member_id)
        assert stats.injected_errors >= 2 and stats.injected_timeouts >= 1
        assert stats.injected_resets >= 1
        assert stats.refreshes >= 1
        assert all(count == 1 for count in stats.updates_per_record.values())
        assert len(stats.updates_per_record) == len(ids)


async def test_reconciliation_fixes_contacts_whose_events_were_lost(database_url: str) -> None:
    async with running_stack(database_url, reconcile_interval=60) as stack:
        portal = await stack.installed_portal()
        stack.emulator.faults(portal.member_id).drop_event_rate = 1.0  # deliveries lost
        ids = [await stack.emulator.user_add_contact(portal.member_id, dict(r)) for r in BAD[:5]]
        await stack.emulator.wait_deliveries_idle()
        assert await stack.pending() == 0  # nothing reached us
        stack.emulator.faults(portal.member_id).drop_event_rate = 0.0

        restarted = Worker(stack.runtime, concurrency=1)  # as after the service comes back
        task = asyncio.create_task(restarted.run())
        try:
            for _ in range(300):
                names = [stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids]
                if all(name.startswith("Иван") for name in names):
                    break
                await asyncio.sleep(0.1)
        finally:
            restarted.stop()
            with contextlib.suppress(Exception):
                await task
        assert [stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids] == [
            f"Иван{index}" for index in range(5)
        ]
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.list"] >= 1


async def test_tokens_refused_again_and_again_stop_the_portal_with_auth_failed(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        stack.emulator.revoke_tokens(portal.member_id)  # NO_AUTH_FOUND from now on
        for _ in range(8):
            async with stack.runtime.sessions() as session, session.begin():
                queue = await session.get(PortalQueue, portal.member_id)
                assert queue is not None
                queue.not_before = None  # skip the backoff waits
                queue.due_at = utcnow()
            await stack.worker.run_once()
        async with stack.runtime.sessions() as session:
            stored = await session.get(Portal, portal.member_id)
        assert stored is not None and stored.state == "auth_failed"
        calls = stack.emulator.stats(portal.member_id).total_requests
        await stack.worker.run_once()
        assert stack.emulator.stats(portal.member_id).total_requests == calls


async def test_items_left_for_an_uninstalled_portal_are_given_up(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        async with stack.runtime.sessions() as session, session.begin():
            stored = await session.get(Portal, portal.member_id)
            assert stored is not None
            stored.state = "uninstalled"  # as if the uninstall landed right after the event
        await stack.drain()
        async with stack.runtime.sessions() as session:
            item = (await session.execute(select(InboxItem))).scalar_one()
        assert (item.state, item.last_error) == ("dead", "uninstalled")
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.get"] == 0


async def test_a_worker_that_loses_its_lease_abandons_the_unit(database_url: str) -> None:
    async with running_stack(database_url, lease_seconds=0.6) as stack:
        portal = await stack.installed_portal()
        stack.emulator.faults(portal.member_id).latency = 1.0  # one slow read of the contact
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        unit = asyncio.create_task(stack.worker.run_once())
        await asyncio.sleep(0.4)
        async with stack.runtime.sessions() as session, session.begin():
            queue = await session.get(PortalQueue, portal.member_id)
            assert queue is not None and queue.lease_owner == stack.worker.id
            queue.lease_owner = "another-worker"  # as after a long pause past the lease
        assert await unit
        await asyncio.sleep(1.0)
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "иВАН"
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.update"] == 0
        assert await stack.pending() == 1  # left for the lease's new owner


async def test_a_method_out_of_operating_time_defers_the_portal_and_charges_no_record(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        faults = stack.emulator.faults(portal.member_id)
        # Each update costs 1 s of operating time against a 0.5 s limit: the first command of
        # the batch passes, the next ones answer 429 inside the batch (protocol §6).
        faults.operating_cost_seconds = {"crm.contact.update": 1.0}
        faults.operating_limit_seconds = {"crm.contact.update": 0.5}
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(3)
        ]
        await stack.emulator.wait_deliveries_idle()
        while await stack.worker.run_once():
            pass
        async with stack.runtime.sessions() as session:
            queue = await session.get(PortalQueue, portal.member_id)
            waiting = (
                (await session.execute(select(InboxItem).where(InboxItem.version > 0)))
                .scalars()
                .all()
            )
        assert queue is not None and queue.not_before is not None
        assert queue.not_before > utcnow() + dt.timedelta(minutes=5)  # until the block ends
        assert queue.failures == 0
        assert sorted(item.entity_id for item in waiting) == ids[1:]
        assert all(item.attempts == 0 and item.state == "pending" for item in waiting)

        faults.operating_limit_seconds = {}  # the ten minutes are over
        async with stack.runtime.sessions() as session, session.begin():
            queue = await session.get(PortalQueue, portal.member_id)
            assert queue is not None
            queue.not_before = None
        await stack.drain()
        names = [stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids]
        assert names == ["Иван0", "Иван1", "Иван2"]
