"""/admin: the last 24 hours hour by hour, and each portal's state and event mode in words."""

from __future__ import annotations

import datetime as dt
import itertools

import httpx

from namecase.db import utcnow
from namecase.pipeline.models import Change
from namecase.queue.models import InboxItem

from .test_status import admin_stack, portal_in, status_of

HOUR = dt.timedelta(hours=1)


def queued(member_id: str, entity_id: int, at: dt.datetime, source: str = "event") -> InboxItem:
    return InboxItem(
        member_id=member_id,
        entity_type="contact",
        entity_id=entity_id,
        source=source,
        state="done",
        received_at=at,
        updated_at=at,
        next_attempt_at=at,
    )


def corrected(member_id: str, entity_id: int, at: dt.datetime, dry_run: bool = False) -> Change:
    return Change(
        member_id=member_id,
        entity_type="contact",
        entity_id=entity_id,
        field="NAME",
        before="иВАН",
        after="Иван",
        reasons=["caps_lock"],
        dry_run=dry_run,
        created_at=at,
    )


async def test_the_last_day_is_counted_hour_by_hour(database_url: str) -> None:
    async with admin_stack(database_url) as stack, httpx.AsyncClient() as http:
        now = utcnow()
        queued_at = [now - 2 * HOUR, now - 2 * HOUR, now - 5 * HOUR, now - 23 * HOUR]
        corrected_at = [now - 2 * HOUR, now - 10 * HOUR]
        async with stack.runtime.sessions() as session, session.begin():
            session.add_all([queued("m", i, at) for i, at in enumerate(queued_at)])
            session.add(queued("m", 9, now - 2 * HOUR, source="backfill"))
            session.add(queued("m", 10, now - 25 * HOUR))  # a day ago: off the chart
            session.add_all([corrected("m", i, at) for i, at in enumerate(corrected_at)])
            session.add(corrected("m", 7, now - 2 * HOUR, dry_run=True))  # foreseen only
            session.add(corrected("m", 8, now - 30 * HOUR))
        activity = (await status_of(http, stack))["activity"]

    hours = [dt.datetime.fromisoformat(hour) for hour in activity["hours"]]
    assert len(hours) == 24
    assert all(later - earlier == HOUR for earlier, later in itertools.pairwise(hours))
    assert hours[-1] <= now < hours[-1] + HOUR
    assert (hours[-1].minute, hours[-1].second) == (0, 0)

    def bucket(at: dt.datetime) -> int:
        return int((at - hours[0]) // HOUR)

    expected_queued = [0] * 24
    for at in [*queued_at, now - 2 * HOUR]:
        expected_queued[bucket(at)] += 1
    expected_corrections = [0] * 24
    for at in corrected_at:
        expected_corrections[bucket(at)] += 1
    assert activity["queued"] == expected_queued
    assert activity["corrections"] == expected_corrections


async def test_each_portal_says_its_state_and_event_mode_in_words(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        entry = portal_in(await status_of(http, stack), portal)
        page = await http.get(f"{stack.app_url}/admin")

    assert entry["state"] == "active"
    assert entry["state_explained"].startswith("Served")
    assert entry["event_mode"] == "online"
    assert "Bitrix24 posts every change to /events" in entry["event_mode_explained"]
    assert page.status_code == 200 and 'id="activity-chart"' in page.text
