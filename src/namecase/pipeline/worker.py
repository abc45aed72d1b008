"""The worker loop: a few slots that claim portals from the queue and run one unit each.

Any number of worker processes share the queue (DESIGN.md §4, §6). A claim is a lease on one
portal's row in portal_queue; while it holds the lease a worker is that portal's only REST caller,
so the rate budget persisted in the row is exact. Portals are served in due order, and a portal
with more work is due again "now" — behind every portal already waiting — so one portal's backlog
cannot starve the others. A killed worker's leases simply expire and others take over; nothing is
lost because inbox rows are only settled after their outcome is committed.

This module is only the loop: slots, leases and their renewal, heartbeats, stopping. What a unit
does is pipeline.unit; when things are due is pipeline.scheduling.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from namecase.pipeline.context import WorkerContext
from namecase.pipeline.housekeeping import beat, forget, keep_house
from namecase.pipeline.scheduling import startup_spread
from namecase.pipeline.unit import PortalUnit
from namecase.portals import lifecycle
from namecase.portals.repository import PortalRepository
from namecase.queue import leases
from namecase.queue import offline as offline_queue
from namecase.queue.models import PortalQueue

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
HOUSEKEEPING_SECONDS = 60.0


class Worker:
    """One worker process (or the in-process worker of `serve`), with a few concurrent slots."""

    def __init__(
        self, ctx: WorkerContext, *, concurrency: int = 4, idle_sleep: float = 0.2
    ) -> None:
        self.ctx = ctx
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.idle_sleep = idle_sleep
        self.lease = dt.timedelta(seconds=ctx.settings.lease_seconds)
        self.items_done = 0
        self._stopping = asyncio.Event()
        self._swept: set[str] = set()  # portals this worker swept since it started

    def stop(self) -> None:
        """Finish the unit of work in hand, return the leases, and exit (SIGTERM)."""
        self._stopping.set()

    async def run(self) -> None:
        """Run until stop(): claim portals, process them, keep house."""
        log.info("worker started", extra={"worker": self.id})
        await self._guarded(self._schedule_portals)
        tasks = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        tasks.append(asyncio.create_task(self._every(HEARTBEAT_SECONDS, self._heartbeat)))
        tasks.append(
            asyncio.create_task(self._every(HOUSEKEEPING_SECONDS, lambda: keep_house(self.ctx)))
        )
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._guarded(lambda: forget(self.ctx, self.id))
            log.info("worker stopped", extra={"worker": self.id})

    async def run_once(self) -> bool:
        """Claim one due portal and do one unit of its work. False when nothing was due."""
        async with self.ctx.sessions() as session, session.begin():
            claimed = await leases.claim(session, self.id, self.lease)
            if claimed is None:
                return False
            portal = await PortalRepository(session).get(claimed.member_id)
        swept = claimed.member_id in self._swept
        unit = PortalUnit(self.ctx, claimed, portal, self.id, swept_before=swept)
        work = asyncio.create_task(unit.run())
        renewer = asyncio.create_task(self._renew_lease(claimed, work))
        try:
            result = await work
        except asyncio.CancelledError:
            if not work.cancelled():
                raise
            # The lease was lost: another worker may own the portal now. Nothing of this unit
            # was settled after that point, so its records are simply read again by the owner.
            return True
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        self.items_done += result.settled
        if result.swept:
            self._swept.add(claimed.member_id)
        return True

    async def _slot(self) -> None:
        while not self._stopping.is_set():
            worked = await self._guarded(self.run_once)
            if not worked:
                await self._pause(self.idle_sleep)

    async def _renew_lease(self, claimed: PortalQueue, work: asyncio.Task[Any]) -> None:
        """Keep the lease alive while `work` runs; cancel the work if the lease is lost."""
        member_id = claimed.member_id
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.ctx.sessions() as session, session.begin():
                    held = await leases.renew(session, member_id, self.id, self.lease)
            except Exception:
                log.exception("lease renewal failed; retrying", extra={"member_id": member_id})
                continue
            if not held:
                log.warning("lease lost; abandoning the unit", extra={"member_id": member_id})
                work.cancel()
                return

    async def _schedule_portals(self) -> None:
        """Put every active portal in line, spread out: each first visit sweeps the portal,
        checks its bindings (portals/lifecycle.py worker_started) and, offline, collects its
        queue (a doorbell rung while no worker ran is never rung again)."""
        async with self.ctx.sessions() as session, session.begin():
            active = await PortalRepository(session).active_member_ids()
            spread = startup_spread(len(active), self.ctx.settings.reconcile_interval)
            await leases.make_due(session, active, spread=spread)
            await lifecycle.worker_started(session)
            await offline_queue.collect_at_start(session)

    async def _heartbeat(self) -> None:
        await beat(self.ctx, self.id, self.items_done)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while not self._stopping.is_set():
            await self._guarded(job)
            await self._pause(seconds)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _guarded(self, job: Callable[[], Awaitable[Any]]) -> Any:
        """Run a job; a database or network error is logged and survived (DESIGN.md §4)."""
        try:
            return await job()
        except Exception:
            log.exception("worker job failed; backing off", extra={"worker": self.id})
            await self._pause(1.0)
            return False


__all__ = ["Worker"]
