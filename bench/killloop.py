"""Kill -9 loop, the long campaign: `namecase serve` SIGKILLed N times mid-burst, both databases.

    .venv/bin/python bench/killloop.py [--kills 20] [--burst 200] [--databases postgresql,sqlite]

The campaign is tests/reliability/kill_loop.py (CI runs it with two kills): a portal on the
emulator, REST latency 20 ms so the worker is usually mid-batch, reconciliation off so the inbox
alone carries events, leases of 2 s. Each round adds `--burst` badly typed contacts (each
delivering ONCRMCONTACTADD), SIGKILLs the service at a random point in the middle of the burst,
lets the rest of the burst meet the dead service (Bitrix24 does not redeliver those), and starts
it again. At the end every contact whose ADD delivery was answered 200 must be normalized.

Prints a table; writes bench/results/killloop.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.kill_loop import kill_loop
from rig import ROOT, database, print_table, write_results


async def campaign(kind: str, kills: int, burst: int) -> dict[str, object]:
    async with database(kind) as url:
        report = await kill_loop(url, kills=kills, burst=burst, settle=300.0)
    return {"database": kind, **report.as_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--databases", default="postgresql,sqlite")
    args = parser.parse_args()
    results = []
    for kind in args.databases.split(","):
        print(f"{kind}: {args.kills} kills …", flush=True)
        results.append(asyncio.run(campaign(kind, args.kills, args.burst)))
        print(f"  {results[-1]}", flush=True)
    print()
    print_table(
        ["database", "kills", "contacts", "acknowledged", "refused while down", "lost", "seconds"],
        [
            [
                r["database"],
                r["kills"],
                r["contacts"],
                r["acknowledged"],
                r["refused_while_down"],
                r["acknowledged_lost"],
                r["seconds"],
            ]
            for r in results
        ],
    )
    path = write_results("killloop", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
