"""Offline events when the service is down or killed (issue 13 item 7): Bitrix24 keeps the queue,
so what changed meanwhile is collected at start, with the sweep turned off; a worker killed
between `event.offline.get` and `event.offline.clear` loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from sqlalchemy import select

from namecase.emulator import Portal as EmulatedPortal
from namecase.queue.models import PortalQueue
from namecase.serving import free_port
from support.stack import Stack, running_stack

from .test_kill_and_restart import start_service

CHANGED = 200


def all_fixed(stack: Stack, portal: EmulatedPortal, ids: list[int]) -> bool:
    return all(stack.emulator.contact(portal.member_id, i)["NAME"].startswith("Иван") for i in ids)


async def wait_for(check: object, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not (check() if callable(check) else check):
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


async def stop(service: asyncio.subprocess.Process, how: int = signal.SIGTERM) -> None:
    os.kill(service.pid, how)
    await service.wait()


async def test_changes_made_while_the_service_was_down_are_collected_at_start(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        port = free_port()
        service = await start_service(stack, port)
        portal = stack.add_portal(plan="professional")
        installed = await stack.emulator.install_app(
            portal.member_id, install_url=f"http://127.0.0.1:{port}/install"
        )
        assert installed.status_code == 200
        await stop(service)

        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(CHANGED)
        ]
        await stack.emulator.wait_deliveries_idle()
        rings = [d for d in stack.emulator.deliveries if d.event == "ONOFFLINEEVENT"]
        lists_before = stack.emulator.stats(portal.member_id).calls_by_method["crm.contact.list"]

        service = await start_service(stack, port)  # NAMECASE_*RECONCILE_INTERVAL=0: no sweep
        try:
            # Collected at start: without that, only the 60 s poll would find them.
            await wait_for(lambda: all_fixed(stack, portal, ids), seconds=45)
        finally:
            await stop(service)
        stats = stack.emulator.stats(portal.member_id)

    assert rings and all(d.status is None for d in rings)  # nobody answered the doorbell
    assert stats.calls_by_method["crm.contact.list"] - lists_before == CHANGED // 50  # @ID reads
    assert max(stats.updates_per_record.values()) == 1
    assert stack.emulator.portal(portal.member_id).offline.entries == {}


async def test_a_worker_killed_between_get_and_clear_loses_nothing(pg_database_url: str) -> None:
    async with running_stack(pg_database_url) as stack:
        port = free_port()
        service = await start_service(stack, port)
        portal = stack.add_portal(plan="professional")
        installed = await stack.emulator.install_app(
            portal.member_id, install_url=f"http://127.0.0.1:{port}/install"
        )
        assert installed.status_code == 200
        faults = stack.emulator.faults(portal.member_id)
        faults.hang_methods = ["event.offline.clear"]  # the confirmation never gets an answer
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(120)
        ]
        await wait_for(lambda: bool(stack.emulator.hangs))  # the worker waits on its clear
        await stop(service, signal.SIGKILL)
        faults.hang_methods = []
        stack.emulator.release_hangs()  # the clear is dropped unrun

        queue = stack.emulator.portal(portal.member_id).offline
        reserved = {entry.process_id for entry in queue.entries.values()}
        async with stack.runtime.sessions() as session:
            stored = (
                await session.execute(
                    select(PortalQueue.offline_process_id).where(
                        PortalQueue.member_id == portal.member_id
                    )
                )
            ).scalar_one()
        fixed_before = sum(
            stack.emulator.contact(portal.member_id, i)["NAME"].startswith("Иван") for i in ids
        )

        service = await start_service(stack, port)
        try:
            await wait_for(lambda: all_fixed(stack, portal, ids))
        finally:
            await stop(service)
        stats = stack.emulator.stats(portal.member_id)

    assert fixed_before == 0  # killed before any record was read
    assert reserved == {stored} and stored  # the batch is held under the id we stored first
    assert queue.entries == {}  # read again with that id, then confirmed
    assert max(stats.updates_per_record.values()) == 1
