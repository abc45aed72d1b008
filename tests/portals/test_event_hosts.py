"""Security (issue 5 item 6): a host named in an incoming event's auth block is never called.

Only the OAuth-confirmed client_endpoint stored for the portal is (DESIGN.md §5); the OAuth host
must be allow-listed before the client secret goes anywhere.
"""

from __future__ import annotations

from support.stack import running_stack

from .harness import BOUND, bystander, event_auth, post_event, stored, update_app


async def test_a_contact_event_naming_another_portal_host_is_served_from_the_stored_one(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack, bystander() as foreign:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        auth = event_auth(
            stack.emulator,
            portal,
            client_endpoint=f"{foreign.base_url}/rest/",
            domain=foreign.base_url.removeprefix("http://"),
        )
        stack.emulator.portal(portal.member_id).contacts.update(contact_id, {"NAME": "пЁТР"}, 1, "")

        response = await post_event(
            stack, "ONCRMCONTACTUPDATE", auth, {"FIELDS": {"ID": str(contact_id)}}
        )
        await stack.drain()

        assert response.status_code == 200
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Пётр"
        assert foreign.hits == []
        row = await stored(stack, portal.member_id)
        assert row is not None and row.client_endpoint == portal.client_endpoint


async def test_an_update_event_naming_another_portal_host_stores_the_confirmed_one(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack, bystander() as foreign:
        portal = await stack.installed_portal()
        auth = update_app(stack.emulator, portal)
        auth["client_endpoint"] = f"{foreign.base_url}/rest/"
        auth["domain"] = "evil.example"

        response = await post_event(stack, "ONAPPUPDATE", auth, {"VERSION": "2"})
        await stack.drain()

        assert response.status_code == 200
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.client_endpoint == portal.client_endpoint
        assert row.domain == portal.domain
        assert len(portal.handlers) == len(BOUND)  # bound on the real portal
        assert foreign.hits == []


async def test_an_install_event_naming_a_foreign_oauth_server_calls_nobody(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack, bystander() as foreign:
        portal = await stack.installed_portal()
        auth = update_app(stack.emulator, portal)
        for key in ("server_endpoint", "client_endpoint"):
            auth[key] = f"{foreign.base_url}/rest/"

        response = await post_event(stack, "ONAPPINSTALL", auth)
        await stack.drain()

        assert response.status_code == 403
        assert foreign.hits == []
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active"
        assert row.client_endpoint == portal.client_endpoint
