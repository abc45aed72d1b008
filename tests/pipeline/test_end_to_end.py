"""Names are fixed end to end: emulator → /events → inbox → worker → emulator."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from namecase.db import utcnow
from namecase.pipeline.models import Change
from namecase.portals.models import Portal
from namecase.queue import inbox
from namecase.queue.models import InboxItem, PortalQueue
from support.stack import Stack, running_stack


async def test_bad_names_on_add_get_exactly_one_update_and_the_echo_none(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(
            portal.member_id,
            {"NAME": "иВАН", "SECOND_NAME": "петрович", "LAST_NAME": "людвиг ван бетховен"},
        )
        await stack.drain()
        contact = stack.emulator.contact(portal.member_id, contact_id)
        assert contact["NAME"] == "Иван"
        assert contact["SECOND_NAME"] == "Петрович"
        assert contact["LAST_NAME"] == "Людвиг ван Бетховен"
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record.get(("contact", contact_id)) == 1
        assert stats.calls_by_method.get("crm.contact.update", 0) == 1
        assert stats.calls_by_method.get("crm.contact.list", 0) == 1  # the echo is not read
        assert stats.calls_by_method.get("crm.contact.get", 0) == 0


async def test_a_user_edit_after_our_write_is_still_normalized(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()  # fixed; the echo of our update is held, not read
        await stack.emulator.user_update_contact(portal.member_id, contact_id, {"NAME": "пЁТР"})
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Пётр"
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record[("contact", contact_id)] == 2
        assert stats.calls_by_method["crm.contact.list"] == 2


async def test_a_sweep_that_lists_a_fixed_record_settles_its_echo(database_url: str) -> None:
    async with running_stack(database_url, reconcile_interval=3600) as stack:
        portal = await stack.installed_portal()
        await stack.drain()  # the first visit's sweep
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()  # read and write; the echo arrives and is held
        assert await _held(stack) == 1
        async with stack.runtime.sessions() as session, session.begin():
            queue = await session.get(PortalQueue, portal.member_id)
            assert queue is not None
            queue.reconciled_at = utcnow() - dt.timedelta(hours=2)  # the next sweep is due
            queue.due_at = utcnow()
        await stack.drain()
        assert await _held(stack) == 0
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record[("contact", contact_id)] == 1


async def _held(stack: Stack) -> int:
    async with stack.runtime.sessions() as session:
        return (await inbox.counts(session)).get("held", 0)


async def test_already_normal_contact_is_never_updated(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(
            portal.member_id, {"NAME": "Анна-Мария", "LAST_NAME": "Иванова"}
        )
        await stack.drain()
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record.get(("contact", contact_id), 0) == 0


async def test_leads_are_normalized_only_when_the_portal_enables_them(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        ignored = await stack.emulator.user_add_lead(portal.member_id, {"NAME": "пётр"})
        await stack.drain()
        assert stack.emulator.lead(portal.member_id, ignored)["NAME"] == "пётр"

        await enable(stack, portal.member_id, entities=("contact", "lead"))
        lead_id = await stack.emulator.user_add_lead(
            portal.member_id, {"NAME": "ПЁТР", "LAST_NAME": "сидоров-ВОДКИН"}
        )
        await stack.drain()
        lead = stack.emulator.lead(portal.member_id, lead_id)
        assert (lead["NAME"], lead["LAST_NAME"]) == ("Пётр", "Сидоров-Водкин")


async def test_dry_run_records_what_would_change_and_writes_nothing(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await enable(stack, portal.member_id, dry_run=True)
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "ОЛЬГА"})
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "ОЛЬГА"
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.update"] == 0
        async with stack.runtime.sessions() as session:
            changes = (await session.execute(select(Change))).scalars().all()
        assert [(c.field, c.before, c.after, c.dry_run) for c in changes] == [
            ("NAME", "ОЛЬГА", "Ольга", True)
        ]


async def test_a_burst_of_updates_to_one_contact_is_one_inbox_row(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "a"})
        for index in range(20):
            await stack.emulator.user_update_contact(
                portal.member_id, contact_id, {"NAME": f"мария{'а' * index}"}
            )
        await stack.emulator.wait_deliveries_idle()
        async with stack.runtime.sessions() as session:
            rows = (await session.execute(select(InboxItem))).scalars().all()
        assert len(rows) == 1 and rows[0].version == 21
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Мария" + "а" * 19


async def enable(stack: Stack, member_id: str, **changes: object) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        portal = await session.get(Portal, member_id)
        assert portal is not None
        portal.settings = {**portal.settings, **changes}


async def test_a_portal_turned_off_is_never_written_to(database_url: str) -> None:
    async with running_stack(database_url, reconcile_interval=60) as stack:
        portal = await stack.installed_portal()
        await enable(stack, portal.member_id, entities=("contact", "lead"))
        queued = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        lead = await stack.emulator.user_add_lead(portal.member_id, {"NAME": "пЁТР"})
        await stack.emulator.wait_deliveries_idle()
        await enable(stack, portal.member_id, enabled=False)  # before the worker got to them
        later = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "оЛЕГ"})
        await stack.drain()  # includes the worker's first reconciliation sweep
        assert stack.emulator.contact(portal.member_id, queued)["NAME"] == "иВАН"
        assert stack.emulator.contact(portal.member_id, later)["NAME"] == "оЛЕГ"
        assert stack.emulator.lead(portal.member_id, lead)["NAME"] == "пЁТР"
        calls = stack.emulator.stats(portal.member_id).calls_by_method
        assert calls["crm.contact.update"] == calls["crm.lead.update"] == 0


async def test_items_of_an_entity_switched_off_meanwhile_are_not_written(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await enable(stack, portal.member_id, entities=("contact", "lead"))
        lead = await stack.emulator.user_add_lead(portal.member_id, {"NAME": "пЁТР"})
        await stack.emulator.wait_deliveries_idle()
        await enable(stack, portal.member_id, entities=("contact",))
        await stack.drain()
        assert stack.emulator.lead(portal.member_id, lead)["NAME"] == "пЁТР"
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.lead.get"] == 0


async def test_a_user_edit_made_while_we_read_is_not_overwritten(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        stack.emulator.faults(portal.member_id).latency = 0.6  # our read takes a while
        unit = asyncio.create_task(stack.worker.run_once())
        await asyncio.sleep(0.2)  # the read of "иВАН" is in flight
        await stack.emulator.user_update_contact(portal.member_id, contact_id, {"NAME": "ЙОХАНН"})
        await stack.emulator.wait_deliveries_idle()
        await unit
        stack.emulator.faults(portal.member_id).latency = 0.0
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Йоханн"
        assert (
            stack.emulator.stats(portal.member_id).updates_per_record[("contact", contact_id)] == 1
        )


async def test_trial_mode_foresees_each_change_once(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await enable(stack, portal.member_id, dry_run=True)
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "ОЛЬГА"})
        await stack.drain()
        for _ in range(3):  # later edits of other fields, and sweeps, see the same NAME again
            await stack.emulator.user_update_contact(portal.member_id, contact_id, {"POST": "x"})
            await stack.drain()
        async with stack.runtime.sessions() as session:
            changes = (await session.execute(select(Change))).scalars().all()
        assert [(c.field, c.before, c.after) for c in changes] == [("NAME", "ОЛЬГА", "Ольга")]


async def test_the_rate_margin_setting_sizes_the_portals_budget(database_url: str) -> None:
    async with running_stack(database_url, rate_margin_seconds=5.0) as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        async with stack.runtime.sessions() as session:
            queue = await session.get(PortalQueue, portal.member_id)
        assert queue is not None
        assert queue.bucket["capacity"] == 40.0  # 50 deep, less 5 s of draining at 2/s
