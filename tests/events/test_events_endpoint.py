"""POST /events: acknowledged means stored; rejected means a clear 4xx and nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from namecase.emulator import Portal as EmulatedPortal
from namecase.portals.models import Portal
from namecase.queue.models import InboxItem, PortalQueue
from support.stack import Stack, running_stack


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url) as stack:
        yield stack


def event_form(portal: EmulatedPortal, **overrides: str) -> dict[str, str]:
    """The documented ONCRMCONTACTUPDATE delivery (bitrix24-protocol.md §2), form-encoded."""
    form = {
        "event": "ONCRMCONTACTUPDATE",
        "event_handler_id": "12",
        "data[FIELDS][ID]": "82",
        "ts": "1724697689",
        "auth[access_token]": "s6p6eclrvim6da22ft9ch94ekreb52lv",
        "auth[expires_in]": "3600",
        "auth[scope]": "crm",
        "auth[domain]": portal.domain,
        "auth[server_endpoint]": "https://oauth.bitrix24.tech/rest/",
        "auth[status]": "F",
        "auth[client_endpoint]": portal.client_endpoint,
        "auth[member_id]": portal.member_id,
        "auth[application_token]": str(portal.application_token),
    }
    form.update(overrides)
    return form


async def post(stack: Stack, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else urlencode(body).encode()
    async with httpx.AsyncClient(base_url=stack.app_url) as client:
        return await client.post(
            "/events",
            content=content,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )


async def inbox_rows(stack: Stack) -> int:
    async with stack.runtime.sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(InboxItem))).scalar_one()
        )


async def test_a_documented_event_is_stored_before_the_200(stack: Stack) -> None:
    portal = await stack.installed_portal()
    response = await post(stack, event_form(portal))
    assert response.status_code == 200, response.text
    async with stack.runtime.sessions() as session:
        item = (await session.execute(select(InboxItem))).scalar_one()
        queue = await session.get(PortalQueue, portal.member_id)
    assert (item.member_id, item.entity_type, item.entity_id, item.state) == (
        portal.member_id,
        "contact",
        82,
        "pending",
    )
    assert queue is not None


async def test_event_names_are_compared_case_insensitively(stack: Stack) -> None:
    portal = await stack.installed_portal()
    response = await post(stack, event_form(portal, event="onCrmContactAdd"))
    assert response.status_code == 200
    assert await inbox_rows(stack) == 1


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"event": "ONCRMDEALADD"}, "unknown event"),
        ({"event": ""}, "no event name"),
        ({"data[FIELDS][ID]": "abc"}, "positive integer"),
        ({"data[FIELDS][ID]": "-5"}, "positive integer"),
        ({"data[FIELDS][ID]": "٣"}, "positive integer"),  # a non-ASCII digit
        ({"auth[member_id]": ""}, "required"),
    ],
)
async def test_malformed_events_are_400_and_write_nothing(
    stack: Stack, overrides: dict[str, str], detail: str
) -> None:
    portal = await stack.installed_portal()
    response = await post(stack, event_form(portal, **overrides))
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert await inbox_rows(stack) == 0


async def test_garbage_bodies_are_400(stack: Stack) -> None:
    await stack.installed_portal()
    for body in (b"\xff\xfe\x00", b"auth[[[=1", b"a" * 100, b"auth[member_id][x][y][z][w][v]=1"):
        assert (await post(stack, body)).status_code == 400, body
    assert await inbox_rows(stack) == 0


async def test_a_wrong_application_token_is_403_and_writes_nothing(stack: Stack) -> None:
    portal = await stack.installed_portal()
    forged = event_form(portal, **{"auth[application_token]": "0" * 32})
    assert (await post(stack, forged)).status_code == 403
    unknown = event_form(portal, **{"auth[member_id]": "f" * 32})
    assert (await post(stack, unknown)).status_code == 403
    assert await inbox_rows(stack) == 0


async def test_an_uninstalled_portal_gets_403(stack: Stack) -> None:
    portal = await stack.installed_portal()
    async with stack.runtime.sessions() as session, session.begin():
        stored = await session.get(Portal, portal.member_id)
        assert stored is not None
        stored.state = "uninstalled"
    assert (await post(stack, event_form(portal))).status_code == 403
    assert await inbox_rows(stack) == 0


async def test_bodies_over_64_kib_are_413_and_write_nothing(stack: Stack) -> None:
    portal = await stack.installed_portal()
    padded = event_form(portal, padding="x" * 70_000)
    assert (await post(stack, padded)).status_code == 413
    assert await inbox_rows(stack) == 0


async def test_events_of_entities_not_enabled_are_acknowledged_and_dropped(stack: Stack) -> None:
    portal = await stack.installed_portal()  # contacts only by default
    response = await post(stack, event_form(portal, event="ONCRMLEADADD"))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert await inbox_rows(stack) == 0


async def test_twenty_deliveries_for_one_contact_are_one_pending_row(stack: Stack) -> None:
    portal = await stack.installed_portal()
    for _ in range(20):
        assert (await post(stack, event_form(portal))).status_code == 200
    async with stack.runtime.sessions() as session:
        items = (await session.execute(select(InboxItem))).scalars().all()
    assert [(item.entity_id, item.version) for item in items] == [(82, 20)]
