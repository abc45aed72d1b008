"""One unit of work on one portal, under its lease: the error policy and the next due time.

A unit does the first of: re-bind the portal's handlers if they were wiped; normalize its next
batch of records (pipeline.batch); read a page of its running backfill. Then, if a sweep is due,
it sweeps (pipeline.reconcile). It commits at named points: each batch's outcome (batch._settle),
each listed page's queued records, and the release of the lease with the portal's next due time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from namecase.bitrix import (
    BitrixError,
    InvalidAuth,
    LeakyBucket,
    OperationTimeLimit,
    PortalDisabled,
)
from namecase.db import utcnow
from namecase.pipeline.backfill import advance_backfill
from namecase.pipeline.batch import kept_values_of, process_batch
from namecase.pipeline.context import WorkerContext
from namecase.pipeline.offline import collect, sweep_interval
from namecase.pipeline.reconcile import sweep
from namecase.pipeline.recovery import (
    after_unanswered,
    probe,
    release_after_refusal,
    slowed_down,
    upkeep,
)
from namecase.pipeline.repository import BackfillRepository
from namecase.pipeline.scheduling import (
    AUTH_FAILURES_BEFORE_DISABLING,
    BATCH_SIZE,
    IDLE,
    QueueView,
    next_due,
    operating_block_end,
    portal_backoff,
    sweep_due,
)
from namecase.portals.event_modes import connector_of, offline_mode
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal, PortalState
from namecase.portals.service import options_of
from namecase.queue import inbox, leases
from namecase.queue import offline as collection
from namecase.queue.leases import Release
from namecase.queue.models import PortalQueue

log = logging.getLogger(__name__)

BUDGET_WAIT_TO_YIELD = 0.5  # seconds: longer, and the lease is returned while the budget refills


@dataclass
class UnitResult:
    """What a unit did, for the loop's counters."""

    settled: int = 0
    swept: bool = False


class PortalUnit:
    """One claim of one portal: do its work, then release it with its next due time."""

    def __init__(
        self,
        ctx: WorkerContext,
        claimed: PortalQueue,
        portal: Portal | None,
        owner: str,
        *,
        swept_before: bool,
    ) -> None:
        self.ctx = ctx
        self.claimed = claimed
        self.portal = portal  # read in the claim's transaction
        self.owner = owner
        self.swept_before = swept_before  # has this worker swept the portal since it started?
        self.result = UnitResult()

    @property
    def member_id(self) -> str:
        return self.claimed.member_id

    async def run(self) -> UnitResult:
        portal = self.portal
        if portal is None or not portal.served:
            await self._leave_unserved(portal)
            return self.result
        link = self.ctx.portals.link(portal, bucket=self._bucket(portal))
        wait = link.bucket.wait_time(time.time())
        if wait > BUDGET_WAIT_TO_YIELD:  # do not sit on the lease while the budget refills
            await self._release(self._unchanged(not_before=utcnow() + _seconds(wait), link=link))
            return self.result
        try:
            swept_at = await self._work(portal, link)
        except PortalDisabled as error:
            log.warning("portal disabled: %s", error, extra={"member_id": self.member_id})
            await self._release(release_after_refusal(self.ctx, link.state, self.claimed, error))
        except BitrixError as error:
            await self._release(await self._after_failure(error, link))
        else:
            await self._release_when_next_due(swept_at, link)
        return self.result

    async def _work(self, portal: Portal, link: StoredPortalLink) -> dt.datetime | None:
        """The portal's work for this unit; returns when a sweep started, if one ran."""
        await upkeep(self.ctx, portal, link)  # uninstall claims, keep-alive, bindings
        options = options_of(portal)
        if not options.enabled:
            await self._stand_down()  # turned off by the portal admin: read and write nothing
            return None
        last_sweep = self.claimed.reconciled_at
        sweeping = sweep_due(
            interval=sweep_interval(self.ctx.settings, portal),
            last_sweep=last_sweep,
            swept_since_start=self.swept_before,
            now=utcnow(),
        )
        if offline_mode(portal):  # Bitrix24 keeps its changes for us (pipeline/offline.py)
            await collect(self.ctx, link, portal, self.claimed, options, sweeping=sweeping)
        async with self.ctx.sessions() as session:
            records = await inbox.next_batch(session, self.member_id, BATCH_SIZE)
            kept = await kept_values_of(session, self.member_id, records)
        if records:
            connector = connector_of(portal)
            self.result.settled += await process_batch(
                self.ctx, link, options, records, kept, connector=connector
            )
        else:
            await advance_backfill(self.ctx, link, options)
        if not sweeping:
            return None
        self.result.swept = True
        return await sweep(self.ctx, link, options, last_sweep or portal.installed_at)

    async def _leave_unserved(self, portal: Portal | None) -> None:
        if portal is not None and portal.state != PortalState.UNINSTALLED:
            # Temporarily unavailable or refused: its records wait; a probe looks if it is due.
            await self._release(await probe(self.ctx, self.claimed, portal))
            return
        # Uninstalled. Events another replica accepted in the moment before the uninstall reached
        # it: nobody can process them now (a reinstall starts with a reconciliation sweep).
        async with self.ctx.sessions() as session, session.begin():
            await inbox.end_pending(session, self.member_id, state="dead", reason="uninstalled")
        await self._release(Release(due_at=utcnow() + IDLE))

    async def _stand_down(self) -> None:
        async with self.ctx.sessions() as session, session.begin():
            await inbox.end_pending(
                session, self.member_id, state="done", reason="the app is turned off"
            )
            await BackfillRepository(session).stop(self.member_id)

    async def _after_failure(self, error: BitrixError, link: StoredPortalLink) -> Release:
        """The error policy: back off, or stop calling a portal whose tokens keep being refused."""
        if isinstance(error, OperationTimeLimit):
            # A method's operating time is used up (429, protocol §6): nothing is wrong with the
            # portal or its records. Come back when the block ends; no failure is counted.
            reset_at = error.reset_at or link.operating.reset_at(error.method)
            until = operating_block_end(reset_at, now=time.time())
            log.info("portal waits for its operating time", extra={"member_id": self.member_id})
            return self._unchanged(not_before=until, link=link)
        failures = self.claimed.failures + 1
        if isinstance(error, InvalidAuth) and failures >= AUTH_FAILURES_BEFORE_DISABLING:
            # Tokens refused again and again (NO_AUTH_FOUND: revoked, not expired): no refresh
            # will help, so show it in admin and stop calling, as for invalid_grant.
            await link.disabled(
                PortalDisabled(error.code, f"access refused {failures} times in a row")
            )
            return release_after_refusal(self.ctx, link.state, self.claimed, error)
        unreachable = await after_unanswered(self.ctx, self.member_id, error, failures)
        if unreachable is not None:  # network errors or 5xx unit after unit: probed from now on
            return release_after_refusal(self.ctx, unreachable, self.claimed, error)
        delay = portal_backoff(failures)
        log.warning("portal backs off %.1fs: %s", delay, error, extra={"member_id": self.member_id})
        return Release(
            due_at=utcnow(),
            failures=failures,
            error=str(error)[:500],
            not_before=utcnow() + _seconds(delay),
            bucket=link.bucket.to_state(),
        )

    def _unchanged(self, *, not_before: dt.datetime, link: StoredPortalLink) -> Release:
        claimed = self.claimed
        return Release(
            due_at=claimed.due_at,
            failures=claimed.failures,
            error=claimed.last_error,
            not_before=not_before,
            bucket=link.bucket.to_state(),
        )

    async def _release_when_next_due(
        self, swept_at: dt.datetime | None, link: StoredPortalLink
    ) -> None:
        """Release the lease with the portal's next due time, read in the same transaction."""
        now = utcnow()
        async with self.ctx.sessions() as session, session.begin():
            backfill = await BackfillRepository(session).running(self.member_id)
            earliest = await inbox.next_due_at(session, self.member_id)
            full = earliest is not None and earliest <= now
            if full:
                full = await inbox.count_due(session, self.member_id, now, BATCH_SIZE) >= BATCH_SIZE
            view = QueueView(
                backfill_running=backfill is not None,
                earliest_pending=earliest,
                full_batch_due=full,
                last_sweep=swept_at or self.claimed.reconciled_at,
            )
            settings = self.ctx.settings
            due = next_due(
                view,
                now=now,
                batch_window=settings.batch_window,
                sweep_interval=sweep_interval(settings, self.portal) if self.portal else 0,
            )
            if self.portal is not None and offline_mode(self.portal):
                collect_at = await collection.collection_due_at(session, self.member_id)
                due = min(due, max(collect_at or now, now))
            how = Release(due_at=due, bucket=link.bucket.to_state(), reconciled_at=swept_at)
            how = slowed_down(how, link, settings.operating_budget)
            await leases.release(session, self.claimed, self.owner, how)

    async def _release(self, how: Release) -> None:
        async with self.ctx.sessions() as session, session.begin():
            await leases.release(session, self.claimed, self.owner, how)

    def _bucket(self, portal: Portal) -> LeakyBucket:
        fresh = LeakyBucket.for_portal(
            portal.rate_capacity or 50.0,
            portal.rate_per_second or 2.0,
            margin_seconds=self.ctx.settings.rate_margin_seconds,
        )
        if not self.claimed.bucket:
            return fresh
        saved = LeakyBucket.from_state(self.claimed.bucket)
        # Plan changes (per-portal override) apply at once; the level carries over.
        return LeakyBucket(fresh.capacity, fresh.drain_per_second, saved.level, saved.updated_at)


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)
