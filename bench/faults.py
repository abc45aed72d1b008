"""Fault matrix: one fault of the portal (or of event delivery) at a time → what happens.

    .venv/bin/python bench/faults.py [--contacts 20] [--only NAME,NAME]

Each row is a fresh throw-away PostgreSQL database, a fresh emulator and the service on loopback
(tests/support/stack.py: the same stack the tests use, worker driven to completion). A portal is
installed, the fault is switched on, `--contacts` badly typed contacts are added (each delivering
ONCRMCONTACTADD), and the pipeline runs until nothing is left to do (at most 90 s). Reported per
fault: contacts normalized, records updated twice (must be 0), REST requests, what the emulator
injected or refused, token refreshes, the portal's state afterwards and items left over.

Prints a table; writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx
from sqlalchemy import func, select

from namecase.emulator import Portal as EmulatedPortal
from namecase.portals.models import Portal
from namecase.queue.models import InboxItem
from rig import ROOT, database, print_table, write_results
from support.stack import Stack, running_stack

BAD = {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ-водкин"}
FIXED = {"NAME": "Иван", "LAST_NAME": "Петров-Водкин"}

Arrange = Callable[[Stack, EmulatedPortal], Awaitable[None]]


async def nothing(stack: Stack, portal: EmulatedPortal) -> None:
    return None


async def server_errors(stack: Stack, portal: EmulatedPortal) -> None:
    faults = stack.emulator.faults(portal.member_id)
    faults.error_next, faults.error_rate = 3, 0.2


async def timeouts(stack: Stack, portal: EmulatedPortal) -> None:
    faults = stack.emulator.faults(portal.member_id)
    faults.timeout_next, faults.timeout_rate, faults.timeout_seconds = 2, 0.1, 2.0


async def resets(stack: Stack, portal: EmulatedPortal) -> None:
    faults = stack.emulator.faults(portal.member_id)
    faults.reset_next, faults.reset_rate = 2, 0.1


async def small_bucket(stack: Stack, portal: EmulatedPortal) -> None:
    portal.bucket.depth = 3  # we assume 50: the portal refuses with 503 QUERY_LIMIT_EXCEEDED


async def expired_tokens(stack: Stack, portal: EmulatedPortal) -> None:
    stack.emulator.expire_access_tokens(portal.member_id)


async def renamed(stack: Stack, portal: EmulatedPortal) -> None:
    stack.emulator.rename_portal(portal.member_id, "renamed.bitrix24.test")


async def payment_required(stack: Stack, portal: EmulatedPortal) -> None:
    stack.emulator.set_payment_required(portal.member_id)


async def revoked(stack: Stack, portal: EmulatedPortal) -> None:
    stack.emulator.revoke_tokens(portal.member_id)  # calls NO_AUTH_FOUND, refresh invalid_grant


async def refresh_spent(stack: Stack, portal: EmulatedPortal) -> None:
    """Another party used our refresh token (it rotates): our next refresh gets invalid_grant."""
    async with stack.runtime.sessions() as session:
        stored = await session.get(Portal, portal.member_id)
    assert stored is not None and stored.refresh_token_enc is not None
    refresh_token = stack.runtime.cipher.decrypt(stored.refresh_token_enc)
    async with httpx.AsyncClient() as http:
        response = await http.get(
            stack.emulator.oauth_token_url,
            params={
                "grant_type": "refresh_token",
                "client_id": stack.settings.client_id,
                "client_secret": stack.settings.client_secret,
                "refresh_token": refresh_token,
            },
        )
    response.raise_for_status()
    stack.emulator.expire_access_tokens(portal.member_id)


async def dropped(stack: Stack, portal: EmulatedPortal) -> None:
    stack.emulator.faults(portal.member_id).drop_next_events = 5


SCENARIOS: dict[str, tuple[str, Arrange, dict[str, Any]]] = {
    "none": ("no fault (reference)", nothing, {}),
    "5xx": ("500 on the next 3 calls, then 20% of calls", server_errors, {}),
    "timeout": ("no answer (next 2, then 10%); our timeout 0.5 s", timeouts, {"rest_timeout": 0.5}),
    "reset": ("TCP reset (next 2, then 10%)", resets, {}),
    "503": ("bucket 3 deep while we assume 50: 503s", small_bucket, {}),
    "expired": ("every access token expired", expired_tokens, {}),
    "302": ("portal renamed: 302 to the new domain", renamed, {}),
    "payment": ("PAYMENT_REQUIRED on calls and refresh", payment_required, {}),
    "revoked": ("tokens revoked: every call NO_AUTH_FOUND", revoked, {}),
    "invalid_grant": ("token expired, refresh token spent elsewhere", refresh_spent, {}),
    "dropped": ("5 deliveries dropped, reconciliation off", dropped, {}),
    "dropped+sweep": (
        "5 deliveries dropped, reconciliation on",
        dropped,
        {"reconcile_interval": 1},
    ),
}


async def run(name: str, contacts: int) -> dict[str, Any]:
    description, arrange, overrides = SCENARIOS[name]
    async with database("postgresql") as url, running_stack(url, **overrides) as stack:
        portal = await stack.installed_portal()
        stats = stack.emulator.stats(portal.member_id)
        requests, refreshes = stats.total_requests, stats.refreshes
        await arrange(stack, portal)
        started = time.monotonic()
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, dict(BAD))
            for _ in range(contacts)
        ]
        settled = await settle(stack, overrides.get("reconcile_interval", 0))
        seconds = time.monotonic() - started
        normalized = sum(
            all(stack.emulator.contact(portal.member_id, i)[k] == v for k, v in FIXED.items())
            for i in ids
        )
        async with stack.runtime.sessions() as session:
            stored = await session.get(Portal, portal.member_id)
            left = (
                await session.execute(
                    select(InboxItem.state, func.count())
                    .where(InboxItem.state != "done")
                    .group_by(InboxItem.state)
                )
            ).all()
        deliveries = [d for d in stack.emulator.deliveries if d.member_id == portal.member_id]
    return {
        "fault": name,
        "description": description,
        "contacts": contacts,
        "normalized": normalized,
        "updated_twice": sum(1 for n in stats.updates_per_record.values() if n > 1),
        "rest_requests": stats.total_requests - requests,
        "injected": stats.injected_errors + stats.injected_timeouts + stats.injected_resets,
        "refused_503": stats.rejected_503,
        "redirects_302": stats.redirects_302,
        "refreshes": stats.refreshes - refreshes,
        "deliveries_dropped": sum(1 for d in deliveries if d.dropped),
        "deliveries_refused": sum(1 for d in deliveries if not d.ok and not d.dropped),
        "portal_state": stored.state if stored else None,
        "left_in_inbox": {state: int(count) for state, count in left},
        "settled": settled,
        "seconds": round(seconds, 1),
    }


async def settle(stack: Stack, reconcile_interval: float) -> bool:
    """Drive the worker until nothing is left (a sweep interval included when it is on)."""
    try:
        await stack.drain(seconds=90)
        if reconcile_interval:
            await asyncio.sleep(reconcile_interval + 0.5)
            await stack.drain(seconds=90)
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    args = parser.parse_args()
    results = []
    for name in args.only.split(","):
        print(f"{name} …", flush=True)
        results.append(asyncio.run(run(name, args.contacts)))
        print(f"  {results[-1]}", flush=True)
    print()
    print_table(
        [
            "fault",
            "normalized",
            "twice",
            "requests",
            "injected",
            "503",
            "302",
            "refreshes",
            "dropped",
            "state",
            "left",
        ],
        [
            [
                r["fault"],
                f"{r['normalized']}/{r['contacts']}",
                r["updated_twice"],
                r["rest_requests"],
                r["injected"],
                r["refused_503"],
                r["redirects_302"],
                r["refreshes"],
                r["deliveries_dropped"],
                r["portal_state"],
                ",".join(f"{k}:{v}" for k, v in r["left_in_inbox"].items()) or "-",
            ]
            for r in results
        ],
    )
    path = write_results("faults", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
