"""Request limits: the leaky bucket (503) and the operating-time limit (429), protocol §6."""

from __future__ import annotations

import httpx

from emulator.conftest import InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator, EmulatorConfig, serve_emulator
from namecase.emulator.limits import LeakyBucket, OperatingClock, limits_for_plan


def test_plans_have_the_documented_buckets() -> None:
    enterprise, basic = limits_for_plan("enterprise"), limits_for_plan("basic")
    assert (enterprise.depth, enterprise.drain_per_second) == (250, 5.0)
    assert (basic.depth, basic.drain_per_second) == (50, 2.0)


def test_bucket_admits_its_depth_at_once_then_refuses() -> None:
    bucket = LeakyBucket(depth=50, drain_per_second=2.0)
    admitted = [bucket.try_admit(now=100.0) for _ in range(51)]
    assert admitted == [True] * 50 + [False]


def test_bucket_drains_at_its_rate() -> None:
    bucket = LeakyBucket(depth=50, drain_per_second=2.0)
    for _ in range(50):
        bucket.try_admit(now=100.0)
    assert not bucket.try_admit(now=100.4)  # 0.8 drained: 49.2 + 1 > 50
    assert bucket.try_admit(now=100.5)  # one whole unit drained
    assert bucket.current_level(now=125.5) == 0.0


def test_operating_clock_blocks_once_over_the_limit_and_frees_after_ten_minutes() -> None:
    clock = OperatingClock()
    clock.record("crm.contact.get", 300.0, now=1000.0)
    assert not clock.is_blocked("crm.contact.get", 480.0, now=1010.0)
    clock.record("crm.contact.get", 200.0, now=1070.0)  # a second one-minute bucket
    assert clock.is_blocked("crm.contact.get", 480.0, now=1080.0)
    assert not clock.is_blocked("crm.contact.list", 480.0, now=1080.0)
    assert clock.reset_at("crm.contact.get", now=1080.0) == 1600
    # The first bucket leaves the total 10 minutes after its first call.
    assert clock.operating("crm.contact.get", now=1600.0) == 200.0
    assert not clock.is_blocked("crm.contact.get", 480.0, now=1600.0)


def test_calls_within_a_minute_share_a_bucket() -> None:
    clock = OperatingClock()
    clock.record("m", 1.0, now=0.0)
    clock.record("m", 1.0, now=59.0)
    assert clock.operating("m", now=599.0) == 2.0
    assert clock.operating("m", now=600.0) == 0.0


async def test_over_the_bucket_the_portal_answers_503_query_limit_exceeded(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    portal = emulator.add_portal(bucket_depth=5, drain_per_second=0.001)
    app = await install(emulator, receiver, portal)
    responses = [await call(http, app, "profile") for _ in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [503]
    assert responses[-1].json() == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    assert emulator.stats(app.member_id).rejected_503 == 1


async def test_the_bucket_is_per_portal(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    busy = await install(emulator, receiver, emulator.add_portal(bucket_depth=1))
    quiet = await install(emulator, receiver, emulator.add_portal(bucket_depth=1))
    await call(http, busy, "profile")
    assert (await call(http, busy, "profile")).status_code == 503
    assert (await call(http, quiet, "profile")).status_code == 200


async def test_a_batch_is_one_request_for_the_bucket(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(bucket_depth=2))
    batch = await call(http, app, "batch", {"cmd": ["profile"] * 50})
    single = await call(http, app, "profile")
    assert (batch.status_code, single.status_code) == (200, 200)


async def test_the_enterprise_bucket_is_deeper(
    emulator: Emulator, base_url: str, receiver: Receiver
) -> None:
    portal = emulator.add_portal(plan="enterprise")
    assert (portal.bucket.depth, portal.bucket.drain_per_second) == (250, 5.0)


async def test_over_the_operating_limit_the_method_answers_429_and_others_still_work(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    clock = [1_800_000_000.0]
    emulator = Emulator(config=EmulatorConfig(clock=lambda: clock[0]))
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        faults = emulator.faults(app.member_id)
        faults.operating_limit_seconds = {"crm.contact.list": 1.0}
        faults.operating_cost_seconds = {"crm.contact.list": 0.6}
        first = await call(http, app, "crm.contact.list")
        second = await call(http, app, "crm.contact.list")
        blocked = await call(http, app, "crm.contact.list")
        other = await call(http, app, "profile")
        in_batch = await call(http, app, "batch", {"cmd": {"l": "crm.contact.list"}})
        clock[0] += 600
        freed = await call(http, app, "crm.contact.list")

    assert first.json()["time"]["operating"] == 0.6
    assert second.status_code == 200  # the call that goes over the limit completes
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "OPERATION_TIME_LIMIT"
    # The 429 carries no `time` block: the last successful answer says when the block ends
    # ("operating_reset_at из последнего успешного ответа", limits.md).
    assert "time" not in blocked.json()
    assert second.json()["time"]["operating_reset_at"] == 1_800_000_000 + 600
    assert other.status_code == 200
    assert in_batch.json()["result"]["result_error"]["l"]["error"] == "OPERATION_TIME_LIMIT"
    assert freed.status_code == 200
    assert emulator.stats(app.member_id).rejected_429 == 2


async def test_limit_next_refuses_the_next_calls_as_a_full_bucket_would(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    emulator.faults(app.member_id).limit_next = 2
    answers = [await call(http, app, "profile") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json()["error"] == "QUERY_LIMIT_EXCEEDED"
    assert emulator.stats(app.member_id).rejected_503 == 2
