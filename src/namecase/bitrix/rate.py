"""The per-portal rate budget: a leaky bucket mirroring the portal's own (bitrix24-protocol.md §6).

Bitrix24 counts every HTTP request (a batch is one) into a bucket that drains 2/s and holds 50
(Enterprise: 5/s, 250); past that it answers 503 QUERY_LIMIT_EXCEEDED. Keeping our own copy
lets us wait instead of being refused. Pure arithmetic on caller-supplied wall-clock times, so the
state can be persisted (``to_state``) and picked up by another worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Our count of a request and the portal's can be this many seconds apart, by varying amounts:
# a request is counted here (take) before it is sent, and a loaded machine can stall between the
# two, or stall the portal's side between arrival and admission. Two requests whose delays differ
# by d arrive d seconds closer together than we spaced them, so the portal sees a bucket up to
# drain × d fuller than ours. The budget keeps that many requests of headroom below the portal's
# limit. bench/rate_margin.py measures the spread under CPU load (docs/BENCHMARKS.md).
DRIFT_MARGIN_SECONDS = 2.0


@dataclass
class LeakyBucket:
    """Each request adds 1, ``drain_per_second`` leaks out; one fits while level + 1 <= capacity.

    ``take`` may push the level above capacity: the excess is a reservation for requests that were
    told to wait (``wait_time`` measured before the ``take``), so concurrent callers queue up in
    order instead of all sending at once when the wait is over.
    """

    capacity: float = 50.0
    drain_per_second: float = 2.0
    level: float = 0.0
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.drain_per_second <= 0:
            raise ValueError("a bucket needs capacity >= 1 and drain_per_second > 0")

    @classmethod
    def for_portal(
        cls,
        capacity: float = 50.0,
        drain_per_second: float = 2.0,
        *,
        margin_seconds: float = DRIFT_MARGIN_SECONDS,
    ) -> LeakyBucket:
        """A budget for a portal whose own bucket is ``capacity`` deep (Enterprise: 250, 5/s).

        Keeps ``margin_seconds`` of draining (at least one request) below the portal's limit:
        requests reach the portal later than we count them, by varying amounts, so an exact
        copy would sit on the edge (see DRIFT_MARGIN_SECONDS).
        """
        headroom = max(1.0, drain_per_second * margin_seconds)
        return cls(capacity=max(1.0, capacity - headroom), drain_per_second=drain_per_second)

    def level_at(self, now: float) -> float:
        """The level at ``now`` after draining; time running backwards drains nothing."""
        elapsed = max(0.0, now - self.updated_at)
        return max(0.0, self.level - elapsed * self.drain_per_second)

    def wait_time(self, now: float) -> float:
        """Seconds from ``now`` until one more request fits."""
        overflow = self.level_at(now) + 1.0 - self.capacity
        return max(0.0, overflow / self.drain_per_second)

    def take(self, now: float) -> None:
        """Count one request sent at ``now`` (or reserved, see the class docstring)."""
        self.level = self.level_at(now) + 1.0
        self.updated_at = max(now, self.updated_at)

    def penalize(self, now: float) -> None:
        """The portal answered 503 anyway (another app on our IP, another process): assume full."""
        self.level = max(self.level_at(now), self.capacity)
        self.updated_at = max(now, self.updated_at)

    def to_state(self) -> dict[str, float]:
        """Plain JSON-able data for persisting the bucket between processes."""
        return {
            "capacity": self.capacity,
            "drain_per_second": self.drain_per_second,
            "level": self.level,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, float]) -> LeakyBucket:
        """Rebuild a bucket saved with ``to_state``; missing keys take the defaults."""
        bucket = cls()
        return cls(
            capacity=float(state.get("capacity", bucket.capacity)),
            drain_per_second=float(state.get("drain_per_second", bucket.drain_per_second)),
            level=float(state.get("level", bucket.level)),
            updated_at=float(state.get("updated_at", bucket.updated_at)),
        )
