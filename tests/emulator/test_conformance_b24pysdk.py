"""The official Python SDK, b24pysdk 1.3.2 (pinned in pyproject.toml), against the emulator.

The SDK was written against real Bitrix24, not against us: what it parses is what the emulator must
send. Each test asserts on what the SDK returns. The SDK is synchronous (requests), so it runs in a
worker thread while the emulator serves in the test's event loop; sdk_wiring.py sends its requests
to the emulator by portal name. Where the SDK and the docs (bitrix-tools/b24-rest-docs) disagree,
the docs win and the test says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from b24pysdk import BitrixApp, BitrixToken, Client
from b24pysdk.credentials import OAuthEventData
from b24pysdk.errors import (
    BitrixAPIBadRequest,
    BitrixAPINotFound,
    BitrixAPIOperationTimeLimit,
)
from b24pysdk.errors.oauth import BitrixOAuthInvalidGrant

from emulator.conftest import CLIENT_ID, CLIENT_SECRET, InstalledApp
from emulator.receiver import Receiver
from emulator.sdk_wiring import route_requests_to
from namecase.emulator import Emulator

T = TypeVar("T")


@dataclass
class Sdk:
    """The SDK's objects for the installed app: the app, its token and a client."""

    app: BitrixApp
    token: BitrixToken
    client: Any  # b24pysdk.ClientV2; its scopes are built at run time

    async def run(self, work: Callable[[], T]) -> T:
        """Run SDK code in a thread: it blocks on HTTP while the emulator serves."""
        return await asyncio.to_thread(work)


@pytest.fixture
async def sdk(
    emulator: Emulator, base_url: str, app: InstalledApp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Sdk]:
    bitrix_app = BitrixApp(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    token = BitrixToken(
        domain=app.portal.domain,
        auth_token=app.access_token,
        refresh_token=app.refresh_token,
        bitrix_app=bitrix_app,
    )
    with route_requests_to(monkeypatch, httpx.URL(base_url).port or 80):
        yield Sdk(bitrix_app, token, Client(token))


async def add_contacts(emulator: Emulator, app: InstalledApp, count: int) -> None:
    for number in range(count):
        await emulator.user_add_contact(app.member_id, {"NAME": f"n{number}"})


async def test_refresh_rotates_the_pair_and_the_spent_refresh_token_is_refused(
    sdk: Sdk, app: InstalledApp
) -> None:
    renewed = await sdk.run(sdk.token.refresh_oauth_token)
    with pytest.raises(BitrixOAuthInvalidGrant):
        await sdk.run(lambda: sdk.app.refresh_oauth_token(refresh_token=app.refresh_token))

    assert renewed.member_id == app.member_id
    assert renewed.client_endpoint == app.portal.client_endpoint
    assert renewed.oauth_token.refresh_token not in (None, app.refresh_token)
    assert renewed.oauth_token.expires_in == 3600


async def test_app_info_parses_and_the_sdks_install_check_passes(
    sdk: Sdk, app: InstalledApp
) -> None:
    info = (await sdk.run(sdk.token.get_app_info)).result
    renewed = await sdk.run(sdk.token.refresh_oauth_token)

    assert info.client_id == CLIENT_ID
    assert isinstance(info.expires, datetime)  # ISO 8601 text, read with fromisoformat
    assert (info.install.domain, info.install.member_id) == (app.portal.domain, app.member_id)
    assert info.install.installed is True
    # credentials/auth.py: the client_endpoint's host must be the portal's domain.
    assert renewed.validate_against_app_info(info) is True


async def test_crm_add_get_update_and_list(sdk: Sdk, emulator: Emulator, app: InstalledApp) -> None:
    contact = sdk.client.crm.contact

    def work() -> tuple[Any, ...]:
        new_id = contact.add({"NAME": "иВАН", "LAST_NAME": "петров"}).result
        updated = contact.update(new_id, {"NAME": "Иван"}).result
        fetched = contact.get(new_id).result
        listed = contact.list(select=["ID", "NAME"]).result
        return new_id, updated, fetched, listed

    new_id, updated, fetched, listed = await sdk.run(work)

    assert isinstance(new_id, int)
    assert updated is True
    assert (fetched["ID"], fetched["NAME"], fetched["LAST_NAME"]) == (str(new_id), "Иван", "петров")
    assert listed == [{"ID": str(new_id), "NAME": "Иван"}]
    assert emulator.stats(app.member_id).updates_per_record[("contact", new_id)] == 1


async def test_paging_by_start_and_by_start_minus_one_with_result_references(
    sdk: Sdk, emulator: Emulator, app: InstalledApp
) -> None:
    await add_contacts(emulator, app, 136)
    contact = sdk.client.crm.contact

    def work() -> tuple[Any, ...]:
        first_page = contact.list(select=["ID"]).response
        everything = contact.list(select=["ID"]).as_list().result
        # start=-1 and filter[>ID]=$result[n][49][ID] between the commands of one batch.
        fast = list(contact.list(select=["ID"]).as_list_fast().result)
        uncounted = sdk.token.call_method("crm.contact.list", {"select": ["ID"], "start": -1})
        return first_page, everything, fast, uncounted

    first_page, everything, fast, uncounted = await sdk.run(work)

    expected = [str(n) for n in range(1, 137)]
    assert (len(first_page.result), first_page.total, first_page.next) == (50, 136, 50)
    assert [row["ID"] for row in everything] == expected
    assert [row["ID"] for row in fast] == expected
    # settings/performance/huge-data.md: start=-1 counts nothing (total 0, no next).
    assert (uncounted["total"], "next" in uncounted, len(uncounted["result"])) == (0, False, 50)


async def test_batch_with_references_and_list_shaped_results(sdk: Sdk) -> None:
    def work() -> tuple[Any, Any]:
        chained = sdk.token.call_batch(
            {
                "add": ("crm.contact.add", {"fields": {"NAME": "Анна"}}),
                "get": ("crm.contact.get", {"id": "$result[add]"}),
            }
        )
        as_list = sdk.token.call_batch([("user.admin", {}), ("scope", {})])
        return chained, as_list

    chained, as_list = await sdk.run(work)

    assert chained["result"]["result"]["get"]["NAME"] == "Анна"
    assert chained["result"]["result_error"] == []
    # A list of commands answers lists (the SDK sends it as keys 0..n-1; PHP renders a list).
    assert as_list["result"]["result"] == [True, ["crm"]]
    assert isinstance(as_list["result"]["result_time"], list)


async def test_documented_errors_become_the_sdks_exceptions(sdk: Sdk) -> None:
    def missing_record() -> None:
        sdk.client.crm.contact.get(999).call()

    def unknown_method() -> None:
        sdk.token.call_method("crm.nothing.here")

    with pytest.raises(BitrixAPIBadRequest) as missing:
        await sdk.run(missing_record)
    with pytest.raises(BitrixAPINotFound) as unknown:
        await sdk.run(unknown_method)

    assert (missing.value.error, missing.value.error_description) == ("", "Not found")
    assert unknown.value.error == "ERROR_METHOD_NOT_FOUND"


async def test_a_503_is_retried_and_a_429_is_reported(
    sdk: Sdk, emulator: Emulator, app: InstalledApp
) -> None:
    faults = emulator.faults(app.member_id)
    faults.limit_next = 1  # one 503 QUERY_LIMIT_EXCEEDED, as a full bucket answers
    profile = await sdk.run(lambda: sdk.token.call_method("profile"))
    faults.operating_limit_seconds = {"crm.contact.list": 1.0}
    faults.operating_cost_seconds = {"crm.contact.list": 2.0}
    await sdk.run(lambda: sdk.client.crm.contact.list().result)
    with pytest.raises(BitrixAPIOperationTimeLimit):
        await sdk.run(lambda: sdk.client.crm.contact.list().result)

    assert profile["result"]["ADMIN"] is True
    assert emulator.stats(app.member_id).rejected_503 == 1
    assert emulator.stats(app.member_id).rejected_429 == 1


async def test_an_expired_token_is_refreshed_and_the_call_repeated(
    sdk: Sdk, emulator: Emulator, app: InstalledApp
) -> None:
    emulator.expire_access_tokens(app.member_id)
    profile = await sdk.run(lambda: sdk.token.call_method("profile"))
    assert profile["result"]["ID"] == "1"
    assert sdk.token.auth_token != app.access_token
    assert emulator.stats(app.member_id).refreshes == 1


async def test_a_renamed_portal_is_followed_to_its_new_host(
    sdk: Sdk, emulator: Emulator, app: InstalledApp
) -> None:
    emulator.rename_portal(app.member_id, "renamed.bitrix24.test")
    profile = await sdk.run(lambda: sdk.token.call_method("profile"))
    # The SDK takes the new domain from Location's host (errors/__init__.py, new_domain).
    assert sdk.token.domain == "renamed.bitrix24.test"
    assert profile["result"]["ID"] == "1"
    assert emulator.stats(app.member_id).redirects_302 == 1


async def test_events_bound_listed_and_the_delivery_passes_the_sdks_event_check(
    sdk: Sdk, emulator: Emulator, app: InstalledApp, receiver: Receiver
) -> None:
    handler = receiver.url("/events")
    bound = await sdk.run(
        lambda: sdk.client.event.bind(event="ONCRMCONTACTADD", handler=handler).result
    )
    listed = await sdk.run(lambda: sdk.client.event.get().result)
    await emulator.user_add_contact(app.member_id, {"NAME": "Анна"})
    await emulator.wait_deliveries_idle()
    form = receiver.at("/events")[-1].form

    event = OAuthEventData.from_dict(form)
    info = await sdk.run(lambda: event.get_app_info(sdk.app))

    assert bound is True
    assert {"event": "ONCRMCONTACTADD", "handler": handler} in [
        {"event": row["event"], "handler": row["handler"]} for row in listed
    ]
    assert (event.event, event.auth.member_id) == ("ONCRMCONTACTADD", app.member_id)
    # credentials/auth.py: the host of client_endpoint must equal app.info's install.domain.
    assert event.auth.portal_domain == app.portal.domain
    assert event.validate_against_app_info(info) is True
