"""ONAPPUPDATE, ONAPPINSTALL and ONAPPUNINSTALL at /events (bitrix24-protocol.md §1, §2, §8)."""

from __future__ import annotations

import httpx

from namecase.emulator import Portal as EmulatedPortal
from namecase.portals.crypto import hash_application_token
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from support.stack import Stack, running_stack

from .harness import BOUND, bound_handlers, event_auth, post_event, row_counts, stored, update_app


async def _portal_with_history(stack: Stack) -> EmulatedPortal:
    """An installed portal with a corrected contact: settings, queue, inbox and audit rows."""
    portal = await stack.installed_portal()
    async with stack.runtime.sessions() as session, session.begin():
        row = await PortalRepository(session).get(portal.member_id)
        assert row is not None
        row.settings = PortalOptions(entities=("contact", "lead")).model_dump(mode="json")
    await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН", "LAST_NAME": "пЕТРОВ"})
    await stack.drain()
    return portal


async def _contact_event(stack: Stack, portal: EmulatedPortal, **auth: str) -> int:
    response = await post_event(
        stack,
        "ONCRMCONTACTUPDATE",
        event_auth(stack.emulator, portal, **auth),
        {"FIELDS": {"ID": "1"}},
    )
    return response.status_code


async def test_an_app_update_stores_the_new_application_token_and_the_worker_binds_again(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        old_token = portal.application_token
        auth = update_app(stack.emulator, portal)

        response = await post_event(stack, "ONAPPUPDATE", auth, {"VERSION": "2"})

        assert response.status_code == 200
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.application_token_hash == hash_application_token(auth["application_token"])
        assert row.needs_bind
        assert portal.handlers == []  # /events does no REST work: the worker binds
        await stack.drain()
        handler = f"{stack.settings.public_url}/events"
        assert bound_handlers(portal) == sorted((event, handler) for event in BOUND)
        row = await stored(stack, portal.member_id)
        assert row is not None and not row.needs_bind
        assert await _contact_event(stack, portal) == 200
        assert await _contact_event(stack, portal, application_token=old_token or "") == 403


async def test_an_install_event_of_an_unknown_portal_is_confirmed_stored_and_bound(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()
        portal.app_installed = True
        portal.application_token = "a" * 32
        auth = event_auth(stack.emulator, portal)

        response = await post_event(stack, "ONAPPINSTALL", auth, {"LANGUAGE_ID": "ru"})

        assert response.status_code == 200
        await stack.drain()
        assert len(bound_handlers(portal)) == len(BOUND)
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.lang == "ru"


async def test_an_update_event_without_tokens_changes_nothing(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        before = await stored(stack, portal.member_id)
        auth = update_app(stack.emulator, portal)
        for key in ("access_token", "refresh_token", "expires", "expires_in", "user_id"):
            del auth[key]

        response = await post_event(stack, "ONAPPUPDATE", auth)

        assert response.status_code == 403
        after = await stored(stack, portal.member_id)
        assert before is not None and after is not None
        assert after.application_token_hash == before.application_token_hash


async def test_uninstall_without_clean_keeps_the_data_and_drops_the_tokens(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await _portal_with_history(stack)
        before = await row_counts(stack.runtime.sessions, portal.member_id)
        requests = stack.emulator.stats(portal.member_id).total_requests

        stack.emulator.uninstall_app(portal.member_id, clean=False)
        await stack.emulator.wait_deliveries_idle()

        assert [d.status for d in stack.emulator.deliveries if d.event == "ONAPPUNINSTALL"] == [200]
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.state == "uninstalled" and row.uninstalled_at is not None
        assert row.access_token_enc is None and row.refresh_token_enc is None
        assert row.settings["entities"] == ["contact", "lead"]
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        # One REST call more: the check that the stored tokens were really revoked.
        assert after == {**before, "rest_calls": before["rest_calls"] + 1}
        assert after["changes"] > 0 and after["inbox"] > 0 and after["portal_queue"] == 1
        assert await _contact_event(stack, portal) == 403
        await stack.drain()
        assert stack.emulator.stats(portal.member_id).total_requests == requests + 1


async def test_uninstall_with_clean_deletes_that_portals_data_only(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await _portal_with_history(stack)
        neighbour = await _portal_with_history(stack)
        neighbour_before = await row_counts(stack.runtime.sessions, neighbour.member_id)

        stack.emulator.uninstall_app(portal.member_id, clean=True)
        await stack.emulator.wait_deliveries_idle()

        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.state == "uninstalled"
        assert row.access_token_enc is None and row.refresh_token_enc is None
        assert row.settings == PortalOptions().model_dump(mode="json")
        after = await row_counts(stack.runtime.sessions, portal.member_id)
        assert after == {**dict.fromkeys(after, 0), "portals": 1}
        assert await row_counts(stack.runtime.sessions, neighbour.member_id) == neighbour_before
        assert await _contact_event(stack, portal) == 403


async def test_an_uninstall_with_a_wrong_application_token_is_refused(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await _portal_with_history(stack)
        before = await row_counts(stack.runtime.sessions, portal.member_id)
        auth = event_auth(stack.emulator, portal, with_tokens=False, application_token="f" * 32)

        response = await post_event(stack, "ONAPPUNINSTALL", auth, {"CLEAN": "1"})

        assert response.status_code == 403
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.refresh_token_enc is not None
        assert await row_counts(stack.runtime.sessions, portal.member_id) == before


async def test_a_reinstall_after_uninstall_makes_the_portal_active_again(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        stack.emulator.uninstall_app(portal.member_id, clean=True)
        await stack.emulator.wait_deliveries_idle()

        response = await stack.install(portal)

        assert response.status_code == 200
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.uninstalled_at is None
        assert await _contact_event(stack, portal) == 200


async def test_a_forged_uninstall_is_refused_while_the_app_still_works(database_url: str) -> None:
    """Every frame POST shows users the application_token; only revoked rights prove the event."""
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        form = {
            "event": "ONAPPUNINSTALL",
            "data[CLEAN]": "1",
            "auth[member_id]": portal.member_id,
            "auth[application_token]": str(
                stack.emulator.portal(portal.member_id).application_token
            ),
            "auth[domain]": portal.domain,
        }
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{stack.app_url}/events", data=form)
        assert answer.status_code == 403
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.refresh_token_enc is not None


async def test_a_non_administrator_cannot_reinstall_the_app(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        before = await stored(stack, portal.member_id)
        assert before is not None
        emulator = stack.emulator
        user = emulator.frame_tokens(portal.member_id, user_id=2)  # an ordinary employee
        form = emulator.frame_form(emulator.portal(portal.member_id), user)
        form["APPLICATION_TOKEN"] = "chosen-by-the-employee"
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{stack.app_url}/install",
                params=emulator.frame_query(emulator.portal(portal.member_id), "en"),
                data=form,
            )
        assert answer.status_code == 403
        assert "administrator" in answer.text
        after = await stored(stack, portal.member_id)
        assert after is not None
        assert after.application_token_hash == before.application_token_hash
        assert after.token_version == before.token_version
