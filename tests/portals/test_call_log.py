"""The REST call log (issue 5 item 5, Marketplace rule bitrix24-protocol.md §10): every exchange
with a portal, redacted, kept for the retention period, readable per portal by the admin."""

from __future__ import annotations

import datetime as dt

import httpx

from namecase.db import utcnow
from namecase.portals.models import RestCallLog
from namecase.portals.repository import PortalRepository
from support.stack import CLIENT_SECRET, Stack, running_stack

from .harness import issued_tokens


async def test_every_exchange_is_logged_without_tokens_or_secrets(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        stack.emulator.expire_access_tokens(portal.member_id)
        await stack.drain()

        calls = list(reversed(await stack.runtime.portals.recent_calls(portal.member_id)))

        assert [(c.method, c.http_status, c.error_code) for c in calls] == [
            ("user.admin", 200, None),  # the installer's tokens are an administrator's
            ("batch", 200, None),  # event.get, feature.get × 2: no offline events here (issue 13)
            ("batch", 200, None),  # event.bind × 6
            ("crm.contact.list", 401, "expired_token"),  # the read, then one refresh
            ("crm.contact.list", 200, None),
            ("batch", 200, None),  # crm.contact.update; its echo is not read again
        ]
        assert "feature.get?CODE=rest_auth_connector" in calls[1].request
        assert "event.bind?event=ONCRMCONTACTADD" in calls[2].request
        assert "crm.contact.update" in calls[5].request and '"u1": true' in calls[5].response
        assert all('"auth": "***"' in c.request for c in calls)
        assert all(c.duration_ms > 0 for c in calls)
        assert all(utcnow() - c.created_at < dt.timedelta(minutes=1) for c in calls)
        secrets = issued_tokens(stack.emulator, portal.member_id) | {CLIENT_SECRET}
        secrets.add(portal.application_token or "")
        logged = "".join(c.request + c.response for c in calls)
        assert [s for s in secrets if s in logged] == []


async def _log(stack: Stack, member_id: str, age: dt.timedelta, method: str) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        PortalRepository(session).log_call(
            RestCallLog(
                member_id=member_id,
                method=method,
                http_status=200,
                duration_ms=1.0,
                request="{}",
                response="{}",
                created_at=utcnow() - age,
            )
        )


async def test_pruning_drops_entries_older_than_the_retention_only(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        retention = dt.timedelta(days=stack.settings.rest_log_retention_days)
        assert retention == dt.timedelta(days=3)  # the Marketplace minimum is the default
        for member_id in ("portal-a", "portal-b"):
            await _log(stack, member_id, retention + dt.timedelta(hours=1), "old.call")
            await _log(stack, member_id, retention - dt.timedelta(hours=1), "kept.call")

        async with stack.runtime.sessions() as session, session.begin():
            pruned = await PortalRepository(session).prune_calls(utcnow() - retention)

        assert pruned == 2
        for member_id in ("portal-a", "portal-b"):
            calls = await stack.runtime.portals.recent_calls(member_id)
            assert [c.method for c in calls] == ["kept.call"]


async def test_recent_calls_are_one_portals_newest_first_and_limited(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        for minutes in (3, 2, 1):
            await _log(stack, "portal-a", dt.timedelta(minutes=minutes), f"a.call{minutes}")
        await _log(stack, "portal-b", dt.timedelta(0), "b.call")

        calls = await stack.runtime.portals.recent_calls("portal-a", limit=2)

        assert [c.method for c in calls] == ["a.call1", "a.call2"]


async def test_the_log_keeps_no_crm_field_but_ids_and_names_on_any_path(
    database_url: str,
) -> None:
    """Issue 14 item 8: the worker's reads, its writes and the undo path (crm.*.get in a batch)
    all leave phones, e-mails and comments out of the log."""
    from ui.harness import page_api, page_stack

    private = ("+7 999 765-43-21", "ivan.private@example.com", "owes us money", "Lenina 1")
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(
            portal.member_id,
            {
                "NAME": "иВАН",
                "LAST_NAME": "петров",
                "PHONE": [{"VALUE": private[0], "VALUE_TYPE": "WORK"}],
                "EMAIL": [{"VALUE": private[1], "VALUE_TYPE": "WORK"}],
                "COMMENTS": private[2],
                "ADDRESS": private[3],
            },
        )
        await stack.drain()
        async with await page_api(http, stack, portal) as api:
            changes = (await api.get("changes")).json()["changes"]
            undone = await api.post("undo", json={"ids": [changes[0]["id"]]})
            assert undone.json()["undone"] == 1
        await stack.drain()

        calls = await stack.runtime.portals.recent_calls(portal.member_id, limit=1000)

    methods = " ".join(c.request for c in calls)
    assert "crm.contact.get" in methods and "crm.contact.update" in methods
    logged = "".join(c.request + c.response for c in calls)
    assert [value for value in private if value in logged] == []
    assert "иВАН" in logged or "Иван" in logged  # the name fields are what the log is for
