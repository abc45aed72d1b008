"""ONAPPUNINSTALL is honoured when Bitrix24 confirms the app is gone, whatever the stored token's
age and the portal's state, and never on PAYMENT_REQUIRED, a network error or a working app
(portals/uninstall.py, docs/LIFECYCLE.md "Uninstall")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from namecase.emulator import Portal as EmulatedPortal
from namecase.portals.models import Portal
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from support.stack import Stack, running_stack

from .harness import event_auth, post_event, row_counts, stored
from .test_recovery import probe_spacing_passes, run_due, unpaid_portal_with_a_waiting_contact


async def _corrected_contact(stack: Stack) -> EmulatedPortal:
    """An installed portal with settings, queue and audit rows of its own."""
    portal = await stack.installed_portal()
    async with stack.runtime.sessions() as session, session.begin():
        row = await PortalRepository(session).get(portal.member_id)
        assert row is not None
        row.settings = PortalOptions(entities=("contact", "lead")).model_dump(mode="json")
    await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН", "LAST_NAME": "пЕТРОВ"})
    await stack.drain()
    return portal


async def _stored_token_expires(stack: Stack, member_id: str) -> None:
    """An hour passes: the stored access token is expired for us and for the portal."""
    stack.emulator.expire_access_tokens(member_id)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Portal)
            .where(Portal.member_id == member_id)
            .values(access_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        )


def _uninstall_statuses(stack: Stack) -> list[int | None]:
    return [d.status for d in stack.emulator.deliveries if d.event == "ONAPPUNINSTALL"]


async def _forged_uninstall(stack: Stack, portal: EmulatedPortal) -> int:
    """An employee posts ONAPPUNINSTALL with the application_token every frame shows them."""
    auth = event_auth(stack.emulator, portal, with_tokens=False)
    response = await post_event(stack, "ONAPPUNINSTALL", auth, {"CLEAN": "1", "LANGUAGE_ID": "ru"})
    return response.status_code


async def test_an_uninstall_is_honoured_while_the_stored_token_is_expired(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await _corrected_contact(stack)
        await _stored_token_expires(stack, portal.member_id)

        # The refresh answers invalid_client ("приложение не установлено"): confirmed.
        stack.emulator.uninstall_app(portal.member_id, clean=True)
        await stack.emulator.wait_deliveries_idle()

        assert _uninstall_statuses(stack) == [200]
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "uninstalled"
        assert row.refresh_token_enc is None and row.access_token_enc is None
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert after == {**dict.fromkeys(after, 0), "portals": 1}
        stats = stack.emulator.stats(portal.member_id)
        requests, token_requests = stats.total_requests, stats.token_requests
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()
        # No call and no refresh any more (the docs warn that such load can get an app blocked).
        assert (stats.total_requests, stats.token_requests) == (requests, token_requests)


async def test_an_uninstall_of_an_unpaid_portal_is_honoured_once_confirmed(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await unpaid_portal_with_a_waiting_contact(stack)

        stack.emulator.uninstall_app(portal.member_id, clean=True)
        await stack.emulator.wait_deliveries_idle()

        assert _uninstall_statuses(stack) == [200]
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "uninstalled"
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert after == {**dict.fromkeys(after, 0), "portals": 1}


async def test_a_forged_uninstall_of_an_unpaid_portal_deletes_nothing(
    pg_database_url: str,
) -> None:
    """PAYMENT_REQUIRED says nothing about the app being gone: the event is only remembered."""
    async with running_stack(pg_database_url) as stack:
        portal = await unpaid_portal_with_a_waiting_contact(stack)
        before = await row_counts(stack.runtime.sessions, portal.member_id)

        assert await _forged_uninstall(stack, portal) == 202

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "payment_required"
        assert row.uninstall_requested_at is not None and row.uninstall_clean
        assert row.refresh_token_enc is not None
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert after["inbox"] == before["inbox"] and after["changes"] == before["changes"]

        # Paid again: the probe's call works, which refutes the event.
        stack.emulator.set_payment_required(portal.member_id, False)
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)
        await stack.drain()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.uninstall_requested_at is None
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"


async def test_a_forged_uninstall_with_an_expired_token_is_refused_after_a_refresh(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await _corrected_contact(stack)
        await _stored_token_expires(stack, portal.member_id)
        before = await stored(stack, portal.member_id)
        assert before is not None

        assert await _forged_uninstall(stack, portal) == 403

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.uninstall_requested_at is None
        assert row.token_version == before.token_version + 1  # the rotated pair is kept
        assert stack.emulator.tokens.is_live_refresh(
            stack.runtime.cipher.decrypt(row.refresh_token_enc or b""), stack.emulator.now()
        )


async def test_an_uninstall_met_by_a_network_error_is_remembered_and_confirmed_later(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await _corrected_contact(stack)
        before = await row_counts(stack.runtime.sessions, portal.member_id)
        # The portal's host drops the check's connections (every retry of it).
        stack.emulator.faults(portal.member_id).reset_next = 100
        stack.runtime.bitrix._backoff_base = 0.0  # retries without waiting (test speed)

        stack.emulator.uninstall_app(portal.member_id, clean=True)
        await stack.emulator.wait_deliveries_idle()

        assert _uninstall_statuses(stack) == [202]
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.uninstall_requested_at
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert {**after, "rest_calls": 0} == {**before, "rest_calls": 0}  # only the attempts

        stack.emulator.faults(portal.member_id).reset_next = 0
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)  # its visit
        await run_due(stack)  # the worker asks again: the refresh says invalid_client

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "uninstalled"
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert after == {**dict.fromkeys(after, 0), "portals": 1}


async def test_an_uninstall_over_the_check_budget_is_remembered_for_the_worker(
    pg_database_url: str,
) -> None:
    async with running_stack(
        pg_database_url, install_limit_per_caller=1, install_limit_overall=1
    ) as stack:
        portal = await _corrected_contact(stack)  # its install spent the budget

        stack.emulator.uninstall_app(portal.member_id, clean=False)
        await stack.emulator.wait_deliveries_idle()

        assert _uninstall_statuses(stack) == [202]
        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)  # its visit
        await run_due(stack)
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "uninstalled"
        assert row.settings["entities"] == ["contact", "lead"]  # no CLEAN: kept for a reinstall


async def test_forged_uninstalls_past_the_budget_cost_one_question_at_the_next_visit(
    pg_database_url: str,
) -> None:
    async with running_stack(
        pg_database_url, install_limit_per_caller=1, install_limit_overall=1
    ) as stack:
        portal = await _corrected_contact(stack)  # its install spent the budget
        stats = stack.emulator.stats(portal.member_id)
        requests = stats.total_requests

        assert [await _forged_uninstall(stack, portal) for _ in range(5)] == [202] * 5
        assert await run_due(stack) == 0  # nobody is sent to ask at once
        assert stats.total_requests == requests

        await probe_spacing_passes(stack, portal.member_id, recovery_interval=True)  # its visit
        await run_due(stack)

        assert stats.total_requests == requests + 1  # one app.info: the app works
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.uninstall_requested_at is None
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"
