"""/metrics: pipeline counters and the database-backed gauges an operator alerts on."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.admin.metrics import DatabaseCollector
from support.stack import Stack, running_stack

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:9/namecase"  # nothing listens on port 9
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient, stack: Stack) -> Samples:
    answer = await http.get(f"{stack.app_url}/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_inbox_depth_and_portals_by_state_are_read_at_scrape_time(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "пЁТР"})
        await stack.emulator.wait_deliveries_idle()

        waiting = await scrape(http, stack)
        await stack.drain()
        settled = await scrape(http, stack)

        assert value(waiting, "namecase_database_scrape_ok") == 1.0
        assert value(waiting, "namecase_inbox_items", state="pending") == 2.0
        assert value(waiting, "namecase_inbox_items", state="dead") == 0.0
        assert value(waiting, "namecase_inbox_oldest_pending_seconds") > 0.0
        assert value(waiting, "namecase_portals", state="active") == 1.0
        assert value(waiting, "namecase_portals", state="auth_failed") == 0.0
        assert value(settled, "namecase_inbox_items", state="pending") == 0.0
        assert value(settled, "namecase_inbox_oldest_pending_seconds") == 0.0


async def test_pipeline_counters_move_with_the_work_done(pg_database_url: str) -> None:
    async with running_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        before = await scrape(http, stack)
        stack.emulator.expire_access_tokens(portal.member_id)  # the next call must refresh
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        after = await scrape(http, stack)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("namecase_events_received_total") >= 1
        assert grew("namecase_events_accepted_total", event="ONCRMCONTACTADD") == 1
        assert grew("namecase_records_updated_total", entity_type="contact") == 1
        assert grew("namecase_event_to_update_seconds_count") == 1
        assert grew("namecase_rest_calls_total", method="crm.contact.list", outcome="ok") >= 1
        assert grew("namecase_rest_calls_total", method="batch", outcome="ok") >= 1
        assert grew("namecase_token_refreshes_total", outcome="ok") == 1


async def test_a_database_that_cannot_be_read_is_reported_not_fatal() -> None:
    collector = DatabaseCollector(timeout=5.0)
    collector.attach(UNREACHABLE)

    families = {family.name: family for family in collector.collect()}

    assert families["namecase_database_scrape_ok"].samples[0].value == 0.0
    assert families["namecase_inbox_items"].samples == []


async def test_a_snapshot_refreshed_just_before_the_scrape_is_used_without_a_second_read(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    collector = DatabaseCollector(timeout=5.0)
    collector.attach(UNREACHABLE)

    await collector.refresh(sessions)
    refreshed = {family.name: family for family in collector.collect()}
    unrefreshed = {family.name: family for family in collector.collect()}

    assert refreshed["namecase_database_scrape_ok"].samples[0].value == 1.0
    assert refreshed["namecase_portals"].samples[0].labels == {"state": "active"}
    # A snapshot serves one scrape; the next one reads again (here: the unreadable URL).
    assert unrefreshed["namecase_database_scrape_ok"].samples[0].value == 0.0
