"""kill -9 of the service in the middle of a burst loses no acknowledged event."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import httpx

from namecase.serving import free_port
from support.stack import Stack, running_stack, worker_environment

BURST = 300


async def start_service(stack: Stack, port: int) -> asyncio.subprocess.Process:
    environment = worker_environment(stack) | {
        "NAMECASE_WORKER": "true",
        "NAMECASE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "namecase",
        "serve",
        "--port",
        str(port),
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60  # a loaded machine can take many seconds to import
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline and process.returncode is None:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    if process.returncode is None:
        process.kill()  # never leave a server behind
        await process.wait()
    raise AssertionError("the service did not start")


async def test_every_acknowledged_event_survives_a_kill_9(pg_database_url: str) -> None:
    async with running_stack(pg_database_url) as stack:
        port = free_port()
        service = await start_service(stack, port)
        portal = stack.add_portal()
        installed = await stack.emulator.install_app(
            portal.member_id, install_url=f"http://127.0.0.1:{port}/install", lang="ru"
        )
        assert installed.status_code == 200
        stack.emulator.faults(portal.member_id).latency = 0.02  # keep the worker busy

        for index in range(BURST):
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"пЁТР{index}"})
            if index == BURST // 3:
                await asyncio.sleep(0.3)  # some acknowledged, some in the worker's hands
                os.kill(service.pid, signal.SIGKILL)
                await service.wait()
        await stack.emulator.wait_deliveries_idle()
        acknowledged = [
            int(d.data["FIELDS"]["ID"])
            for d in stack.emulator.deliveries
            if d.event == "ONCRMCONTACTADD" and d.status == 200
        ]
        refused = [d for d in stack.emulator.deliveries if d.status != 200]
        assert refused, "the kill happened after the burst; nothing was tested"

        service = await start_service(stack, port)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                names = [stack.emulator.contact(portal.member_id, i)["NAME"] for i in acknowledged]
                if all(name.startswith("Пётр") for name in names):
                    break
                await asyncio.sleep(0.2)
        finally:
            service.send_signal(signal.SIGTERM)
            await asyncio.wait_for(service.wait(), 30)
        lost = [
            i
            for i in acknowledged
            if not stack.emulator.contact(portal.member_id, i)["NAME"].startswith("Пётр")
        ]
        assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged events lost"
