"""The reconciliation sweep: Bitrix24 never re-sends a lost event delivery (bitrix24-protocol.md
§2), so every RECONCILE_INTERVAL each active portal's records modified since the last sweep are
listed, and those whose names need work are queued.

Paging is by an `>ID` cursor with `start=-1` ([RU] settings/performance/huge-data.md): no COUNT on
every page, and no record skipped when the set matching the filter moves while we page (an offset
would shift when a record leaves or joins the filter mid-sweep).
"""

from __future__ import annotations

import datetime as dt

from namecase.db import utcnow
from namecase.pipeline.context import WorkerContext
from namecase.pipeline.listing import PAGE_SIZE, enqueue_needing_work, listed_rows
from namecase.pipeline.scheduling import RECONCILE_MARGIN
from namecase.portals.link import StoredPortalLink
from namecase.portals.schemas import PortalOptions


async def sweep(
    ctx: WorkerContext,
    link: StoredPortalLink,
    options: PortalOptions,
    since: dt.datetime,
) -> dt.datetime:
    """List records modified since `since` (less a margin); returns when this sweep started."""
    started = utcnow()
    modified_after = (since - RECONCILE_MARGIN).isoformat(timespec="seconds")
    for entity_type in options.entities:
        last_id = 0
        while True:
            page = await ctx.bitrix.call_page(
                link,
                f"crm.{entity_type}.list",
                {
                    "filter": {">DATE_MODIFY": modified_after, ">ID": last_id},
                    "select": ["ID", *options.fields],
                    "order": {"ID": "ASC"},
                    "start": -1,
                },
            )
            rows = listed_rows(page.result)
            async with ctx.sessions() as session, session.begin():
                await enqueue_needing_work(
                    session, link.member_id, options, entity_type, rows, "reconcile"
                )
            if len(rows) < PAGE_SIZE:
                break
            last_id = max(int(row["ID"]) for row in rows)
    return started
