"""The whole system on loopback: the Bitrix24 emulator and the namecase service, real HTTP between.

The worker is driven explicitly (`drain`) so tests are deterministic; tests of the worker loop
itself and of several processes start real worker processes instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from conftest import TEST_KEY, make_settings
from namecase.app import create_app
from namecase.emulator import PORTAL_DOMAIN_SUFFIX, Emulator, serve_emulator
from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.worker import Worker
from namecase.queue import inbox
from namecase.queue.models import InboxItem, PortalQueue
from namecase.runtime import Runtime
from namecase.settings import Settings
from support.servers import free_port, serve

CLIENT_ID = "local.namecase.test"
CLIENT_SECRET = "test-client-secret"
# Each emulated portal is its own host (acme.bitrix24.test on the emulator's port); the service
# resolves these names to 127.0.0.1 through NAMECASE_EMULATOR_HOSTS (docs/EMULATOR.md).
EMULATOR_HOSTS = (PORTAL_DOMAIN_SUFFIX,)


@dataclass
class Stack:
    emulator: Emulator
    settings: Settings
    app_url: str
    runtime: Runtime
    worker: Worker

    def add_portal(self, **options: Any) -> EmulatedPortal:
        return self.emulator.add_portal(**options)

    async def install(self, portal: EmulatedPortal, lang: str = "en") -> httpx.Response:
        return await self.emulator.install_app(
            portal.member_id, install_url=f"{self.app_url}/install", lang=lang
        )

    async def installed_portal(self, **options: Any) -> EmulatedPortal:
        portal = self.add_portal(**options)
        response = await self.install(portal)
        assert response.status_code == 200, response.text
        return portal

    async def pending(self) -> int:
        """Records with work to do (rows held for our own echo are not work)."""
        async with self.runtime.sessions() as session:
            return (await inbox.counts(session)).get("pending", 0)

    async def drain(self, seconds: float = 60.0) -> None:
        """Deliver every event, then run the worker until nothing is due; repeat until quiet."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await self.emulator.wait_deliveries_idle()
            worked = False
            while await self.worker.run_once():
                worked = True
            await self.emulator.wait_deliveries_idle()
            if not worked and await self.pending() == 0:
                return
            if not worked:
                await asyncio.sleep(0.05)
        raise AssertionError(f"the pipeline did not settle:\n{await self.describe_queue()}")

    async def describe_queue(self) -> str:
        """Pending inbox rows and portal queue rows, for failure messages."""
        async with self.runtime.sessions() as session:
            items = (
                await session.execute(select(InboxItem).where(InboxItem.state == "pending"))
            ).scalars()
            queues = (await session.execute(select(PortalQueue))).scalars()
            lines = [f"pending {vars(item)}" for item in items]
            lines += [f"queue {vars(queue)}" for queue in queues]
        return "\n".join(lines)


def worker_environment(stack: Stack) -> dict[str, str]:
    """The environment of a `namecase` subprocess that joins this stack."""
    settings = stack.settings
    return {
        **os.environ,
        "NAMECASE_DATABASE_URL": settings.database_url,
        "NAMECASE_SECRET_KEYS": TEST_KEY,
        "NAMECASE_ALLOW_HTTP": "true",
        "NAMECASE_EMULATOR_HOSTS": ",".join(settings.emulator_hosts),
        "NAMECASE_OAUTH_SERVERS": ",".join(settings.oauth_servers),
        "NAMECASE_CLIENT_ID": CLIENT_ID,
        "NAMECASE_CLIENT_SECRET": CLIENT_SECRET,
        "NAMECASE_PUBLIC_URL": settings.public_url,
        "NAMECASE_RECONCILE_INTERVAL": "0",
        "NAMECASE_OFFLINE_RECONCILE_INTERVAL": "0",
        "NAMECASE_BATCH_WINDOW": "0.2",
        "NAMECASE_LEASE_SECONDS": "5",
        "NAMECASE_LOG_LEVEL": "WARNING",
    }


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str, *, page_library: bool = False, **overrides: Any
) -> AsyncIterator[Stack]:
    """Emulator and service on loopback; `page_library` makes pages load the emulator's BX24."""
    emulator = Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with serve_emulator(emulator) as emulator_url:
        port = free_port()
        values: dict[str, Any] = {
            "public_url": f"http://127.0.0.1:{port}",
            "oauth_servers": (emulator_url,),
            "emulator_hosts": EMULATOR_HOSTS,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "reconcile_interval": 0,
            "offline_reconcile_interval": 0,
            "batch_window": 0,
        }
        if page_library:
            values["bx24_js_url"] = f"{emulator_url}/api/v1/"
        values.update(overrides)
        settings = make_settings(database_url, **values)
        app = create_app(settings)
        async with serve(app, port) as app_url:
            runtime: Runtime = app.state.runtime
            worker = Worker(runtime, concurrency=1)
            yield Stack(emulator, settings, app_url, runtime, worker)
