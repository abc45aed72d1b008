"""The page's summary panel and record links: corrections in 7 and 30 days, records checked.

"Records checked" is derived from what is stored (processed inbox rows, kept
INBOX_RETENTION_DAYS, and what a "fix existing records" pass read), so these tests write those
rows as the worker would and read the numbers the page shows.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx

from namecase.db import utcnow
from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.models import Backfill, Change
from namecase.queue.models import InboxItem
from support.stack import Stack

from .harness import open_frame, page_api, page_stack

DAY = dt.timedelta(days=1)


def change(member_id: str, entity_id: int, age: dt.timedelta, *, dry_run: bool = False) -> Change:
    return Change(
        member_id=member_id,
        entity_type="contact",
        entity_id=entity_id,
        field="NAME",
        before="иВАН",
        after="Иван",
        reasons=["caps_lock"],
        dry_run=dry_run,
        created_at=utcnow() - age,
    )


def processed(
    member_id: str, entity_id: int, age: dt.timedelta, *, error: str | None = None
) -> InboxItem:
    at = utcnow() - age
    return InboxItem(
        member_id=member_id,
        entity_type="contact",
        entity_id=entity_id,
        state="done",
        last_error=error,
        received_at=at,
        updated_at=at,
        next_attempt_at=at,
    )


async def store_history(stack: Stack, member_id: str, other_member_id: str) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        session.add_all(
            [
                change(member_id, 1, DAY),
                change(member_id, 2, 3 * DAY),
                change(member_id, 3, 10 * DAY),
                change(member_id, 4, 40 * DAY),  # older than the panel looks
                change(member_id, 5, 2 * DAY, dry_run=True),  # trial mode: foreseen only
                change(other_member_id, 6, DAY),  # another portal's
                processed(member_id, 1, DAY),
                processed(member_id, 1, 2 * DAY),  # the same record checked twice: one record
                processed(member_id, 2, 3 * DAY),
                processed(member_id, 7, 2 * DAY, error="portal disabled"),  # skipped, no check
                processed(member_id, 8, 8 * DAY),  # outside the window
                processed(other_member_id, 9, DAY),
                Backfill(
                    member_id=member_id,
                    entity_type="contact",
                    state="done",
                    scanned=120,
                    queued=80,  # those are the inbox rows; the other 40 were in order
                    started_at=utcnow() - 2 * DAY,
                ),
            ]
        )


async def test_the_summary_counts_this_portals_recent_work(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        other = await stack.installed_portal()
        await store_history(stack, portal.member_id, other.member_id)
        async with await page_api(http, stack, portal) as api:
            state = (await api.get("state")).json()

    assert state["summary"] == {
        "corrected_7d": 2,
        "corrected_30d": 3,
        "trial_30d": 1,
        "checked": 2 + 40,
        "checked_days": 7.0,
    }


async def test_records_checked_cover_only_the_retention_when_it_is_shorter(
    pg_database_url: str,
) -> None:
    async with (
        page_stack(pg_database_url, inbox_retention_days=2.5) as stack,
        httpx.AsyncClient() as http,
    ):
        portal = await stack.installed_portal()
        other = await stack.installed_portal()
        await store_history(stack, portal.member_id, other.member_id)
        async with await page_api(http, stack, portal) as api:
            summary = (await api.get("state")).json()["summary"]
        page = await open_frame(http, stack, portal, "ru")

    assert (summary["checked"], summary["checked_days"]) == (1 + 40, 2.5)
    assert "записей проверено за 2.5 дн." in page.text
    assert re.search(r'<b id="checked">41</b>', page.text)


async def test_the_page_renders_the_summary_and_the_portal_address(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal: EmulatedPortal = await stack.installed_portal()
        await stack.emulator.user_add_contact(
            portal.member_id, {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ"}
        )
        await stack.drain()
        page = await open_frame(http, stack, portal, "en")

    assert '<b id="corrected-7d">2</b> names corrected in 7 days' in page.text
    assert '<b id="checked">1</b> records checked in 7 days' in page.text
    assert 'id="trial-30d" class="hint" hidden' in page.text
    # Links to the records are built on the portal's own address (its REST endpoint's base).
    portal_url = portal.client_endpoint.removesuffix("rest/")
    assert f'<meta name="namecase-portal" content="{portal_url}">' in page.text
