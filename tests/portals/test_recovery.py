"""Temporarily unavailable portals (docs/LIFECYCLE.md): their work waits, a probe looks every
RECOVERY_INTERVAL or when someone of the portal turns up, and the first success resumes it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
from sqlalchemy import select, update

from namecase.db import utcnow
from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.recovery import UNREACHABLE_AFTER_FAILURES
from namecase.portals import lifecycle
from namecase.portals.models import Portal
from namecase.queue.models import InboxItem, PortalQueue
from support.stack import Stack, running_stack
from ui.harness import open_frame

from .harness import stored


async def run_due(stack: Stack) -> int:
    """Deliver what the emulator sends, then run every unit that is due now; how many ran."""
    await stack.emulator.wait_deliveries_idle()
    units = 0
    while await stack.worker.run_once():
        units += 1
    return units


async def probe_spacing_passes(stack: Stack, member_id: str, *, recovery_interval: bool) -> None:
    """Time passes for the portal's queue row: the probes' spacing, and the recovery interval."""
    values: dict[str, object] = {"not_before": None}
    if recovery_interval:
        values["due_at"] = utcnow()
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(PortalQueue).where(PortalQueue.member_id == member_id).values(**values)
        )


async def pending_items(stack: Stack, member_id: str) -> list[InboxItem]:
    async with stack.runtime.sessions() as session:
        statement = select(InboxItem).where(
            InboxItem.member_id == member_id, InboxItem.state == "pending"
        )
        return list((await session.execute(statement)).scalars())


async def unpaid_portal_with_a_waiting_contact(stack: Stack) -> EmulatedPortal:
    """A portal whose subscription ended while a badly typed contact waits for us."""
    portal = await stack.installed_portal()
    stack.emulator.set_payment_required(portal.member_id)
    await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН", "LAST_NAME": "пЕТРОВ"})
    await run_due(stack)
    row = await stored(stack, portal.member_id)
    assert row is not None and row.state == "payment_required"
    assert row.last_error is not None and "PAYMENT_REQUIRED" in row.last_error
    return portal


async def test_an_unpaid_portal_keeps_its_records_is_probed_and_resumes_when_paid(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await unpaid_portal_with_a_waiting_contact(stack)
        stats = stack.emulator.stats(portal.member_id)
        # Events of an unpaid portal are kept for later, not refused (they would be lost).
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "мАРИЯ"})
        await run_due(stack)
        assert [d.status for d in stack.emulator.deliveries][-1] == 200
        waiting = await pending_items(stack, portal.member_id)
        assert len(waiting) == 2 and all(item.attempts == 0 for item in waiting)
        requests = stats.total_requests

        await run_due(stack)  # within the probes' spacing: nothing is called
        assert stats.total_requests == requests
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await run_due(stack)  # RECOVERY_INTERVAL later: one cheap probe, still unpaid
        assert stats.total_requests == requests + 1
        [probe] = await stack.runtime.portals.recent_calls(portal.member_id, limit=1)
        assert (probe.method, probe.error_code) == ("app.info", "PAYMENT_REQUIRED")
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "payment_required"

        stack.emulator.set_payment_required(portal.member_id, False)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.last_error is None
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"
        assert stack.emulator.contact(portal.member_id, 2)["NAME"] == "Мария"
        assert await stack.pending() == 0


async def test_an_event_from_an_unpaid_portal_makes_it_probed_at_once(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await unpaid_portal_with_a_waiting_contact(stack)
        stack.emulator.set_payment_required(portal.member_id, False)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=False)
        assert await run_due(stack) == 0  # the next probe is RECOVERY_INTERVAL away

        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "пЁТР"})
        await stack.drain()

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"
        assert stack.emulator.contact(portal.member_id, 2)["NAME"] == "Пётр"


async def test_opening_the_page_of_an_unpaid_portal_makes_it_probed_at_once(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await unpaid_portal_with_a_waiting_contact(stack)
        stack.emulator.set_payment_required(portal.member_id, False)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=False)
        assert await run_due(stack) == 0

        page = await open_frame(http, stack, portal)
        assert page.status_code == 200
        await stack.drain()

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"


async def test_probes_asked_for_by_a_crowd_of_events_stay_spaced(pg_database_url: str) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await unpaid_portal_with_a_waiting_contact(stack)
        stats = stack.emulator.stats(portal.member_id)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=False)
        requests = stats.total_requests

        for name in ("аННА", "оЛЕГ", "иРИНА"):
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": name})
            await run_due(stack)

        assert stats.total_requests == requests + 1  # one probe, then PROBE_SPACING
        assert len(await pending_items(stack, portal.member_id)) == 4


async def test_a_portal_that_stops_answering_becomes_unreachable_and_resumes_later(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        stack.runtime.bitrix._backoff_base = 0.0  # the client's own retries without waiting
        faults = stack.emulator.faults(portal.member_id)
        faults.error_rate = 1.0  # every request answers 500
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})

        for _ in range(UNREACHABLE_AFTER_FAILURES):
            await run_due(stack)
            await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "unreachable"
        [waiting] = await pending_items(stack, portal.member_id)
        assert waiting.attempts == 0  # the portal's trouble is not the record's

        faults.error_rate = 0.0
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"


async def test_a_refused_client_secret_stops_refreshes_until_a_worker_starts_again(
    pg_database_url: str,
) -> None:
    """invalid_client: the app is gone or our secret is wrong. No refresh loop; the operator's
    fix comes with a restart, and a worker start tries once more."""
    async with running_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        emulator = stack.emulator
        right = emulator.config
        emulator.config = dataclasses.replace(right, client_secret="rotated-in-the-cabinet")
        await _token_expires(stack, portal.member_id)
        await emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await run_due(stack)

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "auth_failed"
        assert row.last_error is not None and row.last_error.startswith("invalid_client")
        token_requests = emulator.token_requests
        for _ in range(3):  # visits without a new reason: no refresh
            await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
            await run_due(stack)
        assert emulator.token_requests == token_requests

        emulator.config = right  # the operator fixes NAMECASE_CLIENT_SECRET and restarts
        async with stack.runtime.sessions() as session, session.begin():
            await lifecycle.worker_started(session)
        await stack.drain()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert emulator.token_requests == token_requests + 1
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"


async def _token_expires(stack: Stack, member_id: str) -> None:
    stack.emulator.expire_access_tokens(member_id)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Portal)
            .where(Portal.member_id == member_id)
            .values(access_expires_at=utcnow() - dt.timedelta(minutes=5))
        )


async def test_a_closed_on_premise_portal_is_unreachable_until_it_reopens(
    database_url: str,
) -> None:
    """PORTAL_DELETED is "Публичная часть сайта закрыта" (system-errors.md): not an uninstall."""
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        stack.emulator.close_portal(portal.member_id)
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await run_due(stack)

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "unreachable"
        assert row.refresh_token_enc is not None and row.last_error is not None
        assert "PORTAL_DELETED" in row.last_error
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "пЁТР"})
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await run_due(stack)  # a probe: still closed
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "unreachable"

        stack.emulator.close_portal(portal.member_id, closed=False)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"
        assert stack.emulator.contact(portal.member_id, 2)["NAME"] == "Пётр"
