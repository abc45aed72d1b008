"""The page's summary panel: corrections in the last 7 and 30 days, and records checked.

There is no counter of checks: they are derived from what is stored. The inbox keeps a processed
row per record for INBOX_RETENTION_DAYS, and a "fix existing records" pass counts what it read,
so "records checked" covers the last 7 days, or the retention period when that is shorter.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.ui.repository import SummaryRepository
from namecase.ui.schemas import Summary

WEEK = 7
MONTH = 30


async def activity_summary(
    session: AsyncSession, member_id: str, *, now: dt.datetime, retention_days: float
) -> Summary:
    """What the app did for the portal lately (every query scoped to the one portal)."""
    repository = SummaryRepository(session)
    week = now - dt.timedelta(days=WEEK)
    corrected_week, _ = await repository.corrections_since(member_id, week)
    corrected_month, trial_month = await repository.corrections_since(
        member_id, now - dt.timedelta(days=MONTH)
    )
    checked_days = min(float(WEEK), retention_days)
    checked_since = now - dt.timedelta(days=checked_days)
    checked = await repository.records_checked_since(member_id, checked_since)
    checked += await repository.backfill_clean_since(member_id, checked_since)
    return Summary(
        corrected_7d=corrected_week,
        corrected_30d=corrected_month,
        trial_30d=trial_month,
        checked=checked,
        checked_days=checked_days,
    )
