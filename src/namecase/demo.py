"""`namecase demo`: the whole path on one machine — emulator, service, worker — then a table.

Starts the Bitrix24 emulator and the service (embedded SQLite in a temporary folder, worker
in-process) on free loopback ports, installs the app on an emulated portal the way the installer
frame does, lets a simulated user type badly cased names, and shows what the portal holds
afterwards and how long each fix took. Everything it started is stopped before it returns.

The portal is on the Professional plan, so the app uses offline events (issue 13): the demo says
which mode the install chose, and why when it is online (`plan="basic"` shows that).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from namecase.app import create_app
from namecase.emulator import PORTAL_DOMAIN_SUFFIX, Emulator, serve_emulator
from namecase.names import normalize_name
from namecase.portals.repository import PortalRepository
from namecase.runtime import Runtime
from namecase.serving import free_port, serve
from namecase.settings import Settings

SAMPLES: tuple[dict[str, str], ...] = (
    {"NAME": "иВАН", "SECOND_NAME": "петрович", "LAST_NAME": "СИДОРОВ"},
    {"NAME": "анна-мария", "LAST_NAME": "римская-корсакова"},
    {"NAME": "людвиг", "LAST_NAME": "ван бетховен"},
    {"NAME": "ГУСЕЙН", "LAST_NAME": "гусейнов оглы"},
    {"NAME": "мар'яна", "LAST_NAME": "ДЕРЕВ'ЯНКО"},
    {"NAME": "john", "LAST_NAME": "o'neill"},
    {"NAME": "ronald", "LAST_NAME": "mcdonald"},
    {"NAME": "Mary", "LAST_NAME": "DeVito"},  # deliberate mixed case: kept
    {"NAME": "Анна", "LAST_NAME": "Иванова"},  # already right: never written
)
FIELDS = ("NAME", "SECOND_NAME", "LAST_NAME")
# Credentials shared by the demo's own emulator and service only; nothing real.
DEMO_CLIENT_ID = "local.namecase.demo"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105


@dataclass(frozen=True)
class DemoRow:
    before: str
    after: str
    seconds: float | None  # None: nothing to fix, so nothing was written


def _full_name(record: dict[str, object]) -> str:
    return " ".join(str(record[f]) for f in FIELDS if record.get(f))


async def run_demo(
    echo: Callable[[str], None] = print, wait: float = 30.0, plan: str = "professional"
) -> list[DemoRow]:
    """Run the demo and return its rows (also printed through `echo`)."""
    emulator = Emulator(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    with tempfile.TemporaryDirectory(prefix="namecase-demo-") as folder:
        async with serve_emulator(emulator) as emulator_url:
            port = free_port()
            settings = Settings(
                database_url=f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}",
                public_url=f"http://127.0.0.1:{port}",
                oauth_servers=(emulator_url,),
                allow_http=True,
                # Each emulated portal is its own host on the emulator's port (demo.bitrix24.test);
                # the service resolves those names to 127.0.0.1 (docs/EMULATOR.md).
                emulator_hosts=(PORTAL_DOMAIN_SUFFIX,),
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
                worker=True,
                batch_window=0.1,
                log_level="WARNING",
            )
            from namecase import migration

            await asyncio.to_thread(migration.upgrade, settings.database_url)
            app = create_app(settings)
            async with serve(app, port) as app_url:
                echo(f"emulator at {emulator_url}, namecase at {app_url}")
                portal = emulator.add_portal(domain=f"demo.{PORTAL_DOMAIN_SUFFIX}", plan=plan)
                response = await emulator.install_app(
                    portal.member_id, install_url=f"{app_url}/install", lang="en"
                )
                if response.status_code != 200:
                    raise RuntimeError(f"install failed: HTTP {response.status_code}")
                echo(f"installed on {portal.domain} (member_id {portal.member_id}, plan {plan})")
                echo(await _event_mode_line(app.state.runtime, portal.member_id) + "\n")
                rows = await _type_and_watch(emulator, portal.member_id, wait)
                kept_out = emulator.stats(portal.member_id).offline_suppressed
    _print_table(rows, echo)
    if kept_out:
        echo(
            f"\n{kept_out} of our writes carried our auth_connector and were kept out of the queue"
        )
    return rows


async def _event_mode_line(runtime: Runtime, member_id: str) -> str:
    """Which way the portal's changes reach the service (portals/event_modes.py)."""
    async with runtime.sessions() as session:
        stored = await PortalRepository(session).get(member_id)
    if stored is None:
        return "events: unknown (the portal was not stored)"
    if stored.event_mode == "offline":
        how = "reserve/confirm" if stored.offline_extended else "clear on read"
        return f"events: offline (Bitrix24's queue, {how}; our writes carry our auth_connector)"
    return f"events: online ({stored.event_mode_reason or 'as chosen'})"


async def _type_and_watch(emulator: Emulator, member_id: str, wait: float) -> list[DemoRow]:
    started: dict[int, float] = {}
    typed: dict[int, str] = {}
    for sample in SAMPLES:
        contact_id = await emulator.user_add_contact(member_id, dict(sample))
        started[contact_id] = time.monotonic()
        typed[contact_id] = _full_name(dict(sample))
    fixed: dict[int, float] = {}
    expected = sum(1 for sample in SAMPLES if _needs_fix(sample))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for contact_id in started:
            stats = emulator.stats(member_id).updates_per_record
            if contact_id not in fixed and stats.get(("contact", contact_id), 0) > 0:
                fixed[contact_id] = time.monotonic() - started[contact_id]
        if len(fixed) == expected:
            await asyncio.sleep(1.0)  # let the echo events pass, to show nothing more happens
            break
        await asyncio.sleep(0.02)
    return [
        DemoRow(
            before=typed[contact_id],
            after=_full_name(emulator.contact(member_id, contact_id)),
            seconds=fixed.get(contact_id),
        )
        for contact_id in started
    ]


def _needs_fix(sample: dict[str, str]) -> bool:
    kinds = {"NAME": "first", "SECOND_NAME": "middle", "LAST_NAME": "last"}
    return any(normalize_name(value, kinds[field]) != value for field, value in sample.items())


def _print_table(rows: list[DemoRow], echo: Callable[[str], None]) -> None:
    width = max(len(row.before) for row in rows) + 2
    echo(f"{'typed by the user':<{width}}{'after namecase':<{width}}fixed in")
    for row in rows:
        took = f"{row.seconds:.2f} s" if row.seconds is not None else "— (already right)"
        echo(f"{row.before:<{width}}{row.after:<{width}}{took}")
