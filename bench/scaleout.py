"""Scale-out: records normalized per second with 1, 2 and 4 worker processes on one PostgreSQL.

    .venv/bin/python bench/scaleout.py [--portals 100] [--records 50] [--workers 1,2,4]
                                       [--concurrency 1,4] [--latency 0.05]

Set-up: `namecase serve` (NAMECASE_WORKER=false) on a throw-away PostgreSQL database and
`--portals` portals installed through the real install flow (basic plan limits). For every
(concurrency, worker count) pair, a round: `--records` badly typed contacts are imported into
every portal with the workers stopped (their events wait in the inbox), every REST call is made
to wait `--latency` seconds, then N `namecase worker --concurrency C` processes start together.
The rate is measured between 10% and 90% of the round's records normalized in the emulator, so
process start-up is left out; the round ends when every record is fixed and the echo events of
our own updates are held (no work pending in the inbox), then the workers get SIGTERM.

Reconciliation is off (NAMECASE_RECONCILE_INTERVAL=0). Everything shares this machine's cores:
the emulator, the service, PostgreSQL and the workers. Prints a table; writes
bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from namecase.emulator import Emulator
from rig import (
    ROOT,
    Rows,
    ServiceProcess,
    database,
    emulator,
    install_portals,
    print_table,
    running,
    write_results,
)

BAD = {"NAME": "мАРИЯ", "LAST_NAME": "сидорова"}
GOOD = {"NAME": "Мария", "LAST_NAME": "Сидорова"}


class Round:
    """One import across all portals and the watch until it is normalized."""

    def __init__(self, emu: Emulator, member_ids: list[str], records: int) -> None:
        self.emu = emu
        self.member_ids = member_ids
        self.records = records
        self.open: list[tuple[str, int]] = []
        self.fixed_at: list[float] = []

    async def load(self) -> None:
        for _ in range(self.records):
            for member_id in self.member_ids:
                self.open.append((member_id, await self.emu.user_add_contact(member_id, BAD)))
            if self.emu.dispatcher.pending > 2000:
                await asyncio.sleep(0.05)
        await self.emu.wait_deliveries_idle()

    async def watch(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        while self.open and time.monotonic() < deadline:
            now = time.monotonic()
            still = []
            for key in self.open:
                record = self.emu.contact(*key)
                if all(record.get(k) == v for k, v in GOOD.items()):
                    self.fixed_at.append(now)
                else:
                    still.append(key)
            self.open = still
            await asyncio.sleep(0.05)

    def rate(self) -> float:
        """Records per second between 10% and 90% of the round done."""
        done = sorted(self.fixed_at)
        total = len(done) + len(self.open)
        low, high = done[int(total * 0.1)], done[int(total * 0.9) - 1]
        return (int(total * 0.9) - int(total * 0.1)) / (high - low) if high > low else 0.0


async def run_round(
    emu: Emulator, url: str, member_ids: list[str], workers: int, concurrency: int, args: Any
) -> dict[str, Any]:
    for member_id in member_ids:
        emu.faults(member_id).latency = 0.0
    batch = Round(emu, member_ids, args.records)
    await batch.load()
    for member_id in member_ids:
        emu.faults(member_id).latency = args.latency
    processes = [
        ServiceProcess.worker(url, emu.base_url, concurrency=concurrency, reconcile_interval=0)
        for _ in range(workers)
    ]
    rows = Rows(url)
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        for process in processes:
            await stack.enter_async_context(running(process))
        await batch.watch(args.limit)
        normalized_at = time.monotonic()
        while await rows.pending_work():
            if time.monotonic() - normalized_at > args.limit:
                break
            await asyncio.sleep(0.2)
        cpu = sum(process.cpu_seconds() for process in processes)
    total = len(batch.fixed_at) + len(batch.open)
    return {
        "workers": workers,
        "concurrency": concurrency,
        "records": total,
        "normalized": len(batch.fixed_at),
        "records_per_second": batch.rate(),
        "seconds_to_all": (max(batch.fixed_at) - started) if not batch.open else None,
        "worker_cpu_seconds": cpu,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    async with emulator() as emu, database("postgresql") as url:
        service = ServiceProcess.serve(
            url, emu.base_url, cpu=None, worker=False, reconcile_interval=0
        )
        async with running(service):
            print(f"installing {args.portals} portals …", flush=True)
            portals = await install_portals(emu, service.url, args.portals)
            member_ids = [portal.member_id for portal in portals]
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                for workers in [int(w) for w in args.workers.split(",")]:
                    print(f"{workers} worker(s) × {concurrency} slot(s) …", flush=True)
                    result = await run_round(emu, url, member_ids, workers, concurrency, args)
                    print(f"  {result}", flush=True)
                    results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=100)
    parser.add_argument("--records", type=int, default=50, help="per portal and round")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per round at most")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    table = []
    for result in results:
        single = next(
            r["records_per_second"]
            for r in results
            if r["concurrency"] == result["concurrency"] and r["workers"] == 1
        )
        table.append(
            [
                result["concurrency"],
                result["workers"],
                f"{result['normalized']}/{result['records']}",
                result["records_per_second"],
                f"{result['records_per_second'] / single:.2f}" if single else "-",
                result["worker_cpu_seconds"],
            ]
        )
    print()
    print_table(
        ["slots/worker", "workers", "normalized", "records/s", "÷ 1 worker", "worker CPU s"],
        table,
    )
    path = write_results("scaleout", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
