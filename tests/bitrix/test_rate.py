"""The rate budget: a leaky bucket like the portal's (protocol §6), deterministic and pure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from namecase.bitrix.rate import LeakyBucket


def test_an_empty_bucket_takes_a_full_burst_without_waiting() -> None:
    bucket = LeakyBucket(capacity=50, drain_per_second=2)

    for _ in range(50):
        assert bucket.wait_time(100.0) == 0.0
        bucket.take(100.0)

    assert bucket.wait_time(100.0) == pytest.approx(0.5)


def test_the_bucket_drains_at_its_rate() -> None:
    bucket = LeakyBucket(capacity=50, drain_per_second=2, level=50, updated_at=100.0)

    assert bucket.wait_time(100.0) == pytest.approx(0.5)
    assert bucket.wait_time(100.25) == pytest.approx(0.25)
    assert bucket.wait_time(100.5) == 0.0
    assert bucket.level_at(110.0) == pytest.approx(30.0)
    assert bucket.level_at(200.0) == 0.0


def test_enterprise_budget_is_deeper_and_faster() -> None:
    bucket = LeakyBucket(capacity=250, drain_per_second=5, level=250, updated_at=0.0)

    assert bucket.wait_time(0.0) == pytest.approx(0.2)


def test_taking_while_full_reserves_the_next_slot_for_the_next_caller() -> None:
    bucket = LeakyBucket(capacity=2, drain_per_second=1, level=2, updated_at=0.0)

    first_wait = bucket.wait_time(0.0)
    bucket.take(0.0)
    second_wait = bucket.wait_time(0.0)

    assert first_wait == pytest.approx(1.0)
    assert second_wait == pytest.approx(2.0)


def test_penalize_assumes_the_bucket_is_full() -> None:
    bucket = LeakyBucket(capacity=50, drain_per_second=2)

    bucket.penalize(10.0)

    assert bucket.wait_time(10.0) == pytest.approx(0.5)


def test_clock_running_backwards_neither_drains_nor_breaks() -> None:
    bucket = LeakyBucket(capacity=5, drain_per_second=1, level=5, updated_at=100.0)

    assert bucket.level_at(90.0) == 5.0
    bucket.take(90.0)
    assert bucket.updated_at == 100.0
    assert bucket.level == 6.0


def test_state_round_trips_for_another_process() -> None:
    bucket = LeakyBucket(capacity=250, drain_per_second=5, level=12.5, updated_at=1700000000.0)

    assert LeakyBucket.from_state(bucket.to_state()) == bucket
    assert LeakyBucket.from_state({}) == LeakyBucket()


def test_a_portal_budget_keeps_seconds_of_drain_below_the_portal_limit() -> None:
    # Two seconds of drain by default: 4 requests on the standard plan, 10 on Enterprise.
    assert LeakyBucket.for_portal() == LeakyBucket(capacity=46, drain_per_second=2)
    assert LeakyBucket.for_portal(250, 5) == LeakyBucket(capacity=240, drain_per_second=5)
    assert LeakyBucket.for_portal(50, 2, margin_seconds=0).capacity == 49  # never less than 1
    assert LeakyBucket.for_portal(1, 1).capacity == 1


def test_nonsense_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        LeakyBucket(capacity=0)
    with pytest.raises(ValueError):
        LeakyBucket(drain_per_second=0)


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=60),
    drain=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    arrivals=st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=1, max_size=150),
)
def test_no_window_ever_holds_more_than_capacity_plus_drain(
    capacity: int, drain: float, arrivals: list[float]
) -> None:
    # Callers arrive at arbitrary times; each waits what the bucket says, then sends.
    bucket = LeakyBucket(capacity=capacity, drain_per_second=drain)
    now = 0.0
    sent: list[float] = []
    for gap in arrivals:
        now += gap
        wait = bucket.wait_time(now)
        bucket.take(now)
        sent.append(now + wait)

    sent.sort()
    for start_index, start in enumerate(sent):
        for end_index in range(start_index, len(sent)):
            window = sent[end_index] - start
            count = end_index - start_index + 1
            assert count <= capacity + drain * window + 1e-6
