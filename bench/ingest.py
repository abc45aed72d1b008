"""Ingest: /events accepted per second and latency, beside a bare FastAPI endpoint, same run.

    .venv/bin/python bench/ingest.py [--duration 10] [--warmup 2] [--connections 32] [--rate 500]
                                     [--targets bare,postgresql,sqlite]

Each target runs as its own process pinned to core 0: the bare endpoint (FastAPI, reads the
body, answers a small JSON, no middleware), then `namecase serve` with NAMECASE_WORKER=false on
a throw-away PostgreSQL database (127.0.0.1:5432, user postgres) and on a throw-away SQLite
file. The load generator (bench/loadgen.py, raw keep-alive sockets) runs on core 1 and sends
real ONCRMCONTACTUPDATE delivery bodies, each for a different record, so no two are folded into
one inbox row. Two loads per target:

- closed loop at `--connections` connections: accepted/s, p50, p99;
- open loop at `--rate` events/s offered: p50, p99 (counted from each request's scheduled time).

After each target, every acknowledged event (200) is looked up in the inbox: acknowledged and not
committed must be 0. Prints a table; writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rig import (
    LOAD_CPU,
    PYTHON,
    ROOT,
    SERVICE_CPU,
    Rows,
    ServiceProcess,
    database,
    emulator,
    event_body,
    free_port,
    install_portals,
    pin,
    print_table,
    running,
    write_results,
)

LOADGEN = ROOT / "bench" / "loadgen.py"


def bare_app() -> Any:
    """The yardstick: a FastAPI endpoint that reads the body and answers, nothing else."""
    app = FastAPI()

    @app.post("/events")
    async def events(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "accepted"})

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


def serve_bare(port: int) -> None:
    """Serve the bare app as `namecase serve` serves ours (uvicorn defaults: uvloop, httptools)."""
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_config=None, access_log=False)


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run bench/loadgen.py with `spec` in a process of its own; its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        str(LOADGEN),
        handle.name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    os.unlink(handle.name)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed ({process.returncode}):\n{err.decode()}")
    result: dict[str, Any] = json.loads(out)
    return result


async def measure(
    port: int, template: str, args: argparse.Namespace, first_id: int
) -> dict[str, Any]:
    base = {
        "host": "127.0.0.1",
        "port": port,
        "path": "/events",
        "template": template,
        "cpu": LOAD_CPU,
        "warmup": args.warmup,
        "duration": args.duration,
    }
    closed = await load(
        {**base, "mode": "closed", "connections": args.connections, "first_id": first_id}
    )
    opened = await load(
        {
            **base,
            "mode": "open",
            "connections": args.connections,
            "rate": args.rate,
            "first_id": first_id + 10_000_000,
        }
    )
    return {"closed": closed, "open": opened}


async def committed(url: str, member_id: str, accepted: list[int]) -> dict[str, int]:
    """How many acknowledged events are in the inbox (and how many are missing)."""
    rows = Rows(url)
    found = int(
        await rows.scalar(
            "SELECT count(*) FROM inbox WHERE member_id = $1 AND entity_id >= 1000000", member_id
        )
    )
    versions = int(
        await rows.scalar(
            "SELECT coalesce(sum(version), 0) FROM inbox WHERE member_id = $1 "
            "AND entity_id >= 1000000",
            member_id,
        )
    )
    ids = await _ids(url, member_id)
    missing = len(set(accepted) - ids)
    return {
        "acknowledged": len(accepted),
        "inbox_rows": found,
        "versions": versions,
        "acknowledged_not_committed": missing,
    }


async def _ids(url: str, member_id: str) -> set[int]:
    if url.startswith("sqlite"):
        import aiosqlite

        async with aiosqlite.connect(url.split(":///", 1)[1]) as connection:
            cursor = await connection.execute(
                "SELECT entity_id FROM inbox WHERE member_id = ?", (member_id,)
            )
            return {int(row[0]) for row in await cursor.fetchall()}
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        records = await connection.fetch(
            "SELECT entity_id FROM inbox WHERE member_id = $1", member_id
        )
        return {int(r[0]) for r in records}
    finally:
        await connection.close()


async def run_bare(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    bare = ServiceProcess(
        [PYTHON, str(Path(__file__)), "--serve-bare", str(port)], {}, port, SERVICE_CPU
    )
    bare.env = dict(os.environ)
    async with running(bare):
        template = "event=ONCRMCONTACTUPDATE&data%5BFIELDS%5D%5BID%5D={ID}&" + "x" * 600
        result = await measure(port, template, args, 1_000_000)
        result["cpu_seconds"] = bare.cpu_seconds()
        return result


async def run_service(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    async with emulator() as emu, database(kind) as url:
        log = Path(tempfile.gettempdir()) / f"namecase-bench-ingest-{kind}.log"
        log.unlink(missing_ok=True)
        service = ServiceProcess.serve(
            url, emu.base_url, worker=False, reconcile_interval=0, log_path=log
        )
        async with running(service):
            (portal,) = await install_portals(emu, service.url, 1)
            template = await event_body(emu, portal)
            result = await measure(service.port or 0, template, args, 1_000_000)
            result["cpu_seconds"] = service.cpu_seconds()
        accepted = result["closed"].pop("accepted_ids") + result["open"].pop("accepted_ids")
        result["durability"] = await committed(url, portal.member_id, accepted)
        result["body_bytes"] = len(template)
        return result


def summarize(results: dict[str, dict[str, Any]]) -> list[list[object]]:
    bare_rate = results.get("bare", {}).get("closed", {}).get("rate")
    rows: list[list[object]] = []
    for name, result in results.items():
        closed, opened = result["closed"], result["open"]
        durability = result.get("durability", {})
        rows.append(
            [
                name,
                closed["rate"],
                f"{closed['rate'] / bare_rate:.2f}" if bare_rate else "-",
                closed["p50_ms"],
                closed["p99_ms"],
                opened["rate"],
                opened["p50_ms"],
                opened["p99_ms"],
                opened["max_ms"],
                ", ".join(f"{k}:{v}" for k, v in sorted({**closed["statuses"]}.items())),
                durability.get("acknowledged_not_committed", "-"),
            ]
        )
    return rows


async def main_async(args: argparse.Namespace) -> None:
    pin(LOAD_CPU)  # the driver and the emulator stay off the server's core
    results: dict[str, dict[str, Any]] = {}
    for target in args.targets.split(","):
        print(f"measuring {target} …", flush=True)
        results[target] = await (run_bare(args) if target == "bare" else run_service(target, args))
    for result in results.values():
        for shape in ("closed", "open"):
            result[shape].pop("accepted_ids", None)
    headers = [
        "target",
        "accepted/s @32",
        "÷ bare",
        "p50 ms",
        "p99 ms",
        "offered 500/s: done/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "statuses @32",
        "acked, not committed",
    ]
    print()
    print_table(headers, summarize(results))
    path = write_results("ingest", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--targets", default="bare,postgresql,sqlite")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
