"""Fairness: single events on 1,000 portals while one portal works off a 10,000-event backlog.

    .venv/bin/python bench/fairness.py [--portals 1000] [--backlog 10000] [--rate 10]
                                       [--duration 60] [--latency 0.05] [--concurrency 4]

Set-up: `namecase serve` (NAMECASE_WORKER=false) on a throw-away PostgreSQL database; `--portals`
portals installed through the real install flow (basic plan limits), plus one backlog portal
whose rate limit never binds, in the emulator nor in namecase's own per-portal budget: the worst
case for fairness, it always has a full batch ready. Every REST call waits `--latency` seconds.
One `namecase worker --concurrency N` process starts; once its first visit of every portal is
over (reported separately), `--backlog` contacts are imported into the backlog portal, and then,
for `--duration` seconds, single contacts are added at `--rate` per second, each on a random
other portal. The time to normalize of a single event runs from the add until the emulator
holds the fixed names.

Reconciliation is off (NAMECASE_RECONCILE_INTERVAL=0). Prints a table; writes
bench/results/fairness.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import percentile
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

BAD = {"NAME": "иВАН", "LAST_NAME": "пЕТРОВ"}
GOOD = {"NAME": "Иван", "LAST_NAME": "Петров"}


def fixed(record: dict[str, Any]) -> bool:
    return all(record.get(key) == value for key, value in GOOD.items())


async def start_up_pass_done(rows: Rows) -> None:
    """Until no portal is due any more (the worker's first visit of every portal is over)."""
    while await rows.scalar("SELECT count(*) FROM portal_queue WHERE due_at <= now()"):  # noqa: ASYNC110
        await asyncio.sleep(0.5)


async def load_backlog(emu: Emulator, member_id: str, count: int) -> None:
    """Import `count` contacts into one portal and wait until every delivery is done."""
    for _ in range(count):
        await emu.user_add_contact(member_id, BAD)
        if emu.dispatcher.pending > 2000:  # keep the delivery queue bounded
            await asyncio.sleep(0.05)
    await emu.wait_deliveries_idle()


class SingleEvents:
    """Adds one contact at a time on random portals and times each until it is fixed."""

    def __init__(self, emu: Emulator, portals: list[str], seed: int = 11) -> None:
        self.emu = emu
        self.portals = portals
        self.rng = random.Random(seed)
        self.outstanding: dict[tuple[str, int], float] = {}
        self.times: list[float] = []

    async def run(self, rate: float, duration: float) -> None:
        watcher = asyncio.create_task(self.watch())
        started = time.monotonic()
        count = int(rate * duration)
        for index in range(count):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            member_id = self.rng.choice(self.portals)
            added = time.monotonic()
            record_id = await self.emu.user_add_contact(member_id, BAD)
            self.outstanding[(member_id, record_id)] = added
        deadline = time.monotonic() + 60.0
        while self.outstanding and time.monotonic() < deadline:  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.05)
        watcher.cancel()

    async def watch(self) -> None:
        while True:
            now = time.monotonic()
            for key, added in list(self.outstanding.items()):
                if fixed(self.emu.contact(*key)):
                    self.times.append(now - added)
                    del self.outstanding[key]
            await asyncio.sleep(0.02)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with emulator() as emu, database("postgresql") as url:
        quiet = {"worker": False, "reconcile_interval": 0}
        service = ServiceProcess.serve(url, emu.base_url, cpu=None, **quiet)
        async with running(service):
            print(f"installing {args.portals} portals …", flush=True)
            started = time.monotonic()
            portals = await install_portals(emu, service.url, args.portals)
            (backlog,) = await install_portals(
                emu, service.url, 1, bucket_depth=100_000, drain_per_second=10_000
            )
            install_seconds = time.monotonic() - started
            for portal in [*portals, backlog]:
                emu.faults(portal.member_id).latency = args.latency
            rows = Rows(url)
            # The per-portal rate override (an Enterprise-like budget) so that namecase's own
            # budget does not hold the backlog portal back either.
            await rows.scalar(
                "UPDATE portals SET rate_capacity = 100000, rate_per_second = 10000 "
                "WHERE member_id = $1",
                backlog.member_id,
            )
            worker = ServiceProcess.worker(
                url,
                emu.base_url,
                concurrency=args.concurrency,
                log_path=Path(tempfile.gettempdir()) / "namecase-bench-fairness-worker.log",
                **quiet,
            )
            async with running(worker):
                # A worker starts by visiting every portal once; measure the steady state.
                started = time.monotonic()
                await start_up_pass_done(rows)
                start_up_seconds = time.monotonic() - started
                print(f"loading a backlog of {args.backlog} events …", flush=True)
                await load_backlog(emu, backlog.member_id, args.backlog)
                pending = await rows.scalar(
                    "SELECT count(*) FROM inbox WHERE state = 'pending' AND member_id = $1",
                    backlog.member_id,
                )
                print(f"measuring for {args.duration:.0f} s …", flush=True)
                singles = SingleEvents(emu, [p.member_id for p in portals])
                await singles.run(args.rate, args.duration)
                worker_cpu = worker.cpu_seconds()
                backlog_done = await rows.scalar(
                    "SELECT count(*) FROM inbox WHERE member_id = $1 AND state = 'done'",
                    backlog.member_id,
                )
    times = sorted(singles.times)
    return {
        "settings": vars(args),
        "install_seconds": install_seconds,
        "worker_start_up_pass_seconds": start_up_seconds,
        "backlog_pending_when_measuring_began": int(pending),
        "single_events": len(times) + len(singles.outstanding),
        "normalized": len(times),
        "not_normalized_within_60s_after": len(singles.outstanding),
        "p50_s": percentile(times, 0.5),
        "p90_s": percentile(times, 0.9),
        "p99_s": percentile(times, 0.99),
        "max_s": times[-1] if times else None,
        "backlog_items_done": int(backlog_done),
        "worker_cpu_seconds": worker_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    result = asyncio.run(main_async(parser.parse_args()))
    print()
    print_table(
        [
            "slots",
            "single events",
            "normalized",
            "p50 s",
            "p90 s",
            "p99 s",
            "max s",
            "backlog done",
            "worker CPU s",
        ],
        [
            [
                result["settings"]["concurrency"],
                result["single_events"],
                result["normalized"],
                f"{result['p50_s']:.2f}",
                f"{result['p90_s']:.2f}",
                f"{result['p99_s']:.2f}",
                f"{result['max_s']:.2f}" if result["max_s"] is not None else "-",
                result["backlog_items_done"],
                result["worker_cpu_seconds"],
            ]
        ],
    )
    path = write_results("fairness", result)
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
