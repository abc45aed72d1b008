"""The community client fast-bitrix24 1.8.14 (pinned in pyproject.toml) against the emulator.

It batches and pages on its own (get_all reads `total` and pages by `start`, 50 commands a batch),
throttles itself, retries 5xx and asks `token_func` for a new token on any 401. Each test asserts on
what it returns. Its aiohttp session resolves the portal's name to the emulator (sdk_wiring.py).
It has no OAuth of its own: `token_func` refreshes at the emulator's OAuth server, as an app would.
Where the client and the docs (bitrix-tools/b24-rest-docs) disagree, the docs win and the test says
so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import pytest
from fast_bitrix24 import BitrixAsync

from emulator.conftest import CLIENT_ID, CLIENT_SECRET, InstalledApp
from emulator.receiver import Receiver
from emulator.sdk_wiring import aiohttp_session
from namecase.emulator import Emulator


@dataclass
class Tokens:
    """The app's side of OAuth: the current pair, renewed at the OAuth server when asked."""

    emulator: Emulator
    http: httpx.AsyncClient
    access_token: str
    refresh_token: str
    refreshed: list[str] = field(default_factory=list)

    async def renew(self) -> str:
        """fast-bitrix24's token_func: called first, and again after any 401."""
        if self.refreshed or self.access_token == "":
            answer = await self.http.get(
                self.emulator.oauth_token_url,
                params={
                    "grant_type": "refresh_token",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "refresh_token": self.refresh_token,
                },
            )
            body = answer.json()
            self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]
        self.refreshed.append(self.access_token)
        return self.access_token


@pytest.fixture
async def tokens(emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient) -> Tokens:
    return Tokens(emulator, http, app.access_token, app.refresh_token)


@pytest.fixture
async def b24(app: InstalledApp, tokens: Tokens) -> AsyncIterator[BitrixAsync]:
    async with aiohttp_session() as session:
        yield BitrixAsync(
            app.portal.client_endpoint,  # "webhook": the base the method names are appended to
            token_func=tokens.renew,
            verbose=False,
            ssl=False,
            client=session,
        )


async def add_contacts(emulator: Emulator, app: InstalledApp, count: int) -> None:
    for number in range(count):
        await emulator.user_add_contact(app.member_id, {"NAME": f"n{number}"})


async def test_crm_add_get_update_and_list(
    b24: BitrixAsync, emulator: Emulator, app: InstalledApp
) -> None:
    added = await b24.call("crm.contact.add", [{"fields": {"NAME": "иВАН"}}] * 3)
    updated = await b24.call("crm.contact.update", {"id": added[0], "fields": {"NAME": "Иван"}})
    fetched = await b24.get_by_ID("crm.contact.get", added)
    listed = await b24.get_all("crm.contact.list", {"select": ["ID", "NAME"]})

    assert sorted(added) == [1, 2, 3]
    assert updated is True
    assert {key: row["NAME"] for key, row in fetched.items()} == {
        "1": "Иван",
        "2": "иВАН",
        "3": "иВАН",
    }
    assert [row["NAME"] for row in sorted(listed, key=lambda row: int(row["ID"]))] == [
        "Иван",
        "иВАН",
        "иВАН",
    ]
    assert emulator.stats(app.member_id).updates_per_record[("contact", added[0])] == 1


async def test_get_all_pages_by_start_and_start_minus_one_counts_nothing(
    b24: BitrixAsync, emulator: Emulator, app: InstalledApp
) -> None:
    await add_contacts(emulator, app, 136)
    everything = await b24.get_all("crm.contact.list", {"select": ["ID"]})
    uncounted = await b24.call("crm.contact.list", {"select": ["ID"], "start": -1}, raw=True)

    assert sorted(int(row["ID"]) for row in everything) == list(range(1, 137))
    # settings/performance/huge-data.md: start=-1 counts nothing (total 0, no next).
    assert (uncounted["total"], "next" in uncounted, len(uncounted["result"])) == (0, False, 50)


async def test_batch_with_references_and_list_shaped_results(b24: BitrixAsync) -> None:
    chained = await b24.call_batch(
        {
            "halt": 0,
            "cmd": {
                "add": "crm.contact.add?fields[NAME]=Анна",
                "get": "crm.contact.get?id=$result[add]",
            },
        }
    )
    as_list = await b24.call_batch({"halt": 0, "cmd": {"0": "user.admin", "1": "scope"}})

    assert chained["get"]["NAME"] == "Анна"
    # batch.md with PHP's arrays: commands keyed 0..n-1 answer a list.
    assert as_list == [True, ["crm"]]


async def test_documented_errors_surface_with_their_status(b24: BitrixAsync) -> None:
    with pytest.raises(aiohttp.ClientResponseError) as missing:
        await b24.call("crm.contact.get", {"id": 999}, raw=True)
    with pytest.raises(aiohttp.ClientResponseError) as unknown:
        await b24.call("crm.nothing.here", {}, raw=True)
    assert (missing.value.status, unknown.value.status) == (400, 404)


async def test_a_503_is_retried_and_a_429_is_reported(
    b24: BitrixAsync, emulator: Emulator, app: InstalledApp
) -> None:
    faults = emulator.faults(app.member_id)
    faults.limit_next = 2  # two 503 QUERY_LIMIT_EXCEEDED, as a full bucket answers
    profile = await b24.call("profile", {}, raw=True)
    faults.operating_limit_seconds = {"crm.contact.list": 1.0}
    faults.operating_cost_seconds = {"crm.contact.list": 2.0}
    await b24.call("crm.contact.list", {}, raw=True)
    with pytest.raises(aiohttp.ClientResponseError) as limited:
        await b24.call("crm.contact.list", {}, raw=True)

    assert profile["result"]["ADMIN"] is True
    assert limited.value.status == 429
    assert emulator.stats(app.member_id).rejected_503 == 2
    assert emulator.stats(app.member_id).rejected_429 == 1


async def test_an_expired_token_is_renewed_and_the_call_repeated(
    b24: BitrixAsync, emulator: Emulator, app: InstalledApp, tokens: Tokens
) -> None:
    await b24.call("profile", {}, raw=True)
    emulator.expire_access_tokens(app.member_id)
    profile = await b24.call("profile", {}, raw=True)

    assert profile["result"]["ID"] == "1"
    assert len(tokens.refreshed) == 2  # the first token, then one renewal after the 401
    assert emulator.stats(app.member_id).refreshes == 1


async def test_events_bound_and_listed_and_the_delivery_names_the_portals_host(
    b24: BitrixAsync, emulator: Emulator, app: InstalledApp, receiver: Receiver
) -> None:
    handler = receiver.url("/events")
    bound = await b24.call("event.bind", {"event": "ONCRMCONTACTADD", "handler": handler}, raw=True)
    listed: Any = await b24.call("event.get", {}, raw=True)
    await emulator.user_add_contact(app.member_id, {"NAME": "Анна"})
    await emulator.wait_deliveries_idle()
    form = receiver.at("/events")[-1].form

    assert bound["result"] is True
    assert [(row["event"], row["handler"]) for row in listed["result"]] == [
        ("ONCRMCONTACTADD", handler)
    ]
    assert httpx.URL(form["auth[client_endpoint]"]).host == form["auth[domain]"]
    # The client would call the portal at the endpoint the event names.
    again = BitrixAsync(
        form["auth[client_endpoint]"], verbose=False, ssl=False, client=b24.srh.session
    )
    assert (await again.call("profile", {"auth": form["auth[access_token]"]}, raw=True))["result"]
