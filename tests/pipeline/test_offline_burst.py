"""A burst of 1,000 new contacts on an offline portal (issue 13 item 7): collected from the queue,
each read once and written once, and none of our writes comes back."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from support.stack import running_stack

BURST = 1000


@pytest.mark.slow
async def test_a_thousand_contacts_are_read_once_and_written_once_with_no_echo(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url, batch_window=0.5) as stack:
        portal = await stack.installed_portal(plan="professional")  # bucket 50 deep, 2/s
        baseline = stack.emulator.stats(portal.member_id).total_requests
        worker = asyncio.create_task(stack.worker.run())
        try:
            started = time.monotonic()
            ids = [
                await stack.emulator.user_add_contact(
                    portal.member_id, {"NAME": f"иВАН{index}", "LAST_NAME": "ПЕТРОВ"}
                )
                for index in range(BURST)
            ]
            while True:
                names = [stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids]
                if all(name.startswith("Иван") for name in names):
                    break
                assert time.monotonic() - started < 120, "burst not normalized in 2 minutes"
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # the look after the doorbell's window, and nothing more
        finally:
            stack.worker.stop()
            with contextlib.suppress(Exception):
                await worker
        stats = stack.emulator.stats(portal.member_id)
        calls = stats.total_requests - baseline
        methods = dict(stats.calls_by_method)

    assert max(stats.updates_per_record.values()) == 1  # written once
    assert methods["crm.contact.list"] == BURST // 50  # 20 reads of 50 IDs
    assert [stats.reads_per_record[("contact", i)] for i in ids] == [1] * BURST  # read once
    assert stats.offline_suppressed == BURST  # every update kept out of our queue
    assert not any(d.event == "ONCRMCONTACTUPDATE" for d in stack.emulator.deliveries)
    assert stack.emulator.portal(portal.member_id).offline.entries == {}
    # 20 reads + 20 update batches + pages of up to 500 reserved and confirmed + a few looks.
    assert calls <= 60, f"{calls} REST calls: {methods}"
    assert stats.rejected_503 == 0
