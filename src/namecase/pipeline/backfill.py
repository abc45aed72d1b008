"""Backfill: a resumable pass over a portal's existing records, started from the page or the CLI
and carried out by whichever worker holds the portal's lease, one list page per unit of work.

Paging is by an `>ID` cursor kept in the `backfills` row (order ID ascending, `start=-1`, [RU]
settings/performance/huge-data.md), so a restarted worker resumes where the last committed page
ended, and no page pays for a COUNT: on a portal of millions of records one could pass the 60 s a
request may take. Progress is estimated from the cursor against the highest ID at the start
(read once, newest first, `start=-1`); the record count is known when the pass ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.pipeline.context import WorkerContext
from namecase.pipeline.listing import PAGE_SIZE, enqueue_needing_work, listed_rows
from namecase.pipeline.models import Backfill
from namecase.pipeline.repository import BackfillRepository, ChangeRepository
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal
from namecase.portals.schemas import PortalOptions
from namecase.portals.service import options_of
from namecase.queue import inbox, leases


class BackfillRefused(Exception):
    """A backfill cannot start now; `reason` is a text key (backfill_off, backfill_already)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EntityProgress(BaseModel):
    entity_type: str
    state: str
    scanned: int
    total: int | None
    queued: int


class BackfillProgress(BaseModel):
    """The "fix existing records" pass: how far the scan is, and what it found."""

    state: Literal["idle", "running", "done"]
    percent: int = Field(ge=0, le=100)
    scanned: int
    total: int | None
    queued: int
    fixed: int
    pending: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    entities: list[EntityProgress]


async def start_backfill(session: AsyncSession, portal: Portal) -> None:
    """Start a pass over every existing record of the enabled entities, due at once."""
    options = options_of(portal)
    if not options.enabled:
        raise BackfillRefused("backfill_off")
    backfills = BackfillRepository(session)
    if await backfills.running(portal.member_id) is not None:
        raise BackfillRefused("backfill_already")
    await backfills.start(portal.member_id, options.entities)
    await leases.make_due(session, [portal.member_id])


async def backfill_progress(session: AsyncSession, portal: Portal) -> BackfillProgress:
    """How far the latest backfill of the enabled entities has come."""
    entities = options_of(portal).entities
    rows = [
        row
        for row in await BackfillRepository(session).of_portal(portal.member_id)
        if row.entity_type in entities
    ]
    pending = (await inbox.counts(session, portal.member_id)).get("pending", 0)
    if not rows:
        return BackfillProgress(
            state="idle",
            percent=0,
            scanned=0,
            total=None,
            queued=0,
            fixed=0,
            pending=pending,
            started_at=None,
            finished_at=None,
            entities=[],
        )
    started_at = min(row.started_at for row in rows)
    running = any(row.state == "running" for row in rows)
    totals = [None if row.state == "running" else row.total for row in rows]
    return BackfillProgress(
        state="running" if running else "done",
        percent=_percent(rows),
        scanned=sum(row.scanned for row in rows),
        total=None if None in totals else sum(t for t in totals if t is not None),
        queued=sum(row.queued for row in rows),
        fixed=await ChangeRepository(session).count_since(portal.member_id, started_at),
        pending=pending,
        started_at=started_at,
        finished_at=None if running else max(row.finished_at or started_at for row in rows),
        entities=[
            EntityProgress(
                entity_type=row.entity_type,
                state=row.state,
                scanned=row.scanned,
                total=None if row.state == "running" else row.total,
                queued=row.queued,
            )
            for row in sorted(rows, key=lambda r: r.entity_type)
        ],
    )


def _percent(rows: Sequence[Backfill]) -> int:
    """Each entity type weighs the same: the cursor's way to the highest ID at the start."""
    fractions = []
    for row in rows:
        if row.state != "running":
            fractions.append(1.0)
        elif row.max_id:
            fractions.append(min(1.0, row.last_id / row.max_id))
        else:
            fractions.append(0.0)
    done = sum(fractions) / len(fractions)
    # 100 only when every pass has finished: records added since the start may still be ahead.
    return 100 if done == 1.0 else min(99, int(done * 100))


async def advance_backfill(
    ctx: WorkerContext, link: StoredPortalLink, options: PortalOptions
) -> bool:
    """Read the next page of the portal's running backfill, if any; False when none runs."""
    member_id = link.member_id
    async with ctx.sessions() as session:
        backfill = await BackfillRepository(session).running(member_id)
    if backfill is None:
        return False
    entity_type = backfill.entity_type
    if entity_type not in options.entities:
        async with ctx.sessions() as session, session.begin():
            await BackfillRepository(session).stop(member_id, entity_type)
        return True
    max_id = backfill.max_id
    if max_id is None:
        max_id = await _highest_id(ctx, link, entity_type)
    rows = listed_rows(
        (
            await ctx.bitrix.call_page(
                link,
                f"crm.{entity_type}.list",
                {
                    "filter": {">ID": backfill.last_id},
                    "select": ["ID", *options.fields],
                    "order": {"ID": "ASC"},
                    "start": -1,
                },
            )
        ).result
    )
    async with ctx.sessions() as session, session.begin():
        queued = await enqueue_needing_work(
            session, member_id, options, entity_type, rows, "backfill"
        )
        await BackfillRepository(session).advance(
            member_id,
            entity_type,
            scanned=len(rows),
            queued=queued,
            last_id=max((int(row["ID"]) for row in rows), default=None),
            max_id=max_id,
            finished=len(rows) < PAGE_SIZE,
        )
    return True


async def _highest_id(ctx: WorkerContext, link: StoredPortalLink, entity_type: str) -> int:
    """The highest record ID now (0 when there is none): one request, newest first, no COUNT."""
    page = await ctx.bitrix.call_page(
        link,
        f"crm.{entity_type}.list",
        {"select": ["ID"], "order": {"ID": "DESC"}, "start": -1},
    )
    rows = listed_rows(page.result)
    return int(rows[0]["ID"]) if rows else 0
