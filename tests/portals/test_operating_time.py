"""A portal is slowed down before its operating time runs out (protocol §6, [RU] limits.md):
the successful answers' `operating` and `operating_reset_at` say when to wait, so the 429 that
would block the method for minutes never comes."""

from __future__ import annotations

import dataclasses
import time

from sqlalchemy import select

from namecase.queue.models import PortalQueue
from support.stack import running_stack

from .test_recovery import probe_spacing_passes, run_due


async def test_a_portal_near_its_operating_limit_waits_for_the_oldest_minute(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        assert stack.settings.operating_budget == 300
        portal = await stack.installed_portal()
        emulator = stack.emulator
        offset = [0.0]
        emulator.config = dataclasses.replace(
            emulator.config, clock=lambda: time.time() + offset[0]
        )
        faults = emulator.faults(portal.member_id)
        faults.operating_cost_seconds = {"crm.contact.list": 200.0}  # a heavy portal
        faults.operating_limit_seconds = {"crm.contact.list": 480.0}
        stats = emulator.stats(portal.member_id)

        for name in ("иВАН", "пЁТР"):  # 200 s, then 400 s of the method's budget
            await emulator.user_add_contact(portal.member_id, {"NAME": name})
            await run_due(stack)
        async with stack.runtime.sessions() as session:
            queue = await session.scalar(
                select(PortalQueue).where(PortalQueue.member_id == portal.member_id)
            )
        assert queue is not None and queue.not_before is not None
        assert queue.not_before.timestamp() > time.time() + 500  # the oldest minute's reset

        await emulator.user_add_contact(portal.member_id, {"NAME": "мАРИЯ"})
        assert await run_due(stack) == 0  # it waits: no third call into a 429
        assert await stack.pending() == 1

        offset[0] += 600  # the oldest minutes drop off
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()
        assert emulator.contact(portal.member_id, 3)["NAME"] == "Мария"
        assert stats.rejected_429 == 0
