"""The SQL the settings page needs beyond the portal, pipeline and inbox repositories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.pipeline.models import Backfill, Change, KeptValue
from namecase.portals.models import Portal
from namecase.portals.schemas import PortalOptions
from namecase.queue.models import InboxItem


class SettingsPageRepository:
    """Options, history bookkeeping and kept values of one portal."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def save_options(self, portal: Portal, options: PortalOptions) -> None:
        """Store the options; keys a newer version added to the JSON are kept as they are."""
        stored: dict[str, Any] = dict(portal.settings or {})
        stored.update(options.model_dump(mode="json"))
        portal.settings = stored

    async def has_changes(self, member_id: str) -> bool:
        statement = select(func.count()).select_from(
            select(Change.id).where(Change.member_id == member_id).limit(1).subquery()
        )
        return bool((await self.session.execute(statement)).scalar_one())

    async def mark_undone(self, member_id: str, ids: Sequence[int], at: dt.datetime) -> None:
        if not ids:
            return
        await self.session.execute(
            update(Change)
            .where(Change.member_id == member_id, Change.id.in_(ids), Change.undone_at.is_(None))
            .values(undone_at=at)
        )

    async def forget_kept(
        self, member_id: str, entity_type: str, entity_id: int, field: str, value: str | None
    ) -> None:
        """Drop a kept value that never reached the portal (its write failed)."""
        await self.session.execute(
            delete(KeptValue).where(
                KeptValue.member_id == member_id,
                KeptValue.entity_type == entity_type,
                KeptValue.entity_id == entity_id,
                KeptValue.field == field,
                KeptValue.value.is_(None) if value is None else KeptValue.value == value,
            )
        )


class SummaryRepository:
    """Counts behind the page's summary panel: what the app did for one portal lately."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def corrections_since(self, member_id: str, since: dt.datetime) -> tuple[int, int]:
        """(corrections written, corrections foreseen in trial mode) since `since`."""
        statement = select(
            func.count(), func.coalesce(func.sum(case((Change.dry_run, 1), else_=0)), 0)
        ).where(Change.member_id == member_id, Change.created_at >= since)
        total, trial = (await self.session.execute(statement)).one()
        return int(total) - int(trial), int(trial)

    async def records_checked_since(self, member_id: str, since: dt.datetime) -> int:
        """Distinct records the worker read since `since`: inbox rows settled as done, and rows
        of records it wrote, held for the echo of the write (queue/echoes.py).

        A row settled without work (portal disabled, entity switched off) or revived from dead
        carries a last_error and is not a check. Done rows live INBOX_RETENTION_DAYS.
        """
        checked = or_(
            and_(InboxItem.state == "done", InboxItem.last_error.is_(None)),
            # Held for the echo: still pending, its version counting down to the echo (<= 0).
            and_(InboxItem.state == "pending", InboxItem.version <= 0),
        )
        settled = (
            select(InboxItem.entity_type, InboxItem.entity_id)
            .where(InboxItem.member_id == member_id, checked, InboxItem.updated_at >= since)
            .distinct()
            .subquery()
        )
        statement = select(func.count()).select_from(settled)
        return int((await self.session.execute(statement)).scalar_one())

    async def backfill_clean_since(self, member_id: str, since: dt.datetime) -> int:
        """Records a "fix existing records" pass started since `since` read and found in order.

        The ones it queued are counted with the inbox rows instead.
        """
        statement = select(func.coalesce(func.sum(Backfill.scanned - Backfill.queued), 0)).where(
            Backfill.member_id == member_id, Backfill.started_at >= since
        )
        return max(0, int((await self.session.execute(statement)).scalar_one()))
