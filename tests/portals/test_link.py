"""StoredPortalLink with the real client against the emulator: refresh on expiry, renames, and
the terminal states that stop every call (DESIGN.md §5, bitrix24-protocol.md §4, §5)."""

from __future__ import annotations

import datetime as dt

import pytest

from namecase.bitrix import InvalidGrant, PaymentRequired
from namecase.portals.link import PortalInactive, StoredPortalLink
from namecase.portals.repository import PortalRepository
from support.stack import Stack, running_stack

from .harness import stored


async def _link(stack: Stack, member_id: str) -> StoredPortalLink:
    row = await stored(stack, member_id)
    assert row is not None
    return stack.runtime.portals.link(row)


async def _stored_access_token(stack: Stack, member_id: str) -> str:
    row = await stored(stack, member_id)
    assert row is not None and row.access_token_enc is not None
    return stack.runtime.cipher.decrypt(row.access_token_enc)


async def test_expiry_between_batches_costs_one_refresh_and_the_batch_succeeds(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"n{n}"})
            for n in range(3)
        ]
        commands = {f"r{i}": ("crm.contact.get", {"id": i}) for i in ids}
        link = await _link(stack, portal.member_id)
        await stack.runtime.bitrix.batch(link, commands)
        refreshes = stack.emulator.refresh_count
        old_token = await _stored_access_token(stack, portal.member_id)

        stack.emulator.expire_access_tokens(portal.member_id)
        outcome = await stack.runtime.bitrix.batch(link, commands)

        assert outcome.errors == {}
        assert [outcome.result[f"r{i}"]["NAME"] for i in ids] == ["n0", "n1", "n2"]
        assert stack.emulator.refresh_count == refreshes + 1
        assert await _stored_access_token(stack, portal.member_id) != old_token


async def test_expiry_in_the_middle_of_a_burst_is_invisible_to_the_pipeline(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        first = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"иВАН{n}"})
            for n in range(3)
        ]
        await stack.drain()
        refreshes = stack.emulator.refresh_count

        stack.emulator.expire_access_tokens(portal.member_id)
        second = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": f"пЁТР{n}"})
            for n in range(3)
        ]
        await stack.drain()

        names = [stack.emulator.contact(portal.member_id, i)["NAME"] for i in first + second]
        assert names == ["Иван0", "Иван1", "Иван2", "Пётр0", "Пётр1", "Пётр2"]
        assert stack.emulator.refresh_count == refreshes + 1
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"


async def test_a_renamed_portal_is_followed_and_its_new_endpoint_stored(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal(domain="old-name.bitrix24.test")
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "Анна"})
        link = await _link(stack, portal.member_id)

        stack.emulator.rename_portal(portal.member_id, "new-name.bitrix24.test")
        contact = await stack.runtime.bitrix.call(link, "crm.contact.get", {"id": contact_id})

        assert contact["NAME"] == "Анна"
        assert stack.emulator.stats(portal.member_id).redirects_302 == 1
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.client_endpoint == portal.client_endpoint
        # The new host, as Bitrix24 moves a portal (settings/how-to-call-rest-api/change-domen.md).
        assert row.client_endpoint.startswith("http://new-name.bitrix24.test:")
        assert row.domain == "new-name.bitrix24.test"
        fresh_link = await _link(stack, portal.member_id)
        await stack.runtime.bitrix.call(fresh_link, "crm.contact.get", {"id": contact_id})
        assert stack.emulator.stats(portal.member_id).redirects_302 == 1  # straight there now


async def test_payment_required_stops_every_further_call(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        link = await _link(stack, portal.member_id)
        stack.emulator.set_payment_required(portal.member_id)

        with pytest.raises(PaymentRequired):
            await stack.runtime.bitrix.call(link, "profile")

        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.state == "payment_required"
        assert row.last_error is not None and "PAYMENT_REQUIRED" in row.last_error
        requests = stack.emulator.stats(portal.member_id).total_requests
        with pytest.raises(PortalInactive):
            await stack.runtime.bitrix.call(link, "profile")
        with pytest.raises(PortalInactive):
            await stack.runtime.bitrix.call(await _link(stack, portal.member_id), "profile")
        # Only a probe calls it from now on (tests/portals/test_recovery.py).
        assert stack.emulator.stats(portal.member_id).total_requests == requests


async def test_revoked_tokens_found_expired_move_the_portal_to_auth_failed(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        stack.emulator.revoke_tokens(portal.member_id)
        stack.emulator.expire_access_tokens(portal.member_id)
        async with stack.runtime.sessions() as session, session.begin():
            row = await PortalRepository(session).get(portal.member_id)
            assert row is not None
            row.access_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        link = await _link(stack, portal.member_id)

        with pytest.raises(InvalidGrant):
            await stack.runtime.bitrix.call(link, "profile")

        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.state == "auth_failed"
        assert row.last_error is not None and "invalid_grant" in row.last_error
        requests = stack.emulator.stats(portal.member_id).total_requests
        with pytest.raises(PortalInactive):
            await stack.runtime.bitrix.call(await _link(stack, portal.member_id), "profile")
        assert stack.emulator.stats(portal.member_id).total_requests == requests


async def test_a_refresh_token_spent_elsewhere_moves_the_portal_to_auth_failed(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.refresh_token_enc is not None
        # A process that does not take the row lock (an old deployment) spends our token.
        refresh_token = stack.runtime.cipher.decrypt(row.refresh_token_enc)
        await stack.runtime.oauth.refresh(row.server_endpoint, refresh_token)
        stack.emulator.expire_access_tokens(portal.member_id)

        with pytest.raises(InvalidGrant):
            await stack.runtime.bitrix.call(await _link(stack, portal.member_id), "profile")

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "auth_failed"


async def test_a_verdict_on_replaced_tokens_does_not_disable_a_reinstalled_portal(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        stale_link = await _link(stack, portal.member_id)
        assert (await stack.install(portal)).status_code == 200  # new tokens meanwhile

        await stale_link.disabled(InvalidGrant("invalid_grant", "Invalid grant"))

        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        profile = await stack.runtime.bitrix.call(await _link(stack, portal.member_id), "profile")
        assert profile["ID"] == "1"
