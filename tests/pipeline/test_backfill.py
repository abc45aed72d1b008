"""A backfill fixes existing records page by page and resumes where it stopped after a restart."""

from __future__ import annotations

from sqlalchemy import select

from namecase.pipeline.backfill import backfill_progress, start_backfill
from namecase.pipeline.models import Backfill
from namecase.pipeline.worker import Worker
from namecase.portals.models import Portal
from support.stack import running_stack


async def test_backfill_resumes_after_a_restart_from_the_last_record_it_read(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        stack.emulator.faults(portal.member_id).drop_event_rate = 1.0  # records from before us
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"зОЯ{n}"})
            for n in range(120)
        ]
        await stack.emulator.wait_deliveries_idle()
        stack.emulator.faults(portal.member_id).drop_event_rate = 0.0
        async with stack.runtime.sessions() as session, session.begin():
            stored = await session.get(Portal, portal.member_id)
            assert stored is not None
            await start_backfill(session, stored)

        first = Worker(stack.runtime, concurrency=1)
        assert await first.run_once()  # one page of 50, then the process "dies"
        async with stack.runtime.sessions() as session:
            progress = (await session.execute(select(Backfill))).scalar_one()
        assert (progress.state, progress.scanned, progress.last_id) == ("running", 50, ids[49])
        async with stack.runtime.sessions() as session:
            stored = await session.get(Portal, portal.member_id)
            assert stored is not None
            shown = await backfill_progress(session, stored)
        # No COUNT: the estimate runs from the cursor to the highest ID when the pass began.
        assert (shown.percent, shown.total) == (int(100 * ids[49] / ids[-1]), None)

        stack.worker = Worker(stack.runtime, concurrency=1)  # the restarted process
        await stack.drain()
        async with stack.runtime.sessions() as session:
            progress = (await session.execute(select(Backfill))).scalar_one()
        assert (progress.state, progress.scanned, progress.total) == ("done", 120, 120)
        assert [stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids] == [
            f"Зоя{n}" for n in range(120)
        ]
        listed = stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.list"]
        # 120 records: three backfill pages of 50, none read twice, and three reads of the
        # records they queued (one list request by ID per 50 records).
        assert listed == 7  # and one request for the highest ID, the progress estimate's end
