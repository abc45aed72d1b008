"""Memory: peak RSS of `namecase serve` with its worker, 1,000 portals, 100,000 pending items.

    .venv/bin/python bench/memory.py [--portals 1000] [--items 100] [--seconds 120]
                                     [--latency 0.05]

Phase 1 (ingest): `namecase serve` with NAMECASE_WORKER=false on a throw-away PostgreSQL
database; `--portals` portals installed through the real install flow; `--items` badly typed
contacts imported into each portal, so `portals × items` events wait in the inbox.

Phase 2 (the measured one): that process stops and a fresh `namecase serve` starts with its
in-process worker (NAMECASE_WORKER=true, the default concurrency) over the full inbox, every REST
call waiting `--latency` seconds. Its resident set is sampled every 0.5 s for `--seconds` while
the worker claims portals and works the items off (and events keep arriving: the echoes of its
own updates); the peak is the kernel's high-water mark (VmHWM).

Reconciliation is off (NAMECASE_RECONCILE_INTERVAL=0) so the worker works only the inbox.
Prints a table; writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

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

BAD = {"NAME": "пАВЕЛ", "LAST_NAME": "ОРЛОВ"}
TARGET_MB = 200.0


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with emulator() as emu, database("postgresql") as url:
        rows = Rows(url)
        ingest = ServiceProcess.serve(
            url, emu.base_url, cpu=None, worker=False, reconcile_interval=0
        )
        async with running(ingest):
            print(f"installing {args.portals} portals …", flush=True)
            portals = await install_portals(emu, ingest.url, args.portals)
            print(f"importing {args.items} contacts into each …", flush=True)
            started = time.monotonic()
            for _ in range(args.items):
                for portal in portals:
                    await emu.user_add_contact(portal.member_id, BAD)
                    if emu.dispatcher.pending > 2000:
                        await asyncio.sleep(0.05)
            await emu.wait_deliveries_idle()
            ingest_seconds = time.monotonic() - started
            ingest_peak = ingest.peak_rss_mb()
        pending = await rows.pending_work()
        print(f"{pending} pending items; measuring serve + worker …", flush=True)
        for portal in portals:
            emu.faults(portal.member_id).latency = args.latency
        service = ServiceProcess.serve(
            url, emu.base_url, cpu=None, worker=True, reconcile_interval=0
        )
        samples: list[tuple[float, float]] = []
        async with running(service):
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                samples.append((time.monotonic() - started, service.rss_mb()))
                await asyncio.sleep(0.5)
            peak = service.peak_rss_mb()
            left = await rows.pending_work()
            done = int(await rows.scalar("SELECT count(*) FROM inbox WHERE state = 'done'"))
            queued = int(await rows.scalar("SELECT count(*) FROM portal_queue"))
    return {
        "settings": vars(args),
        "pending_at_start": pending,
        "portals_in_queue": queued,
        "ingest_seconds": ingest_seconds,
        "ingest_peak_rss_mb": ingest_peak,
        "peak_rss_mb": peak,
        "rss_at_start_mb": samples[0][1] if samples else None,
        "rss_at_end_mb": samples[-1][1] if samples else None,
        "items_done_in_window": done,
        "items_pending_at_end": left,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100, help="pending items per portal")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--latency", type=float, default=0.05)
    result = asyncio.run(main_async(parser.parse_args()))
    print()
    print_table(
        [
            "pending at start",
            "peak RSS MiB",
            "target MiB",
            "ingest-only peak MiB",
            "done in window",
        ],
        [
            [
                result["pending_at_start"],
                result["peak_rss_mb"],
                TARGET_MB,
                result["ingest_peak_rss_mb"],
                result["items_done_in_window"],
            ]
        ],
    )
    path = write_results("memory", result)
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
