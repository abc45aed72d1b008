"""When things happen: retry and backoff delays, a portal's next due time, sweeps, echo holds.

Pure functions of their inputs (tested without a database in tests/pipeline/test_scheduling.py).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

BATCH_SIZE = 50  # one list page and one batch request hold at most 50 (protocol §6)
IDLE = dt.timedelta(hours=1)  # nothing scheduled: look again after this
MAX_PORTAL_BACKOFF = 300.0
MAX_ITEM_BACKOFF = 3600.0
AUTH_FAILURES_BEFORE_DISABLING = 5
RECONCILE_MARGIN = dt.timedelta(minutes=2)  # clock skew and in-flight edits at the last sweep
# An unsettled echo hold ends after this (echo lost, or no sweep folded it): two sweeps' time,
# and never less than a few minutes, so that a normal sweep settles it first.
MIN_ECHO_HOLD = dt.timedelta(minutes=5)


def item_retry_delay(attempts: int) -> float:
    """Seconds before a failed record is tried again: doubling from 2 s, jittered, capped."""
    return float(min(MAX_ITEM_BACKOFF, 2.0 * 2**attempts) * random.uniform(0.8, 1.2))


def portal_backoff(failures: int) -> float:
    """Seconds a portal rests after `failures` failed units in a row: doubling from 1 s."""
    return float(min(MAX_PORTAL_BACKOFF, 1.0 * 2**failures) * random.uniform(0.8, 1.2))


# A 429 without `operating_reset_at` (the error body need not carry the `time` block): look again
# after this; the operating time is counted in one-minute buckets (protocol §6, limits.md).
OPERATING_BLOCK_FALLBACK = dt.timedelta(minutes=1)


def operating_block_end(reset_at: float | None, *, now: float) -> dt.datetime:
    """When a portal blocked by OPERATION_TIME_LIMIT is worth trying again (UTC)."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC) + OPERATING_BLOCK_FALLBACK
    if reset_at is not None and reset_at > now:
        moment = dt.datetime.fromtimestamp(reset_at, dt.UTC)
    return moment


def echo_hold(reconcile_interval: float) -> dt.timedelta:
    """How long a written record waits for its echo to be folded into another read."""
    return max(MIN_ECHO_HOLD, dt.timedelta(seconds=2 * reconcile_interval))


def sweep_due(
    *,
    interval: float,
    last_sweep: dt.datetime | None,
    swept_since_start: bool,
    now: dt.datetime,
) -> bool:
    """A reconciliation sweep is due every `interval` s, and once when a worker starts."""
    if interval <= 0:
        return False
    if not swept_since_start or last_sweep is None:
        return True
    return last_sweep + dt.timedelta(seconds=interval) <= now


@dataclass(frozen=True)
class QueueView:
    """What the next due time depends on, as read at the end of a unit."""

    backfill_running: bool
    earliest_pending: dt.datetime | None  # the portal's earliest pending row's due time
    full_batch_due: bool  # at least BATCH_SIZE rows are due now
    last_sweep: dt.datetime | None


def next_due(
    view: QueueView, *, now: dt.datetime, batch_window: float, sweep_interval: float
) -> dt.datetime:
    """When the portal needs a worker again (an hour from now when nothing is scheduled).

    A partial batch waits out the batch window, so a burst still in flight joins it; a failed
    record makes its portal due at its retry time.
    """
    if view.backfill_running:
        return now
    candidates = [now + IDLE]
    if view.earliest_pending is not None:
        window = dt.timedelta(seconds=0 if view.full_batch_due else batch_window)
        candidates.append(max(view.earliest_pending + window, now))
    if sweep_interval > 0 and view.last_sweep is not None:
        candidates.append(view.last_sweep + dt.timedelta(seconds=sweep_interval))
    return min(candidates)


def startup_spread(portals: int, sweep_interval: float) -> dt.timedelta:
    """Over how long a starting worker spreads the portals it makes due.

    Each first visit sweeps the portal; a thousand of them at once would keep new events waiting.
    About 20 portals a second, within one sweep interval when there is one.
    """
    spread = dt.timedelta(seconds=portals / 20)
    if sweep_interval > 0:
        spread = min(spread, dt.timedelta(seconds=sweep_interval))
    return spread
