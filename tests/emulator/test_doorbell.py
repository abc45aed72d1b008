"""ONOFFLINEEVENT, the doorbell of the offline queue ([RU] api-reference/events/
on-offline-event.md; bitrix24-protocol.md §10 "ONOFFLINEEVENT: the doorbell")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emulator.conftest import InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator, EmulatorConfig, serve_emulator

K = "namecase"


class Clock:
    """The emulator's clock, moved by the test (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def pro(clock: Clock, receiver: Receiver) -> AsyncIterator[tuple[Emulator, InstalledApp]]:
    emulator = Emulator(config=EmulatorConfig(clock=clock))
    async with serve_emulator(emulator):
        portal = emulator.add_portal(domain="pro.bitrix24.test", plan="professional")
        app = await install(emulator, receiver, portal)
        yield emulator, app
        await emulator.aclose()


async def ok(http: httpx.AsyncClient, app: InstalledApp, method: str, **params: Any) -> Any:
    response = await call(http, app, method, params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def bind(
    http: httpx.AsyncClient, app: InstalledApp, receiver: Receiver, min_timeout: int | None
) -> None:
    await ok(
        http, app, "event.bind", event="ONCRMCONTACTUPDATE", event_type="offline", auth_connector=K
    )
    await ok(
        http, app, "event.bind", event="ONCRMCONTACTADD", event_type="offline", auth_connector=K
    )
    doorbell: dict[str, Any] = {"event": "ONOFFLINEEVENT", "handler": receiver.url("/bell")}
    if min_timeout is not None:
        doorbell["options"] = {"minTimeout": min_timeout}
    await ok(http, app, "event.bind", **doorbell)


async def test_a_ring_inside_the_window_is_dropped_not_postponed(
    pro: tuple[Emulator, InstalledApp], clock: Clock, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    emulator, app = pro
    await bind(http, app, receiver, min_timeout=None)  # default 1 s
    await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    clock.now += 0.5
    await emulator.user_add_contact(app.member_id, {"NAME": "b"})  # inside: dropped
    await emulator.wait_deliveries_idle()
    rung_inside = len(receiver.at("/bell"))
    clock.now += 0.6
    await emulator.wait_deliveries_idle()
    nothing_postponed = len(receiver.at("/bell"))
    await emulator.user_add_contact(app.member_id, {"NAME": "c"})  # past the window
    await emulator.wait_deliveries_idle()

    assert (rung_inside, nothing_postponed, len(receiver.at("/bell"))) == (1, 1, 2)
    stats = emulator.stats(app.member_id)
    assert (stats.doorbell_rings, stats.doorbell_dropped) == (2, 1)
    form = receiver.at("/bell")[0].form
    assert form["event"] == "ONOFFLINEEVENT"
    assert not any(key.startswith("data") for key in form)  # "Приходит пустым"
    assert form["auth[application_token]"] == app.application_token
    assert "auth[refresh_token]" in form


async def test_min_timeout_0_rings_once_per_request_however_many_entries_it_added(
    pro: tuple[Emulator, InstalledApp], receiver: Receiver, http: httpx.AsyncClient
) -> None:
    emulator, app = pro
    await bind(http, app, receiver, min_timeout=0)
    ids = [await emulator.user_add_contact(app.member_id, {"NAME": str(n)}) for n in range(3)]
    await emulator.wait_deliveries_idle()
    per_user_action = len(receiver.at("/bell"))
    commands = {f"u{i}": f"crm.contact.update?id={i}&fields[NAME]=x" for i in ids}
    await ok(http, app, "batch", cmd=commands)  # one request, three entries
    await emulator.wait_deliveries_idle()

    assert per_user_action == 3
    assert len(receiver.at("/bell")) == 4


async def test_our_own_connector_writes_ring_nothing(
    pro: tuple[Emulator, InstalledApp], clock: Clock, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    emulator, app = pro
    await bind(http, app, receiver, min_timeout=0)
    contact = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    await emulator.wait_deliveries_idle()
    await ok(http, app, "crm.contact.update", id=contact, fields={"NAME": "A"}, auth_connector=K)
    await emulator.wait_deliveries_idle()
    assert len(receiver.at("/bell")) == 1  # the add's ring only


async def test_no_ring_before_the_install_is_finished(
    clock: Clock, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    emulator = Emulator(config=EmulatorConfig(clock=clock))
    async with serve_emulator(emulator):
        portal = emulator.add_portal(plan="professional")
        app = await install(emulator, receiver, portal, finish=False)
        await bind(http, app, receiver, min_timeout=0)
        await emulator.user_add_contact(app.member_id, {"NAME": "a"})
        await emulator.wait_deliveries_idle()
        queued = await ok(http, app, "event.offline.list", auth_connector=K)
        await emulator.aclose()
    assert receiver.at("/bell") == []
    assert len(queued) == 1  # the queue itself is kept (UNCONFIRMED, docs/EMULATOR.md)
