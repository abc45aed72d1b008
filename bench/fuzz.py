"""Fuzzing, the long campaign: generated requests on /events, /install and /app.

    .venv/bin/python bench/fuzz.py [--examples 2000] [--databases postgresql,sqlite]

The campaign is tests/reliability/fuzzing.py (CI sends 120 fixed inputs per route): Hypothesis
builds raw bytes, PHP-style forms of Bitrix24's keys with arbitrary values, and real deliveries
or frames with parts changed, and sends each over HTTP to the service on loopback, with the
emulator behind it. Here the inputs are random (a new draw every run) and many more. Checked on
every answer: no 5xx, and after a refused request (4xx) every table has the same row count.

Prints a table; writes bench/results/fuzz.json (with the first failing inputs, if any).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.fuzzing import (
    EVENT_KEYS,
    FuzzReport,
    bodies,
    delivery,
    frames,
    fuzz,
    get_frame,
    post_form,
    post_frame,
)
from rig import ROOT, database, print_table, write_results
from support.stack import running_stack


async def campaign(kind: str, examples: int) -> list[FuzzReport]:
    async with database(kind) as url, running_stack(url) as stack:
        portal = await stack.installed_portal()
        emulator = stack.emulator
        query = emulator.frame_query(portal, "ru")
        form = emulator.frame_form(portal, emulator.frame_tokens(portal.member_id))
        runs = [
            ("/events", bodies(EVENT_KEYS, delivery(portal)), post_form("/events")),
            ("/install", frames(query, form), post_frame("/install")),
            ("POST /app", frames(query, form), post_frame("/app")),
            ("GET /app", frames(query, form), get_frame("/app")),
        ]
        reports = []
        for route, strategy, send in runs:
            print(f"  {kind} {route} …", flush=True)
            reports.append(await fuzz(stack, route, strategy, send, examples, derandomize=False))
        return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs per route")
    parser.add_argument("--databases", default="postgresql,sqlite")
    args = parser.parse_args()
    results = []
    for kind in args.databases.split(","):
        for report in asyncio.run(campaign(kind, args.examples)):
            results.append(
                {
                    "database": kind,
                    **report.as_dict(),
                    "first_5xx": [repr(v) for v in report.server_errors[:5]],
                    "first_rows_written": report.rows_written_by_rejected[:5],
                }
            )
    print()
    print_table(
        ["database", "route", "inputs", "statuses", "5xx", "rows by refused"],
        [
            [
                r["database"],
                r["route"],
                r["inputs_tried"],
                " ".join(f"{k}:{v}" for k, v in r["statuses"].items()),
                r["5xx"],
                r["rows_written_by_rejected_requests"],
            ]
            for r in results
        ],
    )
    path = write_results("fuzz", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
