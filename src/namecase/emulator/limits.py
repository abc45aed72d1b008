"""Bitrix24 request limits as pure arithmetic over a clock value (bitrix24-protocol.md §6).

- Leaky bucket: every HTTP request adds 1, the counter drains Y per second, past X the
  request gets 503 QUERY_LIMIT_EXCEEDED. Enterprise X=250, Y=5; other plans X=50, Y=2.
- Operating time: per method, the accumulated run time in 10 one-minute buckets; once the
  total is over the limit the next call gets 429 OPERATION_TIME_LIMIT. A bucket's minute
  starts with its first call and it leaves the total 10 minutes later (limits.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BUCKET_WINDOW_SECONDS = 60.0
OPERATING_WINDOW_SECONDS = 600.0


@dataclass(frozen=True)
class PlanLimits:
    """Leaky-bucket parameters of a tariff plan."""

    depth: int
    drain_per_second: float


ENTERPRISE_LIMITS = PlanLimits(depth=250, drain_per_second=5.0)
STANDARD_LIMITS = PlanLimits(depth=50, drain_per_second=2.0)


def limits_for_plan(plan: str) -> PlanLimits:
    """Enterprise gets 250 deep / 5 per second, every other plan 50 / 2 (limits.md)."""
    return ENTERPRISE_LIMITS if plan == "enterprise" else STANDARD_LIMITS


@dataclass
class LeakyBucket:
    """A request counter that drains continuously; a request is admitted while it fits."""

    depth: int
    drain_per_second: float
    level: float = 0.0
    updated_at: float = 0.0

    def try_admit(self, now: float) -> bool:
        """Count one request at ``now``; False (and nothing counted) when the bucket is full."""
        self._drain(now)
        if self.level + 1.0 > self.depth:
            return False
        self.level += 1.0
        return True

    def current_level(self, now: float) -> float:
        """The counter value at ``now``."""
        self._drain(now)
        return self.level

    def _drain(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated_at)
        self.level = max(0.0, self.level - elapsed * self.drain_per_second)
        self.updated_at = now


@dataclass
class _MinuteBucket:
    started_at: float
    seconds: float


@dataclass
class OperatingClock:
    """Accumulated run time of each method, kept in one-minute buckets for 10 minutes."""

    buckets: dict[str, list[_MinuteBucket]] = field(default_factory=dict)

    def record(self, method: str, seconds: float, now: float) -> None:
        """Add ``seconds`` of run time for ``method`` at ``now``."""
        buckets = self._live(method, now)
        if buckets and now - buckets[-1].started_at < BUCKET_WINDOW_SECONDS:
            buckets[-1].seconds += seconds
        else:
            buckets.append(_MinuteBucket(started_at=now, seconds=seconds))

    def operating(self, method: str, now: float) -> float:
        """The method's run time over the last 10 minutes, in seconds."""
        return sum(bucket.seconds for bucket in self._live(method, now))

    def reset_at(self, method: str, now: float) -> int | None:
        """Unix time when the oldest bucket leaves the total, or None without buckets."""
        buckets = self._live(method, now)
        if not buckets:
            return None
        return int(buckets[0].started_at + OPERATING_WINDOW_SECONDS)

    def is_blocked(self, method: str, limit_seconds: float | None, now: float) -> bool:
        """True when the accumulated time is already over ``limit_seconds`` (checked pre-call)."""
        if limit_seconds is None:
            return False
        return self.operating(method, now) > limit_seconds

    def _live(self, method: str, now: float) -> list[_MinuteBucket]:
        buckets = self.buckets.setdefault(method, [])
        while buckets and buckets[0].started_at + OPERATING_WINDOW_SECONDS <= now:
            buckets.pop(0)
        return buckets
