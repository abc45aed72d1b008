"""Scale-out: records normalized per second with 1, 2 and 4 worker processes on one PostgreSQL.

    .venv/bin/python bench/scaleout.py [--portals 100] [--records 50] [--workers 1,2,4]
                                       [--concurrency 1,4] [--latency 0.05]
                                       [--code old=/tmp/nc-old/src,new=src]

For every (concurrency, worker count) pair and every `--code` contender, a round on a set-up of
its own: `namecase serve` (NAMECASE_WORKER=false) on a fresh PostgreSQL database and `--portals`
portals installed through the real install flow (basic plan limits). Then:

1. start-up CPU: one `namecase worker` starts on the empty queue; its CPU time when its first
   heartbeat row appears in `workers` is what a process costs before it does any work;
2. `--records` badly typed contacts are imported into every portal with no worker running (their
   events wait in the inbox), every REST call is made to wait `--latency` seconds, then N
   `namecase worker --concurrency C` processes start together;
3. the rate is measured between 10% and 90% of the round's records normalized in the emulator,
   so process start-up is left out; the workers' CPU is sampled at those two points too;
4. the round ends when every record is fixed and no work is pending in the inbox (the echo
   events of our own updates worked off, or held: see src/namecase/queue/echoes.py); records
   divided by the time from the workers' start to this point is the settled rate.

CPU per record, total and net of start-up (N × the CPU of step 1), counts steps 2–4. Echoes held
at the end are settled later, without a read (by housekeeping, a sweep or the portal's next
read). The contenders alternate round by round so that both meet the same machine load.

Reconciliation is off (NAMECASE_RECONCILE_INTERVAL=0). Everything shares this machine's cores:
the emulator, the service, PostgreSQL and the workers. Prints a table; writes
bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from namecase.emulator import Emulator
from rig import (
    ROOT,
    Code,
    Rows,
    ServiceProcess,
    check_codes,
    codes,
    database,
    emulator,
    install_portals,
    print_table,
    running,
    write_results,
)

BAD = {"NAME": "мАРИЯ", "LAST_NAME": "сидорова"}
GOOD = {"NAME": "Мария", "LAST_NAME": "Сидорова"}
QUIET = {"reconcile_interval": 0}


@dataclass
class SetUp:
    """One contender's service and portals for one round."""

    code: Code
    url: str
    service: ServiceProcess
    member_ids: list[str]

    @property
    def worker_settings(self) -> dict[str, object]:
        # A worker checks the portals' event bindings against PUBLIC_URL: the service's.
        log = Path(tempfile.gettempdir()) / f"namecase-bench-scaleout-{self.code.name}-workers.log"
        return {**QUIET, "public_url": self.service.url, "log_path": log}


@contextlib.asynccontextmanager
async def set_up(emu: Emulator, code: Code, portals: int) -> AsyncIterator[SetUp]:
    async with database("postgresql", code) as url:
        log = Path(tempfile.gettempdir()) / f"namecase-bench-scaleout-{code.name}.log"
        service = ServiceProcess.serve(
            url, emu.base_url, cpu=None, code=code, log_path=log, worker=False, **QUIET
        )
        async with running(service):
            installed = await install_portals(emu, service.url, portals)
            yield SetUp(code, url, service, [portal.member_id for portal in installed])


class Round:
    """One import across all portals and the watch until it is normalized."""

    def __init__(self, emu: Emulator, member_ids: list[str], records: int) -> None:
        self.emu = emu
        self.member_ids = member_ids
        self.records = records
        self.open: list[tuple[str, int]] = []
        self.fixed_at: list[float] = []
        self.cpu_marks: list[tuple[int, float]] = []  # (records fixed, worker CPU s) at 10%, 90%

    @property
    def total(self) -> int:
        return len(self.fixed_at) + len(self.open)

    async def load(self) -> None:
        for _ in range(self.records):
            for member_id in self.member_ids:
                self.open.append((member_id, await self.emu.user_add_contact(member_id, BAD)))
            if self.emu.dispatcher.pending > 2000:
                await asyncio.sleep(0.05)
        await self.emu.wait_deliveries_idle()

    async def watch(self, limit: float, cpu: Callable[[], float]) -> None:
        marks = [int(self.total * 0.1), int(self.total * 0.9)]
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
            if marks and len(self.fixed_at) >= marks[0]:
                marks.pop(0)
                self.cpu_marks.append((len(self.fixed_at), cpu()))
            await asyncio.sleep(0.05)

    def rate(self) -> float:
        """Records per second between 10% and 90% of the round done."""
        done = sorted(self.fixed_at)
        low, high = done[int(self.total * 0.1)], done[int(self.total * 0.9) - 1]
        return (int(self.total * 0.9) - int(self.total * 0.1)) / (high - low) if high > low else 0.0

    def window_cpu_ms(self) -> float | None:
        """Worker CPU per record between the 10% and 90% marks, in ms."""
        if len(self.cpu_marks) < 2 or self.cpu_marks[1][0] <= self.cpu_marks[0][0]:
            return None
        (low_n, low_cpu), (high_n, high_cpu) = self.cpu_marks
        return 1000 * (high_cpu - low_cpu) / (high_n - low_n)


async def start_up_cpu(emu: Emulator, setup: SetUp, concurrency: int) -> float:
    """CPU seconds of a worker from its start on an empty queue to its first heartbeat row."""
    worker = ServiceProcess.worker(
        setup.url, emu.base_url, concurrency=concurrency, code=setup.code, **setup.worker_settings
    )
    rows = Rows(setup.url)
    worker.start()
    try:
        while not await rows.scalar("SELECT count(*) FROM workers WHERE pid = $1", worker.pid):
            if worker.process and worker.process.poll() is not None:
                raise RuntimeError(f"the start-up worker exited with {worker.process.returncode}")
            await asyncio.sleep(0.02)
        return worker.cpu_seconds()
    finally:
        await asyncio.to_thread(worker.stop)  # the emulator must answer meanwhile


async def until_no_work(rows: Rows, limit: float) -> None:
    deadline = time.monotonic() + limit
    while await rows.pending_work() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def held_echoes(rows: Rows) -> int:
    """Rows held for the echo of our write (pending, version <= 0; none before pipeline v2)."""
    sql = "SELECT count(*) FROM inbox WHERE state = 'pending' AND version <= 0"
    return int(await rows.scalar(sql))


async def run_round(
    emu: Emulator, setup: SetUp, workers: int, concurrency: int, args: Any
) -> dict[str, Any]:
    start_up = await start_up_cpu(emu, setup, concurrency)
    batch = Round(emu, setup.member_ids, args.records)
    await batch.load()
    for member_id in setup.member_ids:
        emu.faults(member_id).latency = args.latency
    processes = [
        ServiceProcess.worker(
            setup.url,
            emu.base_url,
            concurrency=concurrency,
            code=setup.code,
            **setup.worker_settings,
        )
        for _ in range(workers)
    ]
    rows = Rows(setup.url)
    service_cpu_before = setup.service.cpu_seconds()
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        for process in processes:
            await stack.enter_async_context(running(process))

        def cpu() -> float:
            return sum(process.cpu_seconds() for process in processes)

        await batch.watch(args.limit, cpu)
        await until_no_work(rows, args.limit)
        settled = time.monotonic() - started
        worker_cpu = cpu()
        service_cpu = setup.service.cpu_seconds() - service_cpu_before
        held = await held_echoes(rows)
    total = batch.total
    return {
        "code": setup.code.name,
        "workers": workers,
        "concurrency": concurrency,
        "records": total,
        "normalized": len(batch.fixed_at),
        "records_per_second": batch.rate(),
        "seconds_to_all": (max(batch.fixed_at) - started) if not batch.open else None,
        # From the workers' start until no work is pending: echoes read again count here.
        "seconds_to_settled": settled,
        "settled_records_per_second": total / settled,
        "worker_cpu_seconds": worker_cpu,
        "start_up_cpu_seconds": start_up,
        "cpu_ms_per_record": 1000 * worker_cpu / total,
        "net_cpu_ms_per_record": 1000 * (worker_cpu - workers * start_up) / total,
        "window_cpu_ms_per_record": batch.window_cpu_ms(),
        "service_cpu_seconds": service_cpu,
        "echoes_held_at_the_end": held,
        "load_average": os.getloadavg()[0],
    }


async def main_async(args: argparse.Namespace, contenders: list[Code]) -> list[dict[str, Any]]:
    results = []
    async with emulator() as emu:
        pairs = [
            (int(c), int(w)) for c in args.concurrency.split(",") for w in args.workers.split(",")
        ]
        for index, (concurrency, workers) in enumerate(pairs):
            # Alternate who goes first, so that neither always meets the same moment of load.
            for code in contenders if index % 2 == 0 else contenders[::-1]:
                print(f"{code.name}: {workers} worker(s) × {concurrency} slot(s) …", flush=True)
                async with set_up(emu, code, args.portals) as setup:
                    result = await run_round(emu, setup, workers, concurrency, args)
                print(f"  {result}", flush=True)
                results.append(result)
    return results


def table(results: list[dict[str, Any]]) -> list[list[object]]:
    rows: list[list[object]] = []
    for result in sorted(results, key=lambda r: (r["concurrency"], r["workers"], r["code"])):
        single = next(
            r["records_per_second"]
            for r in results
            if (r["code"], r["concurrency"], r["workers"])
            == (result["code"], result["concurrency"], 1)
        )
        window = result["window_cpu_ms_per_record"]
        rows.append(
            [
                result["code"],
                result["concurrency"],
                result["workers"],
                f"{result['normalized']}/{result['records']}",
                result["records_per_second"],
                f"{result['records_per_second'] / single:.2f}" if single else "-",
                result["settled_records_per_second"],
                result["worker_cpu_seconds"],
                f"{result['start_up_cpu_seconds']:.2f}",
                f"{result['cpu_ms_per_record']:.2f}",
                f"{result['net_cpu_ms_per_record']:.2f}",
                f"{window:.2f}" if window is not None else "-",
                result["echoes_held_at_the_end"],
                f"{result['load_average']:.1f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=100)
    parser.add_argument("--records", type=int, default=50, help="per portal and round")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per round at most")
    parser.add_argument(
        "--code", default="current=src", help="name=src,… : the namecase code each contender runs"
    )
    args = parser.parse_args()
    contenders = codes(args.code)
    described = check_codes(contenders)
    results = asyncio.run(main_async(args, contenders))
    print()
    print_table(
        [
            "code",
            "slots/worker",
            "workers",
            "normalized",
            "records/s",
            "÷ 1 worker",
            "settled/s",
            "worker CPU s",
            "start-up CPU s",
            "ms/record",
            "net ms/record",
            "10–90% ms/record",
            "held at end",
            "load",
        ],
        table(results),
    )
    path = write_results(
        "scaleout", {"settings": vars(args), "code": described, "results": results}
    )
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
