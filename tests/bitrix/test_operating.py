"""Operating time (protocol §6, [RU] limits.md): the `time` block of successful answers says how
much of a method's budget is used and when the oldest minute drops off; a 429 need not say."""

from __future__ import annotations

from typing import Any

import pytest

from namecase.bitrix import BitrixClient, OperatingMeter, OperationTimeLimit, TimingObserver
from namecase.emulator import Emulator

from .portal_doubles import MeteredLink


def test_the_meter_keeps_the_latest_figures_of_each_method() -> None:
    meter = OperatingMeter()
    meter.observe("crm.contact.list", {"operating": 12.5, "operating_reset_at": 1_800_000_600})
    meter.observe("CRM.CONTACT.LIST", {"operating": "250.0", "operating_reset_at": "1800000660"})
    meter.observe("profile", {"duration": 0.1})  # no operating: nothing to keep
    meter.observe("batch", "not a block")

    assert meter.reset_at("crm.contact.list") == 1_800_000_660
    assert meter.reset_at("profile") is None and meter.reset_at(None) is None
    assert meter.pause_until(300) is None
    assert meter.pause_until(250) == 1_800_000_660
    assert meter.pause_until(0) is None  # a budget of 0 turns the slowdown off


@pytest.mark.parametrize("junk", [True, "many", float("nan"), -1, None, [1]])
def test_figures_that_are_not_seconds_are_ignored(junk: object) -> None:
    meter = OperatingMeter()
    meter.observe("crm.contact.list", {"operating": junk, "operating_reset_at": 1})
    assert meter.seen == {}


async def test_the_client_hands_each_methods_time_block_to_the_link(
    emulator: Emulator, install: Any, client: BitrixClient
) -> None:
    link: MeteredLink = MeteredLink(**vars(await install()))
    assert isinstance(link, TimingObserver)
    faults = emulator.faults(link.member_id)
    faults.operating_cost_seconds = {"crm.contact.list": 200.0, "crm.lead.list": 50.0}
    faults.operating_limit_seconds = {"crm.contact.list": 300.0}

    await client.call(link, "crm.contact.list", {"start": -1})
    await client.batch(link, {"c": ("crm.contact.list", {}), "l": ("crm.lead.list", {})})
    used, reset_at = link.operating.seen["crm.contact.list"]
    assert used == 400.0 and reset_at is not None
    assert link.operating.seen["crm.lead.list"][0] == 50.0

    # Over the limit: the 429 carries no `time` block; the last successful answer said when
    # ("Для первой повторной попытки ориентироваться на operating_reset_at из последнего
    # успешного ответа"), and the error raised says it too.
    with pytest.raises(OperationTimeLimit) as blocked:
        await client.call(link, "crm.contact.list", {"start": -1})
    assert blocked.value.reset_at == reset_at
