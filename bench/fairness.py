"""Fairness: single events on 1,000 portals while one portal works off a 10,000-event backlog.

    .venv/bin/python bench/fairness.py [--portals 1000] [--backlog 10000] [--rate 10]
                                       [--duration 60] [--start-up-duration 20] [--latency 0.05]
                                       [--concurrency 4] [--code old=/tmp/nc-old/src,new=src]

For each `--code` contender, on a set-up of its own: `namecase serve` (NAMECASE_WORKER=false)
on a throw-away PostgreSQL database; `--portals` portals installed through the real install flow
(basic plan limits), plus one backlog portal whose rate limit never binds, in the emulator nor in
namecase's own per-portal budget: the worst case for fairness, it always has a full batch ready.
Every REST call waits `--latency` seconds. Then:

1. first start: a `namecase worker --concurrency N` visits every portal once (each is due since
   its install); timed, then the worker stops;
2. restart: a fresh worker starts, as after a deploy. For `--start-up-duration` seconds single
   contacts are added at `--rate` per second on random quiet portals; the pass until the worker
   has visited every portal again is timed;
3. `--backlog` contacts are imported into the backlog portal, then for `--duration` seconds
   single contacts are added at `--rate` per second, each on a random quiet portal. Meanwhile the
   backlog's progress is counted as its records the emulator holds fixed.

A single event's time to normalize runs from the add until the emulator holds the fixed names.
Reconciliation is off (NAMECASE_RECONCILE_INTERVAL=0). Prints a table; writes
bench/results/fairness.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg

from loadgen import percentile
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

BAD = {"NAME": "иВАН", "LAST_NAME": "пЕТРОВ"}
GOOD = {"NAME": "Иван", "LAST_NAME": "Петров"}
QUIET = {"worker": False, "reconcile_interval": 0}


def fixed(record: dict[str, Any]) -> bool:
    return all(record.get(key) == value for key, value in GOOD.items())


async def visited_every_portal(rows: Rows, since: dt.datetime) -> float:
    """Until every portal's unit has run since `since` (the worker's pass over all portals);
    returns that moment (time.monotonic())."""
    sql = "SELECT count(*) FROM portal_queue WHERE last_run_at IS NULL OR last_run_at < $1"
    while await rows.scalar(sql, since):  # noqa: ASYNC110 - polling another process's work
        await asyncio.sleep(0.2)
    return time.monotonic()


async def load_backlog(emu: Emulator, member_id: str, count: int) -> list[int]:
    """Import `count` contacts into one portal and wait until every delivery is done."""
    ids = []
    for _ in range(count):
        ids.append(await emu.user_add_contact(member_id, BAD))
        if emu.dispatcher.pending > 2000:  # keep the delivery queue bounded
            await asyncio.sleep(0.05)
    await emu.wait_deliveries_idle()
    return ids


class SingleEvents:
    """Adds one contact at a time on random portals and times each until it is fixed."""

    def __init__(self, emu: Emulator, portals: list[str], seed: int) -> None:
        self.emu = emu
        self.portals = portals
        self.rng = random.Random(seed)
        self.outstanding: dict[tuple[str, int], float] = {}
        self.times: list[float] = []
        self.started = time.monotonic()
        self.slowest: list[tuple[float, float, str]] = []  # (seconds, added after s, portal)
        self.watcher: asyncio.Task[None] | None = None

    async def add(self, rate: float, duration: float) -> None:
        """Add `rate` contacts a second for `duration` seconds; they are watched until finish()."""
        self.watcher = asyncio.create_task(self._watch())
        started = self.started = time.monotonic()
        for index in range(int(rate * duration)):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            member_id = self.rng.choice(self.portals)
            added = time.monotonic()
            record_id = await self.emu.user_add_contact(member_id, BAD)
            self.outstanding[(member_id, record_id)] = added

    async def finish(self, limit: float = 60.0) -> dict[str, Any]:
        """Wait up to `limit` seconds for the rest; the distribution of times to normalize."""
        deadline = time.monotonic() + limit
        while self.outstanding and time.monotonic() < deadline:  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.02)
        if self.watcher:
            self.watcher.cancel()
        times = sorted(self.times)
        return {
            "single_events": len(times) + len(self.outstanding),
            "normalized": len(times),
            "p50_s": percentile(times, 0.5),
            "p90_s": percentile(times, 0.9),
            "p99_s": percentile(times, 0.99),
            "max_s": times[-1] if times else None,
            "slowest": sorted(self.slowest, reverse=True)[:5],
        }

    async def _watch(self) -> None:
        while True:
            self._look()
            await asyncio.sleep(0.02)

    def _look(self) -> None:
        now = time.monotonic()
        for key, added in list(self.outstanding.items()):
            if fixed(self.emu.contact(*key)):
                self.times.append(now - added)
                self.slowest.append((now - added, added - self.started, key[0]))
                del self.outstanding[key]


async def db_now(rows: Rows) -> dt.datetime:
    now: dt.datetime = await rows.scalar("SELECT now()")
    return now


async def first_start(emu: Emulator, url: str, code: Code, public_url: str, args: Any) -> float:
    """A worker's first pass after the installs (every portal due since its install)."""
    rows = Rows(url)
    since = await db_now(rows)
    worker = ServiceProcess.worker(
        url, emu.base_url, concurrency=args.concurrency, code=code, public_url=public_url, **QUIET
    )
    started = time.monotonic()
    async with running(worker):
        return await visited_every_portal(rows, since) - started


async def backlog_calls(rows: Rows, member_id: str, since: dt.datetime) -> dict[str, Any]:
    """The backlog portal's REST calls since `since`, from our own call log: per method, how
    many, the milliseconds the worker waited for them, and the median gap from the end of one
    until the next call starts (the worker's own time: database, CPU, waiting for a slot)."""
    connection = await asyncpg.connect(rows.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        calls = await connection.fetch(
            "SELECT method, created_at, duration_ms FROM rest_calls"
            " WHERE member_id = $1 AND created_at >= $2 ORDER BY created_at",
            member_id,
            since,
        )
    finally:
        await connection.close()
    found: dict[str, dict[str, Any]] = {}
    for call, after in zip(calls, [*calls[1:], None], strict=False):
        entry = found.setdefault(call["method"], {"calls": 0, "ms": 0.0, "gaps": []})
        entry["calls"] += 1
        entry["ms"] += call["duration_ms"]
        if after is not None:
            ended = call["created_at"] + dt.timedelta(milliseconds=call["duration_ms"])
            entry["gaps"].append((after["created_at"] - ended).total_seconds() * 1000)
    return {
        method: {
            "calls": entry["calls"],
            "ms": round(entry["ms"]),
            "median_gap_after_ms": round(statistics.median(entry["gaps"]), 1)
            if entry["gaps"]
            else None,
        }
        for method, entry in found.items()
    }


def cpu_of(processes: dict[str, ServiceProcess]) -> dict[str, float]:
    """CPU seconds so far of our processes and of this one (the emulator and the watchers)."""
    return {
        **{name: process.cpu_seconds() for name, process in processes.items()},
        "bench process (emulator)": time.process_time(),
    }


async def backlog_phase(
    emu: Emulator,
    rows: Rows,
    processes: dict[str, ServiceProcess],
    backlog: str,
    quiet: list[str],
    args: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load the backlog, then single events beside it; (their times, the backlog's progress)."""
    ids = await load_backlog(emu, backlog, args.backlog)

    def backlog_fixed() -> int:
        return sum(1 for record_id in ids if fixed(emu.contact(backlog, record_id)))

    async def until_worked_off() -> float:
        # Cheap enough not to disturb the run: the worker reads the oldest first, so all of the
        # open records are looked at only once the newest open one is fixed.
        still_open = list(ids)
        while still_open:
            await asyncio.sleep(0.25)
            if fixed(emu.contact(backlog, still_open[-1])):
                still_open = [i for i in still_open if not fixed(emu.contact(backlog, i))]
        return time.monotonic()

    print(f"measuring for {args.duration:.0f} s …", flush=True)
    at_start, started, since = backlog_fixed(), time.monotonic(), await db_now(rows)
    cpu_before = cpu_of(processes)
    singles = SingleEvents(emu, quiet, seed=11)
    worked_off = asyncio.create_task(until_worked_off())
    await singles.add(args.rate, args.duration)
    # The backlog's rate counts until it is worked off, if that happened within the window.
    at_end = backlog_fixed()
    finished = worked_off.done()
    seconds = (worked_off.result() if finished else time.monotonic()) - started
    worked_off.cancel()
    cpu = {name: round(used - cpu_before[name], 1) for name, used in cpu_of(processes).items()}
    progress = {
        "backlog_fixed_when_measuring_began": at_start,
        "backlog_fixed_meanwhile": at_end - at_start,
        "backlog_records_per_second": (at_end - at_start) / seconds,
        "backlog_calls_meanwhile": await backlog_calls(rows, backlog, since),
        "backlog_seconds_measured": seconds,
        "backlog_worked_off_within_the_window": finished,
        "cpu_seconds_meanwhile": cpu,
    }
    return await singles.finish(), progress


async def contender(code: Code, args: argparse.Namespace) -> dict[str, Any]:
    async with emulator() as emu, database("postgresql", code) as url:
        service = ServiceProcess.serve(url, emu.base_url, cpu=None, code=code, **QUIET)
        async with running(service):
            print(f"{code.name}: installing {args.portals} portals …", flush=True)
            portals = await install_portals(emu, service.url, args.portals)
            (backlog,) = await install_portals(
                emu, service.url, 1, bucket_depth=100_000, drain_per_second=10_000
            )
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
            first_pass = await first_start(emu, url, code, service.url, args)
            quiet = [p.member_id for p in portals]
            worker = ServiceProcess.worker(
                url,
                emu.base_url,
                concurrency=args.concurrency,
                code=code,
                log_path=Path(tempfile.gettempdir()) / f"namecase-bench-fairness-{code.name}.log",
                public_url=service.url,  # a worker checks event bindings against it
                **QUIET,
            )
            since = await db_now(rows)
            started = time.monotonic()
            async with running(worker):
                print(f"{code.name}: restarted; single events during the pass …", flush=True)
                pass_over = asyncio.create_task(visited_every_portal(rows, since))
                during = SingleEvents(emu, quiet, seed=7)
                await during.add(args.rate, args.start_up_duration)
                restart_pass = await pass_over - started
                during_start_up = await during.finish()
                print(f"{code.name}: loading a backlog of {args.backlog} events …", flush=True)
                beside_backlog, progress = await backlog_phase(
                    emu,
                    rows,
                    {"worker": worker, "service": service},
                    backlog.member_id,
                    quiet,
                    args,
                )
                worker_cpu = worker.cpu_seconds()
    return {
        "code": code.name,
        "first_start_pass_seconds": first_pass,
        "restart_pass_seconds": restart_pass,
        "during_start_up": during_start_up,
        "beside_backlog": beside_backlog,
        **progress,
        "worker_cpu_seconds": worker_cpu,
        "load_average": os.getloadavg()[0],
    }


def seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def table(results: list[dict[str, Any]]) -> list[list[object]]:
    rows: list[list[object]] = []
    for result in results:
        start_up, beside = result["during_start_up"], result["beside_backlog"]
        rows.append(
            [
                result["code"],
                seconds(result["first_start_pass_seconds"]),
                seconds(result["restart_pass_seconds"]),
                f"{start_up['normalized']}/{start_up['single_events']}",
                seconds(start_up["p50_s"]),
                seconds(start_up["p99_s"]),
                f"{beside['normalized']}/{beside['single_events']}",
                seconds(beside["p50_s"]),
                seconds(beside["p90_s"]),
                seconds(beside["p99_s"]),
                seconds(beside["max_s"]),
                result["backlog_records_per_second"],
                result["worker_cpu_seconds"],
                f"{result['load_average']:.1f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--start-up-duration", type=float, default=20.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--code", default="current=src", help="name=src,… : the namecase code each contender runs"
    )
    args = parser.parse_args()
    contenders = codes(args.code)
    described = check_codes(contenders)
    results = [asyncio.run(contender(code, args)) for code in contenders]
    print()
    print_table(
        [
            "code",
            "1st pass s",
            "restart pass s",
            "during restart",
            "p50 s",
            "p99 s",
            "beside backlog",
            "p50 s",
            "p90 s",
            "p99 s",
            "max s",
            "backlog records/s",
            "worker CPU s",
            "load",
        ],
        table(results),
    )
    path = write_results(
        "fairness", {"settings": vars(args), "code": described, "results": results}
    )
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
