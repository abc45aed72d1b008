"""The worker: claims one portal at a time and runs get → normalize → compare → update.

Any number of worker processes share the queue (DESIGN.md §4, §6). A claim is a lease on one
portal's row in portal_queue; while it holds the lease a worker is that portal's only REST caller,
so the rate budget persisted in the row is exact. Portals are served in due order, and a portal
with more work is due again "now" — behind every portal already waiting — so one portal's backlog
cannot starve the others. A killed worker's leases simply expire and others take over; nothing is
lost because inbox items are only marked done after their outcome is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.bitrix import (
    BitrixError,
    InvalidAuth,
    LeakyBucket,
    NotFound,
    PortalDisabled,
)
from namecase.db import utcnow
from namecase.events.models import InboxItem
from namecase.events.repository import Enqueued, InboxRepository
from namecase.metrics import EVENT_TO_UPDATE, RECORDS_UPDATED
from namecase.pipeline.models import Backfill, Change, PortalQueue
from namecase.pipeline.repository import (
    BackfillRepository,
    ChangeRepository,
    QueueRepository,
    WorkerRepository,
)
from namecase.pipeline.service import RecordPlan, plan_record
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.portals.service import options_of
from namecase.runtime import Runtime

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # one batch request holds at most 50 commands (protocol §6)
RECONCILE_MARGIN = dt.timedelta(minutes=2)  # clock skew and in-flight edits at the last sweep
IDLE = dt.timedelta(hours=1)  # when a portal has nothing scheduled, look again after this
MAX_PORTAL_BACKOFF = 300.0
AUTH_FAILURES_BEFORE_DISABLING = 5
MAX_ITEM_BACKOFF = 3600.0


def _item_retry_delay(attempts: int) -> float:
    return float(min(MAX_ITEM_BACKOFF, 2.0 * 2**attempts) * random.uniform(0.8, 1.2))


def _portal_backoff(failures: int) -> float:
    return float(min(MAX_PORTAL_BACKOFF, 1.0 * 2**failures) * random.uniform(0.8, 1.2))


class Worker:
    """One worker process (or the in-process worker of `serve`), with a few concurrent slots."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int = 4,
        idle_sleep: float = 0.2,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.idle_sleep = idle_sleep
        self.lease = dt.timedelta(seconds=self.settings.lease_seconds)
        self.items_done = 0
        self._stopping = asyncio.Event()
        self._swept: set[str] = set()  # portals this worker reconciled since it started

    def stop(self) -> None:
        """Finish the unit of work in hand, return the leases, and exit (SIGTERM)."""
        self._stopping.set()

    async def run(self) -> None:
        """Run until stop(): claim portals, process them, keep house."""
        log.info("worker started", extra={"worker": self.id})
        await self._guarded(self._schedule_all_portals)
        tasks = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        tasks.append(asyncio.create_task(self._every(5.0, self._heartbeat)))
        tasks.append(asyncio.create_task(self._every(60.0, self._keep_house)))
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._guarded(self._forget_heartbeat)
            log.info("worker stopped", extra={"worker": self.id})

    async def _slot(self) -> None:
        while not self._stopping.is_set():
            worked = await self._guarded(self.run_once)
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.idle_sleep)

    async def _every(self, seconds: float, job: Any) -> None:
        while not self._stopping.is_set():
            await self._guarded(job)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _guarded(self, job: Any) -> Any:
        """Run a job; a database or network error is logged and survived (DESIGN.md §4)."""
        try:
            return await job()
        except Exception:
            log.exception("worker job failed; backing off", extra={"worker": self.id})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1.0)
            return False

    # --- one unit of work -------------------------------------------------------------

    async def run_once(self) -> bool:
        """Claim one due portal and do one unit of its work. False when nothing was due."""
        async with self.runtime.sessions() as session, session.begin():
            queue = await QueueRepository(session).claim(self.id, self.lease)
        if queue is None:
            return False
        work = asyncio.create_task(self._work_on(queue))
        renewer = asyncio.create_task(self._renew_lease(queue.member_id, work))
        try:
            await work
        except asyncio.CancelledError:
            if not work.cancelled():
                raise
            # The lease was lost: another worker may own the portal now. Nothing of this unit
            # was settled after that point, so its items are simply read again by the owner.
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        return True

    async def _renew_lease(self, member_id: str, work: asyncio.Task[None]) -> None:
        """Keep the lease alive while `work` runs; cancel the work if the lease is lost."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.runtime.sessions() as session, session.begin():
                    held = await QueueRepository(session).renew(member_id, self.id, self.lease)
            except Exception:
                log.exception("lease renewal failed; retrying", extra={"member_id": member_id})
                continue
            if not held:
                log.warning("lease lost; abandoning the unit", extra={"member_id": member_id})
                work.cancel()
                return

    async def _work_on(self, queue: PortalQueue) -> None:
        member_id = queue.member_id
        async with self.runtime.sessions() as session:
            portal = await PortalRepository(session).get(member_id)
        if portal is None or portal.state == "uninstalled":
            # Events another replica accepted in the moment before the uninstall reached it:
            # nobody can process them now (a reinstall starts with a reconciliation sweep).
            async with self.runtime.sessions() as session, session.begin():
                await InboxRepository(session).give_up_pending(queue.member_id, "uninstalled")
        if portal is None or portal.state != "active":
            await self._release(queue, due_at=utcnow() + IDLE, failures=0, error=None)
            return
        link = self.runtime.portals.link(portal, bucket=self._bucket(portal, queue))
        wait = link.bucket.wait_time(time.time())
        if wait > 0.5:  # do not sit on the lease while the budget refills
            await self._release(
                queue,
                due_at=queue.due_at,
                failures=queue.failures,
                error=queue.last_error,
                not_before=utcnow() + dt.timedelta(seconds=wait),
                bucket=link.bucket,
            )
            return
        reconciled_at: dt.datetime | None = None
        try:
            if portal.needs_bind:
                await self.runtime.portals.bind_events(portal)
            options = options_of(portal)
            if not options.enabled:
                # Turned off by the portal admin: nothing is read or written any more.
                await self._stand_down(portal.member_id)
            else:
                if not await self._process_items(portal, link, options):
                    await self._backfill_page(portal, link, options)
                if self._reconcile_due(portal, queue):
                    reconciled_at = await self._reconcile(portal, link, options, queue)
        except PortalDisabled as error:
            log.warning("portal disabled: %s", error, extra={"member_id": member_id})
            await self._release(queue, due_at=utcnow() + IDLE, failures=0, error=str(error))
            return
        except BitrixError as error:
            failures = queue.failures + 1
            if isinstance(error, InvalidAuth) and failures >= AUTH_FAILURES_BEFORE_DISABLING:
                # Tokens refused again and again (NO_AUTH_FOUND: revoked, not expired): no refresh
                # will help, so show it in admin and stop calling, as for invalid_grant.
                await link.disabled(
                    PortalDisabled(error.code, f"access refused {failures} times in a row")
                )
                await self._release(queue, due_at=utcnow() + IDLE, failures=0, error=str(error))
                return
            delay = _portal_backoff(failures)
            log.warning("portal backs off %.1fs: %s", delay, error, extra={"member_id": member_id})
            await self._release(
                queue,
                due_at=utcnow(),
                failures=failures,
                error=str(error)[:500],
                not_before=utcnow() + dt.timedelta(seconds=delay),
                bucket=link.bucket,
            )
            return
        await self._release(
            queue,
            due_at=None,
            failures=0,
            error=None,
            bucket=link.bucket,
            reconciled_at=reconciled_at,
        )

    def _bucket(self, portal: Portal, queue: PortalQueue) -> LeakyBucket:
        fresh = LeakyBucket.for_portal(portal.rate_capacity or 50.0, portal.rate_per_second or 2.0)
        if not queue.bucket:
            return fresh
        saved = LeakyBucket.from_state(queue.bucket)
        # Plan changes (per-portal override) apply at once; the level carries over.
        return LeakyBucket(fresh.capacity, fresh.drain_per_second, saved.level, saved.updated_at)

    async def _release(
        self,
        queue: PortalQueue,
        *,
        due_at: dt.datetime | None,
        failures: int,
        error: str | None,
        not_before: dt.datetime | None = None,
        bucket: LeakyBucket | None = None,
        reconciled_at: dt.datetime | None = None,
    ) -> None:
        """Return the lease; `due_at=None` means: due when its next piece of work is."""
        async with self.runtime.sessions() as session, session.begin():
            queues = QueueRepository(session)
            if due_at is None:
                due_at = await self._next_due(session, queue, reconciled_at)
            await queues.release(
                queue.member_id,
                self.id,
                due_at=due_at,
                not_before=not_before,
                bucket=bucket.to_state() if bucket else queue.bucket,
                failures=failures,
                error=error,
                wakeups_seen=queue.wakeups,
                reconciled_at=reconciled_at,
            )

    async def _next_due(
        self, session: AsyncSession, queue: PortalQueue, reconciled_at: dt.datetime | None
    ) -> dt.datetime:
        now = utcnow()
        if await BackfillRepository(session).running(queue.member_id) is not None:
            return now
        candidates = [now + IDLE]
        inbox = InboxRepository(session)
        pending = await inbox.next_due_at(queue.member_id)
        if pending is not None:
            # A partial batch waits out the batch window so a burst still in flight joins it.
            full = await inbox.count_due(queue.member_id, now, BATCH_SIZE) >= BATCH_SIZE
            window = dt.timedelta(0 if full else self.settings.batch_window)
            candidates.append(max(pending + window, now))
        interval = self.settings.reconcile_interval
        last_sweep = reconciled_at or queue.reconciled_at
        if interval > 0 and last_sweep is not None:
            candidates.append(last_sweep + dt.timedelta(seconds=interval))
        return min(candidates)

    # --- events: the inbox -----------------------------------------------------------

    async def _stand_down(self, member_id: str) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await InboxRepository(session).skip_pending(member_id, "the app is turned off")
            await BackfillRepository(session).stop(member_id)

    async def _process_items(
        self, portal: Portal, link: StoredPortalLink, options: PortalOptions
    ) -> bool:
        async with self.runtime.sessions() as session:
            items = await InboxRepository(session).due_items(portal.member_id, BATCH_SIZE)
        if not items:
            return False
        groups: dict[str, list[InboxItem]] = defaultdict(list)
        unwanted = [item for item in items if item.entity_type not in options.entities]
        if unwanted:  # queued before the admin switched this entity type off
            async with self.runtime.sessions() as session, session.begin():
                await InboxRepository(session).settle_done(unwanted)
        for item in items:
            if item.entity_type in options.entities:
                groups[item.entity_type].append(item)
        for entity_type, group in groups.items():
            await self._process_group(portal, link, options, entity_type, group)
        return True

    async def _process_group(
        self,
        portal: Portal,
        link: StoredPortalLink,
        options: PortalOptions,
        entity_type: str,
        items: Sequence[InboxItem],
    ) -> None:
        bitrix = self.runtime.bitrix
        ids = sorted({item.entity_id for item in items})
        fetched = await bitrix.batch(
            link, {f"r{i}": (f"crm.{entity_type}.get", {"id": i}) for i in ids}
        )
        async with self.runtime.sessions() as session:
            kept = await ChangeRepository(session).kept_values(portal.member_id, entity_type, ids)
        plans: dict[int, RecordPlan] = {}
        failed: dict[int, str] = {}
        for entity_id in ids:
            error = fetched.errors.get(f"r{entity_id}")
            record = fetched.result.get(f"r{entity_id}")
            if isinstance(error, NotFound):
                continue  # deleted meanwhile: nothing to fix
            if error is not None or not isinstance(record, dict):
                failed[entity_id] = str(error or "no record in the answer")
                continue
            plans[entity_id] = plan_record(
                entity_type, entity_id, record, options, kept.get(entity_id)
            )
        to_write = [plan for plan in plans.values() if plan.changes]
        if to_write and not options.dry_run:
            # A user edit that arrived since our read bumped its item: writing a value computed
            # from the old read would overwrite that edit, so leave it for the next pass.
            # (Bitrix24 has no compare-and-set; this narrows the window to the update's flight.)
            async with self.runtime.sessions() as session:
                current = await InboxRepository(session).versions([item.id for item in items])
            edited = {i.entity_id for i in items if current.get(i.id, i.version) != i.version}
            to_write = [plan for plan in to_write if plan.entity_id not in edited]
            written = await bitrix.batch(
                link,
                {
                    f"u{plan.entity_id}": (
                        f"crm.{entity_type}.update",
                        {
                            "id": plan.entity_id,
                            "fields": plan.fields,
                            "params": {"REGISTER_SONET_EVENT": "N"},
                        },
                    )
                    for plan in to_write
                },
            )
            for name, error in written.errors.items():
                failed[int(name[1:])] = str(error)
        await self._settle(portal, entity_type, items, to_write, failed, options.dry_run)

    async def _settle(
        self,
        portal: Portal,
        entity_type: str,
        items: Sequence[InboxItem],
        written: Sequence[RecordPlan],
        failed: dict[int, str],
        dry_run: bool,
    ) -> None:
        now = utcnow()
        async with self.runtime.sessions() as session, session.begin():
            if not await PortalRepository(session).still_active(portal.member_id):
                return  # uninstalled (maybe CLEAN) meanwhile: write no history about it
            changes = ChangeRepository(session)
            for plan in written:
                if plan.entity_id in failed:
                    continue
                for change in plan.changes:
                    if dry_run and await changes.already_foreseen(
                        portal.member_id, entity_type, plan.entity_id, change.field, change.before
                    ):
                        continue  # in trial mode the record stays as it is: say so once
                    changes.add(
                        Change(
                            member_id=portal.member_id,
                            entity_type=entity_type,
                            entity_id=plan.entity_id,
                            field=change.field,
                            before=change.before,
                            after=change.after,
                            reasons=list(change.reasons),
                            dry_run=dry_run,
                            created_at=now,
                        )
                    )
                if not dry_run:
                    RECORDS_UPDATED.labels(entity_type).inc()
            inbox = InboxRepository(session)
            written_ids = {plan.entity_id for plan in written}
            # Rows are locked in the order the /events insert uses (by record key): any other
            # order can deadlock against a concurrent insert of the same records.
            for item in sorted(items, key=lambda i: (i.entity_type, i.entity_id)):
                if item.entity_id in failed:
                    retry_at = now + dt.timedelta(seconds=_item_retry_delay(item.attempts))
                    await inbox.settle_failed(
                        item,
                        failed[item.entity_id],
                        retry_at=retry_at,
                        max_attempts=self.settings.max_attempts,
                    )
                    continue
                self.items_done += await inbox.settle_done([item], now)
                if item.entity_id in written_ids and not dry_run:
                    EVENT_TO_UPDATE.observe((now - item.received_at).total_seconds())

    # --- reconciliation and backfill: listing records ----------------------------------

    def _reconcile_due(self, portal: Portal, queue: PortalQueue) -> bool:
        interval = self.settings.reconcile_interval
        if interval <= 0:
            return False
        if portal.member_id not in self._swept:
            return True  # once when a worker starts (DESIGN.md §3)
        last = queue.reconciled_at
        return last is None or last + dt.timedelta(seconds=interval) <= utcnow()

    async def _reconcile(
        self, portal: Portal, link: StoredPortalLink, options: PortalOptions, queue: PortalQueue
    ) -> dt.datetime:
        """List records modified since the last sweep; enqueue those whose names need fixing."""
        started = utcnow()
        since = (queue.reconciled_at or portal.installed_at) - RECONCILE_MARGIN
        for entity_type in options.entities:
            start: int | None = 0
            while start is not None:
                page = await self.runtime.bitrix.call_page(
                    link,
                    f"crm.{entity_type}.list",
                    {
                        "filter": {">DATE_MODIFY": since.isoformat(timespec="seconds")},
                        "select": ["ID", *options.fields],
                        "order": {"ID": "ASC"},
                        "start": start,
                    },
                )
                await self._enqueue_if_needed(
                    portal, options, entity_type, page.result, "reconcile"
                )
                start = page.next
        self._swept.add(portal.member_id)
        return started

    async def _backfill_page(
        self, portal: Portal, link: StoredPortalLink, options: PortalOptions
    ) -> bool:
        async with self.runtime.sessions() as session:
            backfill = await BackfillRepository(session).running(portal.member_id)
        if backfill is None:
            return False
        if backfill.entity_type not in options.entities:
            async with self.runtime.sessions() as session, session.begin():
                await BackfillRepository(session).stop(portal.member_id, backfill.entity_type)
            return True
        page = await self.runtime.bitrix.call_page(
            link,
            f"crm.{backfill.entity_type}.list",
            {
                "filter": {">ID": backfill.last_id},
                "select": ["ID", *options.fields],
                "order": {"ID": "ASC"},
                "start": 0,
            },
        )
        rows = [row for row in page.result or [] if isinstance(row, dict)]
        queued = await self._enqueue_if_needed(
            portal, options, backfill.entity_type, rows, "backfill"
        )
        async with self.runtime.sessions() as session, session.begin():
            stored = await session.get(Backfill, (portal.member_id, backfill.entity_type))
            if stored is None or stored.state != "running":
                return True
            if stored.total is None and page.total is not None:
                stored.total = page.total
            stored.scanned += len(rows)
            stored.queued += queued
            if rows:
                stored.last_id = max(int(row["ID"]) for row in rows)
            if page.next is None or not rows:
                stored.state = "done"
                stored.finished_at = utcnow()
                stored.total = stored.scanned
        return True

    async def _enqueue_if_needed(
        self,
        portal: Portal,
        options: PortalOptions,
        entity_type: str,
        rows: Any,
        source: str,
    ) -> int:
        ids = [int(row["ID"]) for row in rows or [] if isinstance(row, dict) and "ID" in row]
        async with self.runtime.sessions() as session, session.begin():
            kept = await ChangeRepository(session).kept_values(portal.member_id, entity_type, ids)
            needed = [
                Enqueued(portal.member_id, entity_type, int(row["ID"]), source)
                for row in rows or []
                if isinstance(row, dict)
                and "ID" in row
                and plan_record(
                    entity_type, int(row["ID"]), row, options, kept.get(int(row["ID"]))
                ).changes
            ]
            await InboxRepository(session).enqueue(needed)
        return len(needed)

    # --- bookkeeping -------------------------------------------------------------------

    async def _schedule_all_portals(self) -> None:
        async with self.runtime.sessions() as session, session.begin():
            active = await PortalRepository(session).active_member_ids()
            await QueueRepository(session).ensure(active, utcnow())

    async def _heartbeat(self) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await WorkerRepository(session).beat(
                self.id, socket.gethostname(), os.getpid(), self.items_done
            )

    async def _forget_heartbeat(self) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await WorkerRepository(session).forget(self.id)

    async def _keep_house(self) -> None:
        now = utcnow()
        settings = self.settings
        async with self.runtime.sessions() as session, session.begin():
            await PortalRepository(session).prune_calls(
                now - dt.timedelta(days=settings.rest_log_retention_days)
            )
            await InboxRepository(session).prune_done(
                now - dt.timedelta(days=settings.inbox_retention_days)
            )
            await WorkerRepository(session).prune(now - dt.timedelta(minutes=10))


__all__ = ["Worker"]
