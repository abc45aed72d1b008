"""Burst: 1,000 contacts imported into one portal, under the emulator's real limits.

    .venv/bin/python bench/burst.py [--contacts 1000] [--contenders namecase,lesson,lesson-retry]
                                    [--timeout 3600] [--code old=/tmp/nc-old/src,new=src]
    .venv/bin/python bench/burst.py --contenders namecase-online,namecase-offline

Each contender gets a fresh emulator and a fresh portal on the basic plan (leaky bucket 50 deep,
draining 2 requests/s, bitrix24-protocol.md §6) and the same import: `--contacts` contacts with
badly typed names (fixed seed), added as fast as the emulator takes them, each delivering
ONCRMCONTACTADD. Measured per contender, from the first add:

- time until every contact has its normalized names in the portal;
- REST requests the portal received until the whole thing is quiet (our own updates fire
  ONCRMCONTACTUPDATE echoes, which must be read and left alone), and how many were refused 503.

Contenders:

- `namecase`: `namecase serve` with its in-process worker on a throw-away PostgreSQL database,
  default settings (batch window 0.5 s, reconciliation every 60 s); once per `--code` contender
  (named `namecase[old]`, `namecase[new]`, … when there are several), in the order given;
- `namecase-online`, `namecase-offline` (issue 13): the same on a Professional portal (the same
  bucket, 50 deep and 2/s), with NAMECASE_EVENT_MODE=online and =auto, so the two event modes
  run side by side: ONCRMCONTACTADD deliveries and echoes, against the offline queue collected
  (reserve, commit, confirm) with our writes kept out of it by our auth_connector;
- `lesson`: bench/lesson.py as written in the Bitrix24 lesson: get + update inline per event;
  a refused call fails the delivery and the event is gone;
- `lesson-retry`: the same handler retrying 503s with backoff until they pass (slow: the bucket
  lets 2 requests/s through, so about 25 minutes for 1,000 contacts).

Prints a table; writes bench/results/burst.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from namecase.emulator import Emulator
from namecase.emulator import Portal as EmulatedPortal
from namecase.emulator.hosts import loopback_client
from namecase.names import normalize_name
from rig import (
    PYTHON,
    ROOT,
    Code,
    ServiceProcess,
    check_codes,
    codes,
    database,
    emulator,
    free_port,
    install_portals,
    print_table,
    running,
    write_results,
)

FIRST = ["иван", "мария", "пётр", "анна", "сергей", "ольга", "john", "mary", "анна-мария"]
LAST = ["петров", "иванова", "сидоров-водкин", "o'brien", "smith", "ван дер берг", "кузнецов"]
FIELDS = {"NAME": "first", "LAST_NAME": "last"}
Busy = Callable[[], Awaitable[bool]]


async def never_busy() -> bool:
    return False


def badly_typed(count: int, seed: int = 8) -> list[dict[str, str]]:
    """`count` contacts whose names all need fixing: lower case, CAPS or Caps Lock inverted."""
    rng = random.Random(seed)
    contacts = []
    for _ in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        style = rng.choice((str.lower, str.upper, str.swapcase))
        contact = {"NAME": style(first.title()), "LAST_NAME": style(last.title())}
        if all(normalize_name(v, FIELDS[k]) == v for k, v in contact.items()):
            contact["NAME"] = first.upper()
        contacts.append(contact)
    return contacts


def expected(contact: dict[str, str]) -> dict[str, str | None]:
    return {key: normalize_name(value, FIELDS[key]) for key, value in contact.items()}


class Import:
    """One import into one portal, and watching it get normalized."""

    def __init__(self, emu: Emulator, portal: EmulatedPortal, contacts: list[dict[str, str]]):
        self.emu = emu
        self.portal = portal
        self.contacts = contacts
        self.ids: list[int] = []
        self.started = 0.0

    async def run(self) -> None:
        for contact in self.contacts:
            self.ids.append(await self.emu.user_add_contact(self.portal.member_id, contact))

    def normalized(self) -> int:
        done = 0
        for record_id, contact in zip(self.ids, self.contacts, strict=False):
            record = self.emu.contact(self.portal.member_id, record_id)
            if all(record.get(k) == v for k, v in expected(contact).items()):
                done += 1
        return done

    async def wait_normalized(self, limit: float, quiet: float, busy: Busy) -> float | None:
        """Seconds from the first add until all are normalized; None if that never happens
        (nothing changes for `quiet` seconds once nothing is in progress) or on timeout."""
        last_change, last_seen = time.monotonic(), (-1, -1)
        while time.monotonic() - self.started < limit:
            if len(self.ids) == len(self.contacts) and self.normalized() == len(self.contacts):
                return time.monotonic() - self.started
            seen = (self.normalized(), self.emu.stats(self.portal.member_id).total_requests)
            if seen != last_seen:
                last_change, last_seen = time.monotonic(), seen
            idle = self.emu.dispatcher.pending == 0 and not await busy()
            if idle and time.monotonic() - last_change > quiet:
                return None
            await asyncio.sleep(0.25)
        return None

    async def wait_quiet(self, quiet: float, limit: float, busy: Busy) -> None:
        """Until no delivery is pending and the portal got no request for `quiet` seconds."""
        stats = self.emu.stats(self.portal.member_id)
        last, since = stats.total_requests, time.monotonic()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            working = self.emu.dispatcher.pending or stats.in_flight or await busy()
            if stats.total_requests != last or working:
                last, since = stats.total_requests, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return


async def run_namecase(
    contacts: list[dict[str, str]],
    args: argparse.Namespace,
    code: Code,
    mode: str | None = None,
) -> dict[str, Any]:
    """`mode` None: the basic plan, default settings; "online"/"auto": a Professional portal
    with NAMECASE_EVENT_MODE set so."""
    settings: dict[str, object] = {} if mode is None else {"event_mode": mode}
    plan = "basic" if mode is None else "professional"
    async with emulator() as emu, database("postgresql", code) as url:
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"namecase-bench-burst-{code.name}.log"  # noqa: S108
        service = ServiceProcess.serve(
            url, emu.base_url, cpu=None, code=code, worker=True, log_path=log, **settings
        )
        async with running(service):
            (portal,) = await install_portals(emu, service.url, 1, plan=plan)
            await asyncio.sleep(2.0)  # let the worker's start-up pass settle
            return await measure(emu, portal, contacts, args, never_busy)


async def run_lesson(
    contacts: list[dict[str, str]], args: argparse.Namespace, retry: bool
) -> dict[str, Any]:
    port = free_port()
    command = [PYTHON, str(ROOT / "bench" / "lesson.py"), "--port", str(port)]
    lesson = ServiceProcess([*command, *(["--retry"] if retry else [])], dict(os.environ), port)
    async with emulator() as emu, running(lesson):
        portal = emu.add_portal()
        await emu.install_app(portal.member_id, install_url=f"{lesson.url}/install")
        await bind_lesson(emu, portal, f"{lesson.url}/events")
        async with httpx.AsyncClient() as http:

            async def handlers_working() -> bool:
                # Handlers keep retrying after the emulator gave up on their delivery.
                return bool((await http.get(f"{lesson.url}/stats")).json()["active"])

            result = await measure(emu, portal, contacts, args, handlers_working)
            result["handler"] = (await http.get(f"{lesson.url}/stats")).json()
        return result


async def bind_lesson(emu: Emulator, portal: EmulatedPortal, handler: str) -> None:
    """Bind the lesson's handler the way its install page would, then finish the install."""
    tokens = emu.frame_tokens(portal.member_id)
    async with loopback_client() as http:
        for event in ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE"):
            response = await http.post(
                f"{portal.client_endpoint}event.bind",
                json={"event": event, "handler": handler, "auth": tokens.access_token},
            )
            response.raise_for_status()
    emu.finish_install(portal.member_id)


async def measure(
    emu: Emulator,
    portal: EmulatedPortal,
    contacts: list[dict[str, str]],
    args: argparse.Namespace,
    busy: Busy,
) -> dict[str, Any]:
    stats = emu.stats(portal.member_id)
    requests_before, refused_before = stats.total_requests, stats.rejected_503
    methods_before = dict(stats.calls_by_method)
    burst = Import(emu, portal, contacts)
    burst.started = time.monotonic()
    adding = asyncio.create_task(burst.run())
    seconds = await burst.wait_normalized(args.timeout, quiet=30.0, busy=busy)
    await adding
    await burst.wait_quiet(quiet=5.0, limit=args.timeout, busy=busy)
    deliveries = [d for d in emu.deliveries if d.member_id == portal.member_id]
    return {
        "contacts": len(contacts),
        "seconds_to_all_normalized": seconds,
        "normalized": burst.normalized(),
        "rest_requests": stats.total_requests - requests_before,
        "refused_503": stats.rejected_503 - refused_before,
        "calls_by_method": {  # top-level requests and the calls inside batches, since the add
            method: count - methods_before.get(method, 0)
            for method, count in stats.calls_by_method.items()
            if count > methods_before.get(method, 0)
        },
        "reads_per_contact": sum(stats.reads_per_record[("contact", i)] for i in burst.ids)
        / max(1, len(burst.ids)),
        "offline_kept_out": stats.offline_suppressed,  # our writes not queued for us
        "deliveries": len(deliveries),
        "deliveries_failed": sum(1 for d in deliveries if not d.ok),
        "seconds_until_quiet": time.monotonic() - burst.started,
    }


def rows(results: dict[str, dict[str, Any]]) -> list[list[object]]:
    # The lessons are compared with the last namecase contender (the newest code, by convention).
    ours = next((r for n, r in reversed(results.items()) if n.startswith("namecase")), None)
    table = []
    for name, result in results.items():
        seconds = result["seconds_to_all_normalized"]
        calls_ratio = (
            f"{result['rest_requests'] / ours['rest_requests']:.0f}x"
            if ours and not name.startswith("namecase")
            else "-"
        )
        time_ratio = (
            f"{seconds / ours['seconds_to_all_normalized']:.0f}x"
            if ours
            and seconds
            and ours["seconds_to_all_normalized"]
            and not name.startswith("namecase")
            else ("never" if seconds is None else "-")
        )
        table.append(
            [
                name,
                f"{result['normalized']}/{result['contacts']}",
                f"{seconds:.1f}" if seconds is not None else "never",
                result["rest_requests"],
                f"{result.get('reads_per_contact', 0):.2f}",
                result["refused_503"],
                calls_ratio,
                time_ratio,
                result["deliveries_failed"],
            ]
        )
    return table


async def main_async(args: argparse.Namespace, ours: list[Code]) -> dict[str, dict[str, Any]]:
    contacts = badly_typed(args.contacts)
    results: dict[str, dict[str, Any]] = {}
    for contender in args.contenders.split(","):
        if contender in ("namecase-online", "namecase-offline"):
            mode = "online" if contender.endswith("online") else "auto"
            print(f"running {contender} …", flush=True)
            results[contender] = await run_namecase(contacts, args, ours[-1], mode)
            print(f"  {results[contender]}", flush=True)
            continue
        if contender != "namecase":
            print(f"running {contender} …", flush=True)
            results[contender] = await run_lesson(contacts, args, retry=contender.endswith("retry"))
            print(f"  {results[contender]}", flush=True)
            continue
        for code in ours:
            name = f"namecase[{code.name}]" if len(ours) > 1 else "namecase"
            print(f"running {name} …", flush=True)
            results[name] = await run_namecase(contacts, args, code)
            print(f"  {results[name]}", flush=True)
    return results


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, described: Any) -> None:
    headers = [
        "contender",
        "normalized",
        "seconds to all",
        "REST requests",
        "reads per contact",
        "refused 503",
        "requests ÷ namecase",
        "time ÷ namecase",
        "failed deliveries",
    ]
    print()
    print_table(headers, rows(results))
    payload = {"settings": vars(args), "code": described, "results": results}
    path = write_results("burst", payload)
    print(f"\nresults written to {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--contenders", default="namecase,lesson,lesson-retry")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--code", default="current=src", help="name=src,… : the namecase code each contender runs"
    )
    args = parser.parse_args()
    ours = codes(args.code)
    described = check_codes(ours)
    report(asyncio.run(main_async(args, ours)), args, described)


if __name__ == "__main__":
    main()
