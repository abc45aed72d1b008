"""/admin shows each portal's event mode (issue 13 item 1): offline where the portal allows it,
online elsewhere with the reason, and an offline portal's queue state."""

from __future__ import annotations

import httpx

from .test_status import admin_stack, portal_in, status_of


async def test_admin_says_which_portals_are_offline_and_why_the_others_are_not(
    pg_database_url: str,
) -> None:
    async with admin_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        offline = await stack.installed_portal(plan="professional")
        cleared = stack.add_portal(plan="professional")
        stack.emulator.set_offline_features(cleared.member_id, extended=False)
        assert (await stack.install(cleared)).status_code == 200
        online = await stack.installed_portal()  # basic: no auth_connector
        await stack.drain()
        status = await status_of(http, stack)

    reserved = portal_in(status, offline)
    assert reserved["event_mode"] == "offline"
    assert "reserving each page and confirming it" in reserved["event_mode_explained"]
    assert reserved["queue"]["offline_due_at"] is not None
    assert reserved["queue"]["offline_process_id"] is None  # nothing left unconfirmed
    plain = portal_in(status, cleared)
    assert plain["event_mode"] == "offline"
    assert "deleted as it is read" in plain["event_mode_explained"]
    fallback = portal_in(status, online)
    assert fallback["event_mode"] == "online"
    assert (
        "Not offline: the portal's plan has no auth_connector" in (fallback["event_mode_explained"])
    )
