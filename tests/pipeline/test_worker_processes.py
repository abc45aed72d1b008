"""Several `namecase worker` processes on one PostgreSQL share the portals without overlap."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from sqlalchemy import select

from namecase.pipeline.models import WorkerHeartbeat
from namecase.queue.models import PortalQueue
from support.stack import Stack, running_stack, worker_environment

PORTALS = 4
CONTACTS = 40


async def start_workers(stack: Stack, count: int) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "namecase",
            "worker",
            "--concurrency",
            "2",
            env=worker_environment(stack),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]


async def beating(stack: Stack, count: int, deadline: float) -> None:
    """Wait until `count` workers have written a heartbeat: each is running and handles SIGTERM
    (under load, importing the package can take seconds; a signal before that kills it)."""
    while time.monotonic() < deadline:
        async with stack.runtime.sessions() as session:
            if len((await session.execute(select(WorkerHeartbeat))).scalars().all()) >= count:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} workers started")


async def settled(stack: Stack, ids: dict[str, list[int]], deadline: float) -> None:
    """Wait until every contact is fixed and the echo events are through."""
    while time.monotonic() < deadline:
        fixed = all(
            stack.emulator.contact(member_id, i)["NAME"].startswith("Олег")
            for member_id, contact_ids in ids.items()
            for i in contact_ids
        )
        if fixed:
            await stack.emulator.wait_deliveries_idle()
            if await stack.pending() == 0:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not settled:\n{await stack.describe_queue()}")


async def test_three_worker_processes_never_share_a_portal_and_fix_every_record_once(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url, batch_window=0.2) as stack:
        portals = [await stack.installed_portal() for _ in range(PORTALS)]
        for portal in portals:
            stack.emulator.faults(portal.member_id).latency = 0.05
        workers = await start_workers(stack, 3)
        try:
            await beating(stack, 3, time.monotonic() + 60)
            ids = {
                portal.member_id: [
                    await stack.emulator.user_add_contact(
                        portal.member_id, {"NAME": f"оЛЕГ{n}", "LAST_NAME": "КРУГЛОВ"}
                    )
                    for n in range(CONTACTS)
                ]
                for portal in portals
            }
            await settled(stack, ids, time.monotonic() + 60)
            async with stack.runtime.sessions() as session:
                beats = (await session.execute(select(WorkerHeartbeat))).scalars().all()
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(process.wait(), 30) for process in workers]
        assert codes == [0, 0, 0], [await p.stderr.read() for p in workers if p.stderr]
        assert len(beats) == 3
        for member_id, contact_ids in ids.items():
            stats = stack.emulator.stats(member_id)
            assert stats.max_in_flight == 1, "two callers on one portal at once"
            for contact_id in contact_ids:
                assert stack.emulator.contact(member_id, contact_id)["LAST_NAME"] == "Круглов"
                assert stats.updates_per_record[("contact", contact_id)] == 1
        async with stack.runtime.sessions() as session:
            queues = (await session.execute(select(PortalQueue))).scalars().all()
            assert all(queue.lease_owner is None for queue in queues), "SIGTERM returns leases"
            assert not (await session.execute(select(WorkerHeartbeat))).scalars().all()
