"""A method's operating time, as successful answers report it (protocol §6, [RU] limits.md).

Every answer's `time` block carries `operating` — the seconds this method has run for this app in
the last ten one-minute buckets — and `operating_reset_at`, when the oldest bucket drops off.
Past a limit "задается конфигурацией" (420 s by default on-premise) the next call of the method
answers 429 OPERATION_TIME_LIMIT, and the 429 need not say when it ends: "Для первой повторной
попытки ориентироваться на operating_reset_at из последнего успешного ответа". So the latest
block of each method is kept here, to slow a portal down before it is blocked and to know when
a block ends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TimingObserver(Protocol):
    """A PortalLink that keeps the `time` block of each successful answer, per method."""

    def observe_timing(self, method: str, timing: Any) -> None: ...

    def operating_reset_at(self, method: str) -> float | None:
        """When `method`'s oldest bucket drops off, as its last successful answer said."""
        ...


@dataclass
class OperatingMeter:
    """The latest `operating` and `operating_reset_at` seen for each method of one portal."""

    seen: dict[str, tuple[float, float | None]] = field(default_factory=dict)

    def observe(self, method: str, timing: Any) -> None:
        """Keep a `time` block's figures (ignored when it carries none)."""
        if not isinstance(timing, Mapping):
            return
        used = _seconds(timing.get("operating"))
        if used is not None:
            self.seen[method.lower()] = (used, _seconds(timing.get("operating_reset_at")))

    def reset_at(self, method: str | None) -> float | None:
        """When `method`'s oldest bucket drops off, as its last successful answer said."""
        if method is None:
            return None
        entry = self.seen.get(method.lower())
        return entry[1] if entry else None

    def pause_until(self, budget: float) -> float | None:
        """Unix time to leave the portal alone until: some method has used `budget` seconds, so
        wait for its oldest bucket to drop off. None while every method is under it (or off)."""
        if budget <= 0:
            return None
        ends = [reset for used, reset in self.seen.values() if used >= budget and reset]
        return max(ends) if ends else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
