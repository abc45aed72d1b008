"""Refresh race: processes × token expiries → refreshes at the OAuth server, invalid_grant.

    .venv/bin/python bench/refresh_race.py [--processes 2,4,8] [--expiries 10] [--calls 3]

Bitrix24 rotates the refresh token on every use (bitrix24-protocol.md §4): if two processes
refresh the same portal at once, the second spends a dead token (invalid_grant) and the portal
is lost until reinstalled. namecase serializes refreshes with a row lock and re-reads the row
after taking it (DESIGN.md §5).

Set-up: a throw-away PostgreSQL database, the emulator, one portal installed through
`namecase serve`. For each process count P: P OS processes load the portal from the database
(this file run with `--child`); then, `--expiries` times, every access token of the portal is
expired and every process makes `--calls` concurrent `crm.contact.get` calls with the stored
token, all released at once. The portal's rate limit is lifted: in production only the lease
holder calls a portal, here every process does. Counted: refreshes the OAuth server performed
(the ideal is one per expiry), calls that failed, invalid_grant answers, the portal's state.
The approach follows tests/portals/test_refresh_race.py, repeated and scaled.

Prints a table; writes bench/results/refresh_race.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import (
    CLIENT_ID,
    CLIENT_SECRET,
    PORTAL_DOMAIN_SUFFIX,
    PYTHON,
    ROOT,
    SECRET_KEY,
    Rows,
    ServiceProcess,
    database,
    emulator,
    install_portals,
    print_table,
    running,
    write_results,
)


async def child() -> None:
    """One racing process: settings on the first stdin line, then one line per round."""
    from namecase.bitrix import BitrixError
    from namecase.portals.repository import PortalRepository
    from namecase.runtime import Runtime
    from namecase.settings import Settings

    loop = asyncio.get_running_loop()

    async def line() -> str:
        return await loop.run_in_executor(None, sys.stdin.readline)

    task = json.loads(await line())
    runtime = Runtime.start(Settings(**task["settings"]))
    try:
        print("ready", flush=True)
        while (await line()).strip() == "go":
            async with runtime.sessions() as session:
                portal = await PortalRepository(session).get(task["member_id"])
            assert portal is not None
            link = runtime.portals.link(portal)
            outcomes = await asyncio.gather(
                *(
                    runtime.bitrix.call(link, "crm.contact.get", {"id": task["contact_id"]})
                    for _ in range(task["calls"])
                ),
                return_exceptions=True,
            )
            errors = [
                f"{type(o).__name__}:{o.code if isinstance(o, BitrixError) else o}"
                for o in outcomes
                if isinstance(o, BaseException)
            ]
            print(json.dumps({"ok": len(outcomes) - len(errors), "errors": errors}), flush=True)
    finally:
        await runtime.close()


class Racers:
    """P child processes speaking the line protocol."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, task: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NAMECASE_")}
        for _ in range(self.count):
            self.processes.append(
                await asyncio.create_subprocess_exec(
                    PYTHON,
                    __file__,
                    "--child",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    env=env,
                )
            )
        await self.say(json.dumps(task))
        assert await self.hear() == ["ready"] * self.count

    async def say(self, text: str) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(text.encode() + b"\n")
        await asyncio.gather(*(p.stdin.drain() for p in self.processes if p.stdin))

    async def hear(self) -> list[str]:
        async def one(process: asyncio.subprocess.Process) -> str:
            assert process.stdout is not None
            return (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()

        return list(await asyncio.gather(*(one(p) for p in self.processes)))

    async def stop(self) -> None:
        await self.say("quit")
        for process in self.processes:
            await asyncio.wait_for(process.wait(), 30)


async def race(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    async with emulator() as emu, database("postgresql") as url:
        service = ServiceProcess.serve(url, emu.base_url, cpu=None, worker=False)
        async with running(service):
            # A bucket that never refuses: the race is about tokens, and in production only the
            # lease holder calls a portal, whereas these processes all call it at once.
            (portal,) = await install_portals(
                emu, service.url, 1, bucket_depth=100_000, drain_per_second=10_000
            )
            contact_id = await emu.user_add_contact(portal.member_id, {"NAME": "Анна"})
        settings = {
            "database_url": url,
            "secret_keys": [SECRET_KEY],
            "allow_http": True,
            "emulator_hosts": [PORTAL_DOMAIN_SUFFIX],
            "oauth_servers": [emu.base_url],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "log_level": "WARNING",
        }
        rows = Rows(url)
        for count in [int(p) for p in args.processes.split(",")]:
            racers = Racers(count)
            task = {
                "settings": settings,
                "member_id": portal.member_id,
                "contact_id": contact_id,
                "calls": args.calls,
            }
            await racers.start(task)
            before = emu.refresh_count
            errors: list[str] = []
            ok = 0
            try:
                for _ in range(args.expiries):
                    emu.expire_access_tokens(portal.member_id)
                    await racers.say("go")
                    for answer in await racers.hear():
                        outcome = json.loads(answer)
                        ok += outcome["ok"]
                        errors += outcome["errors"]
            finally:
                await racers.stop()
            state = await rows.scalar(
                "SELECT state FROM portals WHERE member_id = $1", portal.member_id
            )
            results.append(
                {
                    "processes": count,
                    "expiries": args.expiries,
                    "calls": count * args.calls * args.expiries,
                    "calls_ok": ok,
                    "refreshes_at_oauth_server": emu.refresh_count - before,
                    "invalid_grant": sum("invalid_grant" in e for e in errors),
                    "errors": errors,
                    "portal_state": state,
                }
            )
            print(f"  {results[-1]}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="2,4,8")
    parser.add_argument("--expiries", type=int, default=10)
    parser.add_argument("--calls", type=int, default=3, help="concurrent calls per process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child())
        return
    results = asyncio.run(race(args))
    print()
    print_table(
        ["processes", "expiries", "calls", "calls ok", "refreshes", "invalid_grant", "state"],
        [
            [
                r["processes"],
                r["expiries"],
                r["calls"],
                r["calls_ok"],
                r["refreshes_at_oauth_server"],
                r["invalid_grant"],
                r["portal_state"],
            ]
            for r in results
        ],
    )
    path = write_results("refresh_race", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
