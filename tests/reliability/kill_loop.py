"""The kill -9 campaign: `namecase serve` (with its worker) killed again and again mid-burst.

Bitrix24 never redelivers (bitrix24-protocol.md §2), so the promise is exact: every event the
service acknowledged with 200 ends normalized, whatever moment the process died at. With
reconciliation off, the inbox alone must carry them. Deliveries that met a dead service were
never acknowledged; Bitrix24 drops them and only the reconciliation sweep (off here) repairs
those records, so they are counted, not judged.

Used by tests/reliability/test_kill_loop.py (a short loop, in CI) and bench/killloop.py (long).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field

import httpx

from namecase.serving import free_port
from support.stack import Stack, running_stack, worker_environment

BAD = "пЁТР"
FIXED = "Пётр"


@dataclass
class KillLoopReport:
    """What one campaign did and found."""

    kills: int = 0
    contacts: int = 0
    acknowledged: int = 0
    refused: int = 0
    lost: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "kills": self.kills,
            "contacts": self.contacts,
            "acknowledged": self.acknowledged,
            "refused_while_down": self.refused,
            "acknowledged_lost": len(self.lost),
            "seconds": round(self.seconds, 1),
        }


class ServiceUnderTest:
    """`namecase serve` with its worker, as a process that can be SIGKILLed and restarted."""

    def __init__(self, stack: Stack) -> None:
        self.port = free_port()
        self.environment = worker_environment(stack) | {
            "NAMECASE_WORKER": "true",
            "NAMECASE_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "NAMECASE_LEASE_SECONDS": "2",  # a killed worker's portal is taken over quickly
        }
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "namecase",
            "serve",
            "--port",
            str(self.port),
            env=self.environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the service did not start")

    async def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)


async def kill_loop(
    database_url: str, *, kills: int, burst: int, seed: int = 9, settle: float = 120.0
) -> KillLoopReport:
    """Run `kills` rounds: a burst of `burst` new contacts, SIGKILL somewhere in its middle,
    the rest of the burst against the dead service, restart. Then check every acknowledged ADD."""
    rng = random.Random(seed)
    report = KillLoopReport()
    started = time.monotonic()
    async with running_stack(database_url) as stack:
        service = ServiceUnderTest(stack)
        await service.start()
        try:
            portal = stack.add_portal()
            installed = await stack.emulator.install_app(
                portal.member_id, install_url=f"{service.url}/install"
            )
            assert installed.status_code == 200, installed.text
            emulator = stack.emulator
            emulator.faults(portal.member_id).latency = 0.02  # the worker is mid-batch often
            for _ in range(kills):
                kill_at = rng.randrange(burst // 4, 3 * burst // 4)
                for index in range(burst):
                    await emulator.user_add_contact(portal.member_id, {"NAME": f"{BAD}{index}"})
                    report.contacts += 1
                    if index == kill_at:
                        await asyncio.sleep(rng.uniform(0.0, 0.3))
                        await service.kill()
                        report.kills += 1
                await emulator.wait_deliveries_idle()
                await service.start()
            await emulator.wait_deliveries_idle()
            adds = [d for d in emulator.deliveries if d.event == "ONCRMCONTACTADD"]
            acknowledged = [int(d.data["FIELDS"]["ID"]) for d in adds if d.status == 200]
            report.acknowledged = len(acknowledged)
            report.refused = len(adds) - len(acknowledged)
            deadline = time.monotonic() + settle
            while True:
                report.lost = [
                    i
                    for i in acknowledged
                    if not emulator.contact(portal.member_id, i)["NAME"].startswith(FIXED)
                ]
                if not report.lost or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            await service.stop()
    report.seconds = time.monotonic() - started
    return report
