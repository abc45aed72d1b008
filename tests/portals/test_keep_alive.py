"""Keep-alive (docs/LIFECYCLE.md): a refresh token lives 180 days ([RU]
settings/oauth/auto-renewal.md), so every portal that is not uninstalled has its tokens refreshed
at least every 30 days — also when its administrator switched the app off and it makes no calls."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from namecase.pipeline.recovery import KEEP_ALIVE_AGE
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.queue import leases
from support.stack import Stack, running_stack

from .harness import stored
from .test_recovery import run_due

MONTH = dt.timedelta(days=29)


async def _a_month_passes(stack: Stack, member_id: str, offset: list[float]) -> None:
    """Both clocks move 29 days: the emulator's, and ours (the row's times move back)."""
    offset[0] += MONTH.total_seconds()
    async with stack.runtime.sessions() as session, session.begin():
        row = await PortalRepository(session).lock(member_id)
        assert row is not None and row.refreshed_at and row.access_expires_at
        row.refreshed_at -= MONTH
        row.access_expires_at -= MONTH
        await leases.make_due(session, [member_id])  # its hourly visit


async def test_a_switched_off_portal_is_refreshed_every_month_and_outlives_180_days(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        async with stack.runtime.sessions() as session, session.begin():
            row = await PortalRepository(session).get(portal.member_id)
            assert row is not None
            row.settings = PortalOptions(enabled=False).model_dump(mode="json")
        offset = [0.0]
        emulator = stack.emulator
        moved = dataclasses.replace(emulator.config, clock=lambda: time.time() + offset[0])
        emulator.config = moved
        stats = emulator.stats(portal.member_id)
        assert MONTH > KEEP_ALIVE_AGE

        for month in range(1, 8):  # 203 days: past a refresh token's 180
            await _a_month_passes(stack, portal.member_id, offset)
            await run_due(stack)
            assert stats.refreshes == month + 1, f"month {month}"  # the install's, then one each
            await run_due(stack)  # visited again the same day: no second refresh
            assert stats.refreshes == month + 1

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        stored_refresh = stack.runtime.cipher.decrypt(row.refresh_token_enc or b"")
        assert emulator.tokens.is_live_refresh(stored_refresh, emulator.now())
        assert not any(method.startswith("crm.") for method in stats.calls_by_method)
