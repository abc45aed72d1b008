"""The REST client against the emulated portal, over real loopback HTTP (DESIGN.md §5)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from namecase.bitrix import (
    BitrixClient,
    ExpiredToken,
    ForbiddenEndpoint,
    InvalidAuth,
    InvalidGrant,
    LeakyBucket,
    NotFound,
    OAuthClient,
    OperationTimeLimit,
    PaymentRequired,
    PortalUnavailable,
)
from namecase.emulator import Emulator

from .conftest import CLIENT_SECRET, Wire
from .portal_doubles import CallLog, MemoryLink, MeteredLink, Sleeps

Install = Callable[..., Any]


def _contact(emulator: Emulator, link: MemoryLink, **fields: str) -> int:
    return emulator.user_add(link.member_id, "contact", fields, 1, False)


# --- calls and pages ------------------------------------------------------------------------


async def test_call_returns_the_result_of_the_method(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    contact_id = _contact(emulator, link, NAME="иван", LAST_NAME="петров")

    contact = await client.call(link, "crm.contact.get", {"id": contact_id})

    assert contact["NAME"] == "иван"
    assert contact["LAST_NAME"] == "петров"


async def test_update_sends_nested_fields_as_json(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    contact_id = _contact(emulator, link, NAME="иван")

    result = await client.call(
        link,
        "crm.contact.update",
        {"id": contact_id, "fields": {"NAME": "Иван"}, "params": {"REGISTER_SONET_EVENT": "N"}},
    )

    assert result is True
    assert emulator.contact(link.member_id, contact_id)["NAME"] == "Иван"


async def test_a_missing_record_is_not_found(client: BitrixClient, link: MemoryLink) -> None:
    with pytest.raises(NotFound) as raised:
        await client.call(link, "crm.contact.get", {"id": 999999})

    assert raised.value.status == 400
    assert raised.value.code == ""
    assert raised.value.method == "crm.contact.get"


async def test_list_pages_carry_total_and_next(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    for number in range(55):
        _contact(emulator, link, NAME=f"n{number}")

    first = await client.call_page(link, "crm.contact.list", {"select": ["ID", "NAME"]})
    second = await client.call_page(
        link, "crm.contact.list", {"select": ["ID", "NAME"], "start": first.next}
    )

    assert len(first.result) == 50
    assert first.total == 55
    assert first.next == 50
    assert len(second.result) == 5
    assert second.next is None


async def test_method_names_that_could_leave_the_endpoint_are_refused(
    client: BitrixClient, link: MemoryLink, wire: Wire
) -> None:
    wire.requests.clear()

    for method in ("../oauth/token", "crm.contact.get?x=1", "", "crm/contact", "a..b"):
        with pytest.raises(ValueError):
            await client.call(link, method)

    assert wire.requests == []


async def test_the_token_goes_in_the_json_body_not_the_url(
    client: BitrixClient, link: MemoryLink, wire: Wire
) -> None:
    wire.requests.clear()

    await client.call(link, "profile")

    (request,) = wire.requests
    assert str(request.url) == f"{link.client_endpoint}profile"
    assert link.access_token not in str(request.url)
    assert request.headers["content-type"] == "application/json"
    assert f'"auth": "{link.access_token}"' in request.content.decode()


# --- batch ----------------------------------------------------------------------------------


async def test_batch_returns_results_and_per_command_errors(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    first = _contact(emulator, link, NAME="анна")
    second = _contact(emulator, link, NAME="пётр")

    outcome = await client.batch(
        link,
        {
            "get_first": ("crm.contact.get", {"id": first}),
            "fix_second": (
                "crm.contact.update",
                {
                    "id": second,
                    "fields": {"NAME": "Пётр & Co"},
                    "params": {"REGISTER_SONET_EVENT": "N"},
                },
            ),
            "missing": ("crm.contact.get", {"id": 999999}),
        },
    )

    assert outcome.result["get_first"]["NAME"] == "анна"
    assert outcome.result["fix_second"] is True
    assert set(outcome.errors) == {"missing"}
    assert isinstance(outcome.errors["missing"], NotFound)
    assert outcome.errors["missing"].method == "crm.contact.get"
    assert emulator.contact(link.member_id, second)["NAME"] == "Пётр & Co"
    assert emulator.stats(link.member_id).calls_by_method["batch"] == 1


async def test_batch_without_errors_normalizes_empty_parts(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    contact_id = _contact(emulator, link, NAME="x")

    outcome = await client.batch(link, {"only": ("crm.contact.get", {"id": contact_id})})

    assert outcome.errors == {}
    assert outcome.next == {}
    assert outcome.result["only"]["ID"] in (contact_id, str(contact_id))


async def test_batch_list_commands_carry_total_and_next(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    for number in range(51):
        _contact(emulator, link, NAME=f"n{number}")

    outcome = await client.batch(link, {"page": ("crm.contact.list", {"select": ["ID"]})})

    assert len(outcome.result["page"]) == 50
    assert outcome.total["page"] == 51
    assert outcome.next["page"] == 50


async def test_batch_with_halt_stops_at_the_first_error(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    contact_id = _contact(emulator, link, NAME="x")

    outcome = await client.batch(
        link,
        {
            "missing": ("crm.contact.get", {"id": 999999}),
            "after": ("crm.contact.get", {"id": contact_id}),
        },
        halt=True,
    )

    assert set(outcome.errors) == {"missing"}
    assert "after" not in outcome.result


async def test_more_than_fifty_commands_are_refused_before_any_request(
    client: BitrixClient, link: MemoryLink, wire: Wire
) -> None:
    wire.requests.clear()
    commands = {f"c{n}": ("crm.contact.get", {"id": n}) for n in range(51)}

    with pytest.raises(ValueError, match="at most 50"):
        await client.batch(link, commands)
    with pytest.raises(ValueError):
        await client.batch(link, {"nested": ("batch", {})})

    assert wire.requests == []


async def test_an_empty_batch_makes_no_request(
    client: BitrixClient, link: MemoryLink, wire: Wire
) -> None:
    wire.requests.clear()

    outcome = await client.batch(link, {})

    assert outcome.result == {} and outcome.errors == {}
    assert wire.requests == []


# --- expired tokens -------------------------------------------------------------------------


async def test_token_expiry_in_the_middle_of_batches_refreshes_once_and_retries(
    client: BitrixClient, link: MemoryLink, emulator: Emulator, call_log: CallLog
) -> None:
    ids = [_contact(emulator, link, NAME=f"n{n}") for n in range(3)]
    commands = {f"get{n}": ("crm.contact.get", {"id": n}) for n in ids}
    await client.batch(link, commands)
    old_token = link.access_token

    emulator.expire_access_tokens(link.member_id)
    outcome = await client.batch(link, commands)

    assert set(outcome.result) == set(commands)
    assert outcome.errors == {}
    assert link.refreshes == 1
    assert emulator.refresh_count == 2  # the install's confirmation, then this one
    assert link.access_token != old_token
    assert call_log.statuses() == [200, 401, 200]
    assert call_log.calls[1].error_code == "expired_token"


async def test_concurrent_calls_hitting_an_expired_token_refresh_once(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    contact_id = _contact(emulator, link, NAME="x")
    emulator.expire_access_tokens(link.member_id)

    results = await asyncio.gather(
        *(client.call(link, "crm.contact.get", {"id": contact_id}) for _ in range(8))
    )

    assert all(result["NAME"] == "x" for result in results)
    assert link.refreshes == 1
    assert emulator.stats(link.member_id).refreshes == 2


async def test_a_token_still_expired_after_the_refresh_is_raised(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    # The refresh succeeds, but the portal keeps rejecting: retry once, then give up.
    original_refresh = link.refresh

    async def refresh_then_expire(stale: Any) -> Any:
        fresh = await original_refresh(stale)
        emulator.expire_access_tokens(link.member_id)
        return fresh

    link.refresh = refresh_then_expire  # type: ignore[method-assign]
    emulator.expire_access_tokens(link.member_id)

    with pytest.raises(ExpiredToken):
        await client.call(link, "profile")

    assert link.refreshes == 1


async def test_a_spent_refresh_token_disables_the_portal(
    client: BitrixClient, link: MemoryLink, emulator: Emulator, oauth: OAuthClient
) -> None:
    # Someone else (a process that does not serialize refreshes) used our refresh token.
    await oauth.refresh(link.server_endpoint, link.refresh_token)
    emulator.expire_access_tokens(link.member_id)

    with pytest.raises(InvalidGrant):
        await client.call(link, "profile")

    assert [type(error) for error in link.disabled_with] == [InvalidGrant]
    assert link.disabled_with[0].portal_state == "auth_failed"


async def test_revoked_tokens_are_invalid_auth_without_a_refresh(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    emulator.revoke_tokens(link.member_id)

    with pytest.raises(InvalidAuth) as raised:
        await client.call(link, "profile")

    assert raised.value.code == "NO_AUTH_FOUND"
    assert link.refreshes == 0
    assert link.disabled_with == []


# --- terminal states ------------------------------------------------------------------------


async def test_payment_required_disables_the_portal(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    emulator.set_payment_required(link.member_id)

    with pytest.raises(PaymentRequired):
        await client.call(link, "profile")

    assert [error.portal_state for error in link.disabled_with] == ["payment_required"]


async def test_payment_required_at_refresh_disables_the_portal(
    client: BitrixClient, link: MemoryLink, emulator: Emulator
) -> None:
    emulator.expire_access_tokens(link.member_id)
    emulator.set_payment_required(link.member_id)

    with pytest.raises(PaymentRequired):
        await client.call(link, "profile")

    assert [error.portal_state for error in link.disabled_with] == ["payment_required"]


# --- retries and the rate budget ------------------------------------------------------------


async def test_server_errors_are_retried_with_growing_jittered_backoff(
    client: BitrixClient, link: MemoryLink, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.faults(link.member_id).error_next = 3

    profile = await client.call(link, "profile")

    assert profile["ID"] in (1, "1")
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling


async def test_attempts_are_bounded(
    make_client: Callable[..., BitrixClient],
    link: MemoryLink,
    emulator: Emulator,
    call_log: CallLog,
) -> None:
    emulator.faults(link.member_id).error_next = 10
    client = make_client(max_attempts=3)

    with pytest.raises(PortalUnavailable) as raised:
        await client.call(link, "profile")

    assert raised.value.status == 500
    assert raised.value.code == "INTERNAL_SERVER_ERROR"
    assert call_log.statuses() == [500, 500, 500]


async def test_backoff_is_capped(
    make_client: Callable[..., BitrixClient], link: MemoryLink, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.faults(link.member_id).error_next = 6
    client = make_client(max_attempts=7, backoff_base=1.0, backoff_cap=4.0)

    await client.call(link, "profile")

    assert max(sleeps.delays) <= 4.0
    assert sleeps.delays[-1] >= 2.0


async def test_timeouts_and_resets_are_retried(
    make_client: Callable[..., BitrixClient],
    link: MemoryLink,
    emulator: Emulator,
    call_log: CallLog,
) -> None:
    faults = emulator.faults(link.member_id)
    faults.timeout_next = 1
    faults.reset_next = 1
    client = make_client(request_timeout=0.3)

    profile = await client.call(link, "profile")

    assert profile["ID"] in (1, "1")
    assert sorted(str(call.error_code) for call in call_log.calls[:2]) == [
        "CONNECTION_ERROR",
        "TIMEOUT",
    ]
    assert call_log.statuses() == [None, None, 200]


async def test_a_503_from_a_shared_bucket_penalizes_ours_and_is_retried(
    make_client: Callable[..., BitrixClient],
    install: Install,
    emulator: Emulator,
    call_log: CallLog,
) -> None:
    # Another process (its own bucket) has used the portal's whole budget; ours thinks it is
    # empty. The portal refuses us once, our bucket learns it is full and we wait our turn.
    link = await install(bucket_depth=3, drain_per_second=2.0)
    other = MemoryLink(**{**link.__dict__, "bucket": LeakyBucket(3, 2.0)})
    other.disabled_with, other.moves = [], []
    client = make_client(sleep=asyncio.sleep)
    for _ in range(3):
        await client.call(other, "profile")
    link.bucket = LeakyBucket(capacity=3, drain_per_second=2.0)

    await client.call(link, "profile")

    assert emulator.stats(link.member_id).rejected_503 == 1
    assert emulator.stats(link.member_id).calls_by_method["profile"] == 4
    assert call_log.statuses()[-2:] == [503, 200]


async def test_honouring_the_budget_means_no_503_at_all(
    make_client: Callable[..., BitrixClient], install: Install, emulator: Emulator
) -> None:
    link = await install(bucket_depth=5, drain_per_second=10.0)
    link.bucket = LeakyBucket.for_portal(5, 10.0)
    client = make_client(sleep=asyncio.sleep)
    started = time.monotonic()

    results = await asyncio.gather(*(client.call(link, "profile") for _ in range(20)))

    assert len(results) == 20
    assert emulator.stats(link.member_id).rejected_503 == 0
    # 4 at once, then 10 a second: the budget, not the portal, made us wait.
    assert time.monotonic() - started >= 1.4


async def test_operation_time_limit_far_away_is_raised_at_once(
    client: BitrixClient, link: MemoryLink, emulator: Emulator, sleeps: Sleeps
) -> None:
    # The 429 has no `time` block: the block ends at the last successful answer's reset time,
    # which a link that keeps operating times knows (limits.md).
    link = MeteredLink(**vars(link))
    faults = emulator.faults(link.member_id)
    faults.operating_limit_seconds["profile"] = 0.5
    faults.operating_cost_seconds["profile"] = 1.0
    await client.call(link, "profile")

    with pytest.raises(OperationTimeLimit) as raised:
        await client.call(link, "profile")

    assert raised.value.status == 429
    assert raised.value.reset_at == pytest.approx(time.time() + 600, abs=5)
    assert sleeps.delays == []
    assert await client.call(link, "crm.contact.list") == []  # other methods keep working


async def test_operation_time_limit_within_reach_waits_until_reset(
    make_client: Callable[..., BitrixClient],
    link: MemoryLink,
    emulator: Emulator,
    sleeps: Sleeps,
) -> None:
    link = MeteredLink(**vars(link))
    faults = emulator.faults(link.member_id)
    faults.operating_limit_seconds["profile"] = 0.5
    faults.operating_cost_seconds["profile"] = 1.0
    client = make_client(max_operating_wait=900.0, max_attempts=2)
    await client.call(link, "profile")

    with pytest.raises(OperationTimeLimit):
        await client.call(link, "profile")

    (waited,) = sleeps.delays
    assert waited == pytest.approx(600, abs=5)


# --- renamed portals ------------------------------------------------------------------------


async def test_a_renamed_portal_is_followed_with_the_body_and_stored(
    client: BitrixClient, link: MemoryLink, emulator: Emulator, call_log: CallLog
) -> None:
    contact_id = _contact(emulator, link, NAME="иван")
    emulator.rename_portal(link.member_id, "acme-new.bitrix24.test")
    new_endpoint = emulator.portal(link.member_id).client_endpoint

    result = await client.call(
        link, "crm.contact.update", {"id": contact_id, "fields": {"NAME": "Иван"}}
    )
    await client.call(link, "profile")

    assert result is True
    assert emulator.contact(link.member_id, contact_id)["NAME"] == "Иван"
    assert link.moves == [new_endpoint]
    assert link.client_endpoint == new_endpoint
    assert call_log.statuses() == [302, 200, 200]
    assert emulator.stats(link.member_id).redirects_302 == 1


# --- security -------------------------------------------------------------------------------


async def test_plain_http_portals_are_refused_unless_allowed(
    make_client: Callable[..., BitrixClient], link: MemoryLink, wire: Wire
) -> None:
    client = make_client(allow_http=False)
    wire.requests.clear()

    with pytest.raises(ForbiddenEndpoint):
        await client.call(link, "profile")

    assert wire.requests == []


async def test_the_call_log_records_every_exchange_without_tokens_or_secrets(
    client: BitrixClient,
    link: MemoryLink,
    emulator: Emulator,
    call_log: CallLog,
) -> None:
    secrets = {link.access_token, link.refresh_token, CLIENT_SECRET}
    contact_id = _contact(emulator, link, NAME="x")
    await client.call(link, "crm.contact.get", {"id": contact_id})
    emulator.expire_access_tokens(link.member_id)
    await client.batch(link, {"a": ("crm.contact.get", {"id": contact_id})})
    emulator.rename_portal(link.member_id, "acme-renamed.bitrix24.test")
    await client.call(link, "profile")
    secrets |= {link.access_token, link.refresh_token}

    assert [(call.method, call.http_status) for call in call_log.calls] == [
        ("crm.contact.get", 200),
        ("batch", 401),
        ("batch", 200),
        ("profile", 302),
        ("profile", 200),
    ]
    for call in call_log.calls:
        assert call.member_id == link.member_id
        assert call.duration_ms >= 0
        assert call.started_at == pytest.approx(time.time(), abs=60)
        assert '"auth": "***"' in call.request
        for secret in secrets:
            assert secret not in call.request
            assert secret not in call.response
    assert '"NAME": "x"' in call_log.calls[0].response
    assert call_log.calls[1].error_code == "expired_token"


async def test_a_failing_call_log_does_not_fail_the_call(
    make_client: Callable[..., BitrixClient], link: MemoryLink
) -> None:
    async def broken_log(call: Any) -> None:
        raise RuntimeError("database is down")

    client = make_client(on_call=broken_log)

    assert (await client.call(link, "profile"))["ID"] in (1, "1")


async def test_long_bodies_are_truncated_in_the_call_log(
    make_client: Callable[..., BitrixClient],
    link: MemoryLink,
    emulator: Emulator,
    call_log: CallLog,
) -> None:
    contact_id = _contact(emulator, link, NAME="x" * 500)
    client = make_client(log_body_limit=100)

    await client.call(link, "crm.contact.get", {"id": contact_id})

    assert call_log.calls[0].response.endswith("…(truncated)")
    assert len(call_log.calls[0].response) < 120
