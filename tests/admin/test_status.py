"""/admin/status and /admin: what an operator sees, and who may see it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import select

from namecase.db import utcnow
from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.models import WorkerHeartbeat
from namecase.queue import inbox
from namecase.queue.inbox import Failure, Outcome
from namecase.queue.models import InboxItem, QueuedRecord
from support.stack import Stack, running_stack

ADMIN_TOKEN = "s3cret-admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextlib.asynccontextmanager
async def admin_stack(database_url: str, **overrides: Any) -> AsyncIterator[Stack]:
    async with running_stack(database_url, admin_token=ADMIN_TOKEN, **overrides) as stack:
        yield stack


async def status_of(http: httpx.AsyncClient, stack: Stack, **params: Any) -> dict[str, Any]:
    answer = await http.get(f"{stack.app_url}/admin/status", headers=AUTH, params=params)
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()
    return status


def portal_in(status: dict[str, Any], portal: EmulatedPortal) -> dict[str, Any]:
    (entry,) = [p for p in status["portals"] if p["member_id"] == portal.member_id]
    return entry


async def test_admin_is_off_when_no_token_is_configured(pg_database_url: str) -> None:
    async with running_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        answers = [
            await http.get(f"{stack.app_url}/admin/status", headers=AUTH),
            await http.get(f"{stack.app_url}/admin/status"),
            await http.get(f"{stack.app_url}/admin"),
            await http.post(f"{stack.app_url}/admin/portals/{portal.member_id}/replay"),
        ]

        assert [a.status_code for a in answers] == [404] * 4


async def test_the_status_needs_the_bearer_token(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        url = f"{stack.app_url}/admin/status"
        refused = [
            await http.get(url),
            await http.get(url, headers={"Authorization": "Bearer wrong"}),
            await http.get(url, headers={"Authorization": f"Basic {ADMIN_TOKEN}"}),
            await http.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}),
            await http.get(f"{stack.app_url}/admin", headers={"Authorization": "Bearer wrong"}),
            await http.post(f"{stack.app_url}/admin/portals/x/replay"),
        ]
        accepted = await http.get(url, headers=AUTH)

        assert [r.status_code for r in refused] == [401] * len(refused)
        assert all(r.headers["www-authenticate"] == "Bearer" for r in refused)
        assert accepted.status_code == 200


async def test_a_working_portal_is_described_in_full(database_url: str) -> None:
    async with admin_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()

        status = await status_of(http, stack, calls=50)

        entry = portal_in(status, portal)
        assert entry["domain"] == portal.domain
        assert entry["state"] == "active"
        assert entry["client_endpoint"] == portal.client_endpoint
        expires = dt.datetime.fromisoformat(entry["token_expires_at"])
        assert utcnow() < expires <= utcnow() + dt.timedelta(hours=1, minutes=1)
        assert (entry["enabled"], entry["entities"], entry["dry_run"]) == (True, ["contact"], False)
        assert (entry["pending"], entry["dead"]) == (0, 0)
        assert entry["last_event_at"] is not None
        assert entry["last_error"] is None
        calls = entry["recent_calls"]
        assert entry["rest_calls_last_hour"] == len(calls) and entry["rest_503_last_hour"] == 0
        # Newest first: the install checked its tokens were an admin's, then asked for handlers
        # (event.get, with the offline features in the same batch: issue 13).
        assert [c["method"] for c in calls[-2:]] == ["batch", "user.admin"]
        assert {c["method"] for c in calls} == {
            "user.admin",
            "batch",
            "crm.contact.list",
        }
        assert all(c["http_status"] == 200 and c["duration_ms"] >= 0 for c in calls)
        assert entry["queue"]["lease_owner"] is None
        totals = status["totals"]
        assert totals["portals"] == 1 and totals["portals_by_state"]["active"] == 1
        assert totals["portals_by_state"]["uninstalled"] == 0
        assert totals["rest_calls_last_hour"] == len(calls)


async def test_rate_limited_calls_are_counted_as_503s(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        # A portal whose leaky bucket holds one request: our install burst overflows it.
        portal = await stack.installed_portal(bucket_depth=1, drain_per_second=4)

        entry = portal_in(await status_of(http, stack), portal)

        rejected = stack.emulator.stats(portal.member_id).rejected_503
        assert rejected >= 1
        assert entry["rest_503_last_hour"] == rejected
        # user.admin, batch (event.get and feature.get, issue 13), batch (event.bind)
        assert entry["rest_calls_last_hour"] == rejected + 3


async def test_a_portal_that_stopped_paying_shows_its_state_and_error(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        stack.emulator.set_payment_required(portal.member_id)
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        assert await stack.worker.run_once()  # the portal answers PAYMENT_REQUIRED

        status = await status_of(http, stack)

        entry = portal_in(status, portal)
        assert entry["state"] == "payment_required"
        assert "PAYMENT_REQUIRED" in entry["last_error"]
        assert status["totals"]["portals_by_state"]["payment_required"] == 1


async def test_dead_items_are_listed_and_replayed(database_url: str) -> None:
    async with admin_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.emulator.wait_deliveries_idle()
        await _give_up_on_everything_pending(stack)
        dead = portal_in(await status_of(http, stack), portal)["dead"]

        replayed = await http.post(
            f"{stack.app_url}/admin/portals/{portal.member_id}/replay", headers=AUTH
        )
        await stack.drain()

        assert dead == 1
        assert replayed.json() == {"member_id": portal.member_id, "revived": 1}
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Иван"
        assert portal_in(await status_of(http, stack), portal)["dead"] == 0
        unknown = await http.post(f"{stack.app_url}/admin/portals/nobody/replay", headers=AUTH)
        bad_body = await http.post(
            f"{stack.app_url}/admin/portals/{portal.member_id}/replay",
            headers=AUTH,
            json={"ids": "all"},
        )
        assert unknown.status_code == 404
        assert bad_body.status_code == 422


async def _give_up_on_everything_pending(stack: Stack) -> None:
    """What the worker does after max_attempts failures: the items become dead."""
    async with stack.runtime.sessions() as session, session.begin():
        items = (
            (await session.execute(select(InboxItem).where(InboxItem.state == "pending")))
            .scalars()
            .all()
        )
        failures = [
            Failure(
                QueuedRecord(
                    i.id, i.entity_type, i.entity_id, i.version, i.attempts, i.received_at
                ),
                "HTTP 500",
                utcnow(),
            )
            for i in items
        ]
        await inbox.settle(
            session, Outcome(failed=failures), max_attempts=1, echo_hold=dt.timedelta(0)
        )


async def test_worker_heartbeats_and_leases_are_shown(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        running = asyncio.create_task(stack.worker.run())
        try:
            async with asyncio.timeout(10):
                await _first_heartbeat(stack)
            status = await status_of(http, stack)
        finally:
            stack.worker.stop()
            await running

        (worker,) = status["workers"]
        assert worker["id"] == stack.worker.id and worker["alive"]
        assert status["totals"]["workers_alive"] == 1
        assert portal_in(status, portal)["queue"] is not None


async def _first_heartbeat(stack: Stack) -> None:
    """Poll the workers table (another task writes it; there is no event to wait on)."""
    for _ in range(200):
        async with stack.runtime.sessions() as session:
            if (await session.execute(select(WorkerHeartbeat))).first() is not None:
                return
        await asyncio.sleep(0.05)


async def test_the_status_is_described_in_the_openapi_schema(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        schema = (await http.get(f"{stack.app_url}/openapi.json")).json()

        operation = schema["paths"]["/admin/status"]["get"]
        reference = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert reference == {"$ref": "#/components/schemas/AdminStatus"}
        portal = schema["components"]["schemas"]["PortalStatus"]["properties"]
        for field in ("member_id", "domain", "state", "token_expires_at", "pending", "dead"):
            assert field in portal
        assert operation["security"] == [{"HTTPBearer": []}]
        assert "/admin" in schema["paths"]
        assert "/admin/portals/{member_id}/replay" in schema["paths"]


async def test_the_admin_page_signs_in_or_renders_with_the_header(pg_database_url: str) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        sign_in = await http.get(f"{stack.app_url}/admin")
        rendered = await http.get(f"{stack.app_url}/admin", headers=AUTH)

        assert sign_in.status_code == 200 and 'id="signin"' in sign_in.text
        assert portal.domain not in sign_in.text
        assert rendered.status_code == 200 and portal.domain in rendered.text
        assert rendered.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in rendered.headers["content-security-policy"]
