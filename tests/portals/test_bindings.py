"""Bindings that heal (portals/bindings.py, docs/LIFECYCLE.md "Bindings that heal"): `event.get`
is compared with what should be bound at worker start and every BINDING_CHECK_INTERVAL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from namecase.portals import lifecycle
from namecase.portals.bindings import BOUND_EVENTS, BindingPlan, plan_bindings
from namecase.portals.crypto import hash_application_token
from namecase.portals.models import Portal
from namecase.queue import leases
from support.stack import Stack, running_stack

from .harness import BOUND, bound_handlers, stored
from .test_recovery import run_due

OURS = "https://namecase.example/events"
OLD = "https://old-namecase.example/events"


def test_what_should_be_bound_is_every_crm_event_the_update_and_the_uninstall() -> None:
    assert set(BOUND_EVENTS) == set(BOUND)
    assert plan_bindings([], OURS) == BindingPlan((), BOUND_EVENTS)


def test_handlers_at_our_address_are_kept_whatever_the_case_of_the_event() -> None:
    bound = [{"event": event.lower(), "handler": OURS, "auth_type": "0"} for event in BOUND]
    assert plan_bindings(bound, OURS).empty


def test_handlers_at_another_address_are_replaced_and_offline_bindings_left_alone() -> None:
    bound = [
        {"event": "ONCRMCONTACTADD", "handler": OLD, "auth_type": "0", "offline": 0},
        {"event": "ONCRMCONTACTADD", "handler": OLD, "auth_type": "1", "offline": 0},
        {"event": "ONCRMCONTACTUPDATE", "handler": OURS, "offline": 0},
        {"event": "ONCRMLEADADD", "connector_id": "namecase", "offline": 1},
        "not a handler",
    ]
    plan = plan_bindings(bound, OURS)
    assert plan.unbind == (("ONCRMCONTACTADD", OLD),)
    assert plan.bind == tuple(event for event in BOUND_EVENTS if event != "ONCRMCONTACTUPDATE")


def test_an_answer_that_is_not_a_list_binds_everything() -> None:
    assert plan_bindings({"error": "x"}, OURS).bind == BOUND_EVENTS


async def _check_falls_due(stack: Stack, member_id: str) -> None:
    """BINDING_CHECK_INTERVAL passes for the portal, and it is due."""
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=stack.settings.binding_check_interval)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Portal).where(Portal.member_id == member_id).values(bindings_checked_at=moment)
        )
        await leases.make_due(session, [member_id])


async def test_handlers_wiped_by_an_app_update_are_bound_again_at_the_next_check(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        handler = f"{stack.settings.public_url}/events"
        portal.handlers = []  # an update deleted them, and no ONAPPUPDATE came (event-bind.md)

        await run_due(stack)
        assert portal.handlers == []  # not due yet
        await _check_falls_due(stack, portal.member_id)
        await run_due(stack)

        assert bound_handlers(portal) == sorted((event, handler) for event in BOUND)
        row = await stored(stack, portal.member_id)
        assert row is not None and row.bindings_checked_at is not None and not row.needs_bind


async def test_a_new_public_url_replaces_the_old_handlers_when_a_worker_starts(
    pg_database_url: str,
) -> None:
    async with running_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        handler = f"{stack.settings.public_url}/events"
        for row in portal.handlers:
            row.handler = OLD  # bound by the service at its former address
        calls = stack.emulator.stats(portal.member_id).calls_by_method

        async with stack.runtime.sessions() as session, session.begin():
            await lifecycle.worker_started(session)
            await leases.make_due(session, [portal.member_id])
        await run_due(stack)

        assert bound_handlers(portal) == sorted((event, handler) for event in BOUND)
        assert calls["event.unbind"] == len(BOUND)
        await run_due(stack)
        assert calls["event.get"] == 2  # the install's and this check: none until the next


async def test_an_app_update_is_confirmed_its_token_stored_and_the_handlers_bound_again(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        handler = f"{stack.settings.public_url}/events"

        token = stack.emulator.update_app(portal.member_id)  # ONAPPUPDATE, then no handlers
        await stack.emulator.wait_deliveries_idle()

        assert [d.status for d in stack.emulator.deliveries if d.event == "ONAPPUPDATE"] == [200]
        assert portal.handlers == []
        await stack.drain()
        assert bound_handlers(portal) == sorted((event, handler) for event in BOUND)
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.application_token_hash == hash_application_token(token)
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        assert stack.emulator.contact(portal.member_id, 1)["NAME"] == "Иван"
