"""One batch of a portal's records: fetch → plan → write → settle.

Reading: one `crm.<type>.list` filtered by the batch's IDs (`@ID`, bitrix24-protocol.md §7, [RU]
crm/contacts/crm-contact-list.md) with `select` limited to the ID and the name fields, so one
request serves 50 records and no phone, e-mail or comment enters our memory or our call log.
`start=-1` skips the COUNT the portal would otherwise run for `total` ([RU]
settings/performance/huge-data.md); fifty IDs always fit one page.

Writing: one `batch` of `crm.<type>.update` with only the changed fields (protocol §6, §7). On a
portal in offline mode each update and the batch carry our `auth_connector`, so Bitrix24 keeps
the change out of our offline queue (protocol §10: inside a batch which of the two it reads is
UNCONFIRMED, so both do); no echo is coming, so a written record is done, not held for one.
Settling: the audit rows and the queue's outcome commit together, so a crash before the commit
leaves the records pending, to be read (and found already fixed) again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.bitrix import BatchResult, OperationTimeLimit
from namecase.db import utcnow
from namecase.metrics import EVENT_TO_UPDATE, RECORDS_UPDATED
from namecase.pipeline.context import WorkerContext
from namecase.pipeline.models import Change
from namecase.pipeline.repository import ChangeRepository
from namecase.pipeline.scheduling import echo_hold, item_retry_delay
from namecase.pipeline.service import RecordPlan, plan_record
from namecase.portals.link import StoredPortalLink
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.queue import inbox
from namecase.queue.inbox import Failure, Outcome
from namecase.queue.models import QueuedRecord

Kept = Mapping[str, Mapping[int, Mapping[str, str | None]]]  # entity type → id → field → value


async def kept_values_of(
    session: AsyncSession, member_id: str, records: Sequence[QueuedRecord]
) -> dict[str, dict[int, dict[str, str | None]]]:
    """The values an admin chose to keep (undo) for the batch's records, by entity type."""
    ids: dict[str, list[int]] = defaultdict(list)
    for record in records:
        ids[record.entity_type].append(record.entity_id)
    changes = ChangeRepository(session)
    return {kind: await changes.kept_values(member_id, kind, of) for kind, of in ids.items()}


async def process_batch(
    ctx: WorkerContext,
    link: StoredPortalLink,
    options: PortalOptions,
    records: Sequence[QueuedRecord],
    kept: Kept,
    *,
    connector: str | None = None,
) -> int:
    """Normalize a batch of the portal's records; returns how many were settled.

    `connector`: the auth_connector our writes carry (offline mode), else None.
    """
    by_type: dict[str, list[QueuedRecord]] = defaultdict(list)
    for record in records:
        by_type[record.entity_type].append(record)
    unwanted = [r for r in records if r.entity_type not in options.entities]
    if unwanted:  # queued before the admin switched this entity type off
        async with ctx.sessions() as session, session.begin():
            await inbox.skip(session, unwanted, "entity type turned off")
    settled = 0
    for entity_type, group in by_type.items():
        if entity_type in options.entities:
            kept_of_type = kept.get(entity_type, {})
            settled += await _process_group(
                ctx, link, options, entity_type, group, kept_of_type, connector
            )
    return settled


async def fetch_names(
    ctx: WorkerContext,
    link: StoredPortalLink,
    entity_type: str,
    entity_ids: Sequence[int],
    fields: Sequence[str],
) -> dict[int, Mapping[str, Any]]:
    """The name fields of the given records that still exist, by ID (one request, ≤ 50 IDs)."""
    page = await ctx.bitrix.call_page(
        link,
        f"crm.{entity_type}.list",
        {
            "filter": {"@ID": list(entity_ids)},
            "select": ["ID", *fields],
            "order": {"ID": "ASC"},
            "start": -1,
        },
    )
    rows = page.result if isinstance(page.result, list) else []
    return {int(row["ID"]): row for row in rows if isinstance(row, dict) and "ID" in row}


async def _process_group(
    ctx: WorkerContext,
    link: StoredPortalLink,
    options: PortalOptions,
    entity_type: str,
    records: Sequence[QueuedRecord],
    kept: Mapping[int, Mapping[str, str | None]],
    connector: str | None,
) -> int:
    ids = sorted({record.entity_id for record in records})
    current = await fetch_names(ctx, link, entity_type, ids, options.fields)
    # A record missing from the answer was deleted meanwhile: nothing to fix.
    plans = {
        entity_id: plan_record(entity_type, entity_id, row, options, kept.get(entity_id))
        for entity_id, row in current.items()
    }
    to_write = [plan for plan in plans.values() if plan.changes]
    failed: dict[int, str] = {}
    blocked: dict[int, OperationTimeLimit] = {}
    if to_write and not options.dry_run:
        to_write = await _unedited(ctx, records, to_write)
        written = await _write(ctx, link, entity_type, to_write, connector)
        for name, error in written.errors.items():
            if isinstance(error, OperationTimeLimit):
                blocked[int(name[1:])] = error
            else:
                failed[int(name[1:])] = str(error)
    if blocked:
        # The method is blocked for a while (429 inside the batch, protocol §6): the records it
        # refused are no failure of theirs; they stay pending, uncharged, for the next unit.
        to_write = [plan for plan in to_write if plan.entity_id not in blocked]
        records = [record for record in records if record.entity_id not in blocked]
    echo = connector is None  # a write without our connector comes back as an event
    settled = await _settle(ctx, link, options, entity_type, records, to_write, failed, echo)
    if blocked:
        # The unit defers the portal until the block ends: the 429 carries no time block, but the
        # client kept the reset time the batch's successful commands reported (link.operating).
        raise next(iter(blocked.values()))
    return settled


async def _unedited(
    ctx: WorkerContext, records: Sequence[QueuedRecord], plans: list[RecordPlan]
) -> list[RecordPlan]:
    # A user edit that arrived since our read bumped its row: writing a value computed from the
    # old read would overwrite that edit, so leave it for the next pass. (Bitrix24 has no
    # compare-and-set; this narrows the window to the update's flight.)
    async with ctx.sessions() as session:
        now = await inbox.versions(session, [record.id for record in records])
    edited = {r.entity_id for r in records if now.get(r.id, r.version) != r.version}
    return [plan for plan in plans if plan.entity_id not in edited]


async def _write(
    ctx: WorkerContext,
    link: StoredPortalLink,
    entity_type: str,
    plans: Sequence[RecordPlan],
    connector: str | None,
) -> BatchResult:
    marked = {} if connector is None else {"auth_connector": connector}
    return await ctx.bitrix.batch(
        link,
        {
            f"u{plan.entity_id}": (
                f"crm.{entity_type}.update",
                {
                    "id": plan.entity_id,
                    "fields": plan.fields,
                    "params": {"REGISTER_SONET_EVENT": "N"},
                    **marked,
                },
            )
            for plan in plans
        },
        params=marked,
    )


async def _settle(
    ctx: WorkerContext,
    link: StoredPortalLink,
    options: PortalOptions,
    entity_type: str,
    records: Sequence[QueuedRecord],
    plans: Sequence[RecordPlan],
    failed: Mapping[int, str],
    echo: bool,
) -> int:
    now = utcnow()
    dry_run = options.dry_run
    written = {p.entity_id: p for p in plans if p.entity_id not in failed and not dry_run}
    outcome = Outcome()
    for record in records:
        if record.entity_id in failed:
            retry_at = now + dt.timedelta(seconds=item_retry_delay(record.attempts))
            outcome.failed.append(Failure(record, failed[record.entity_id], retry_at))
        elif record.entity_id in written and echo:
            outcome.written.append(record)  # held for its echo (queue/echoes.py)
        else:
            outcome.done.append(record)
    async with ctx.sessions() as session, session.begin():
        if not await PortalRepository(session).still_active(link.member_id):
            return 0  # uninstalled (maybe CLEAN) meanwhile: write no history about it
        rows = await _audit_rows(session, link.member_id, entity_type, plans, failed, dry_run)
        if rows:
            await session.execute(insert(Change), rows)
        settled = await inbox.settle(
            session,
            outcome,
            max_attempts=ctx.settings.max_attempts,
            echo_hold=echo_hold(ctx.settings.reconcile_interval),
            now=now,
        )
    updated = [record for record in records if record.entity_id in written]
    RECORDS_UPDATED.labels(entity_type).inc(len(updated))
    for record in updated:
        EVENT_TO_UPDATE.observe((now - record.received_at).total_seconds())
    return settled


async def _audit_rows(
    session: AsyncSession,
    member_id: str,
    entity_type: str,
    plans: Sequence[RecordPlan],
    failed: Mapping[int, str],
    dry_run: bool,
) -> list[dict[str, Any]]:
    changes = ChangeRepository(session)
    now = utcnow()
    rows = []
    for plan in plans:
        if plan.entity_id in failed:
            continue
        for change in plan.changes:
            if dry_run and await changes.already_foreseen(
                member_id, entity_type, plan.entity_id, change.field, change.before
            ):
                continue  # in trial mode the record stays as it is: say so once
            rows.append(
                {
                    "member_id": member_id,
                    "entity_type": entity_type,
                    "entity_id": plan.entity_id,
                    "field": change.field,
                    "before": change.before,
                    "after": change.after,
                    "reasons": list(change.reasons),
                    "dry_run": dry_run,
                    "created_at": now,
                }
            )
    return rows
