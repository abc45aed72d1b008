"""When things are due, without a database: next due time, sweeps, echo holds, start spread."""

from __future__ import annotations

import datetime as dt

from namecase.pipeline.scheduling import (
    IDLE,
    MIN_ECHO_HOLD,
    QueueView,
    echo_hold,
    item_retry_delay,
    next_due,
    operating_block_end,
    portal_backoff,
    startup_spread,
    sweep_due,
)

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def view(**changes: object) -> QueueView:
    values: dict[str, object] = {
        "backfill_running": False,
        "earliest_pending": None,
        "full_batch_due": False,
        "last_sweep": None,
    }
    values.update(changes)
    return QueueView(**values)  # type: ignore[arg-type]


def due(queue: QueueView, *, window: float = 0.5, sweep: float = 60.0) -> dt.datetime:
    return next_due(queue, now=NOW, batch_window=window, sweep_interval=sweep)


def test_a_portal_with_nothing_scheduled_is_looked_at_again_after_an_hour() -> None:
    assert due(view(), sweep=0) == NOW + IDLE


def test_a_running_backfill_keeps_the_portal_due() -> None:
    assert due(view(backfill_running=True)) == NOW


def test_a_partial_batch_waits_out_the_window_and_a_full_one_does_not() -> None:
    assert due(view(earliest_pending=NOW)) == NOW + 0.5 * S
    assert due(view(earliest_pending=NOW, full_batch_due=True)) == NOW


def test_a_failed_record_makes_the_portal_due_at_its_retry_time() -> None:
    retry_at = NOW + 40 * S

    assert due(view(earliest_pending=retry_at), window=0) == retry_at


def test_the_next_sweep_bounds_the_due_time() -> None:
    assert due(view(last_sweep=NOW - 50 * S)) == NOW + 10 * S


def test_a_sweep_is_due_at_a_workers_first_visit_then_every_interval() -> None:
    assert sweep_due(interval=60, last_sweep=NOW, swept_since_start=False, now=NOW)
    assert not sweep_due(interval=60, last_sweep=NOW - 59 * S, swept_since_start=True, now=NOW)
    assert sweep_due(interval=60, last_sweep=NOW - 60 * S, swept_since_start=True, now=NOW)
    assert not sweep_due(interval=0, last_sweep=None, swept_since_start=False, now=NOW)


def test_an_echo_is_held_for_two_sweeps_and_never_less_than_the_minimum() -> None:
    assert echo_hold(60) == MIN_ECHO_HOLD
    assert echo_hold(600) == dt.timedelta(seconds=1200)
    assert echo_hold(0) == MIN_ECHO_HOLD


def test_delays_double_with_jitter_and_are_capped() -> None:
    assert 1.6 <= item_retry_delay(0) <= 2.4
    assert 3.2 <= item_retry_delay(1) <= 4.8
    assert item_retry_delay(40) <= 3600 * 1.2
    assert portal_backoff(30) <= 300 * 1.2


def test_a_thousand_portals_start_spread_over_50_seconds_within_a_sweep_interval() -> None:
    assert startup_spread(1000, 60) == 50 * S
    assert startup_spread(10_000, 60) == 60 * S
    assert startup_spread(1, 60) == S / 20


def test_a_portal_blocked_by_operating_time_waits_until_the_reset_or_a_minute() -> None:
    now = NOW.timestamp()

    assert operating_block_end(now + 300, now=now) == NOW + 300 * S
    assert operating_block_end(None, now=now) == NOW + 60 * S
    assert operating_block_end(now - 5, now=now) == NOW + 60 * S  # a reset time already past
