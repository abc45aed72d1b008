"""The SQL the settings page needs beyond the portal, pipeline and inbox repositories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.pipeline.models import Change, KeptValue
from namecase.portals.models import Portal
from namecase.portals.schemas import PortalOptions


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
