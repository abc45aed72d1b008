"""Records found by listing a portal (sweeps and backfills): queue those whose names need work.

A listed record whose names are already right also settles the arrived echo of our own write,
if one is held for it (queue.echoes): the listing was the read that echo would have cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.pipeline.repository import ChangeRepository
from namecase.pipeline.service import plan_record
from namecase.portals.schemas import PortalOptions
from namecase.queue import Enqueued, echoes, enqueue

PAGE_SIZE = 50  # list methods answer 50 records a page (protocol §7)


def listed_rows(result: Any) -> list[Mapping[str, Any]]:
    """The records of a list page that carry an ID (anything else is ignored)."""
    rows = result if isinstance(result, list) else []
    return [row for row in rows if isinstance(row, dict) and "ID" in row]


async def enqueue_needing_work(
    session: AsyncSession,
    member_id: str,
    options: PortalOptions,
    entity_type: str,
    rows: Sequence[Mapping[str, Any]],
    source: str,
) -> int:
    """Queue the listed records whose names would change; returns how many were queued."""
    ids = [int(row["ID"]) for row in rows]
    kept = await ChangeRepository(session).kept_values(member_id, entity_type, ids)
    needed: list[int] = []
    clean: list[int] = []
    for entity_id, row in zip(ids, rows, strict=True):
        plan = plan_record(entity_type, entity_id, row, options, kept.get(entity_id))
        (needed if plan.changes else clean).append(entity_id)
    await enqueue(session, [Enqueued(member_id, entity_type, i, source) for i in needed])
    await echoes.settle_listed_clean(session, member_id, entity_type, clean)
    return len(needed)
