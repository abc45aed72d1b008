"""A burst of 1,000 new contacts on one portal, under the portal's real rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from support.stack import running_stack

BURST = 1000


@pytest.mark.slow
async def test_a_thousand_contacts_are_normalized_with_at_most_45_rest_calls(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url, batch_window=0.5) as stack:
        portal = await stack.installed_portal()  # plan "basic": bucket 50 deep, 2 requests/s
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
            await stack.emulator.wait_deliveries_idle()
            await stack.drain()  # the echo events of our updates
        finally:
            stack.worker.stop()
            with contextlib.suppress(Exception):
                await worker
        stats = stack.emulator.stats(portal.member_id)
        calls = stats.total_requests - baseline
        # 20 reads (one list of 50 IDs each) + 20 update batches, and nothing for the echoes.
        assert calls <= 45, f"{calls} REST calls: {dict(stats.calls_by_method)}"
        assert stats.rejected_503 == 0
        assert max(stats.updates_per_record.values()) == 1
        assert all(
            stack.emulator.contact(portal.member_id, i)["LAST_NAME"] == "Петров" for i in ids
        )
