"""Faults injectable per portal: what can go wrong between an app and Bitrix24.

Rates are probabilities drawn from the emulator's seeded random generator; the ``*_next``
counters fail the next N requests (or deliveries) deterministically, which tests prefer.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field, fields
from typing import Any


class RequestFault(enum.Enum):
    """A transport-level failure injected into one REST request."""

    ERROR = "error"  # 500 INTERNAL_SERVER_ERROR
    TIMEOUT = "timeout"  # no answer for timeout_seconds, then the connection is dropped
    RESET = "reset"  # the connection is reset without an answer


@dataclass
class Faults:
    """Per-portal fault settings; mutate the fields directly or via the control API."""

    latency: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 65.0
    reset_rate: float = 0.0
    drop_event_rate: float = 0.0
    event_delay: float = 0.0
    error_next: int = 0
    timeout_next: int = 0
    reset_next: int = 0
    drop_next_events: int = 0
    # The next N REST requests find the leaky bucket full: 503 QUERY_LIMIT_EXCEEDED, as a real
    # overflow answers (settings/performance/limits.md), without having to fill the bucket.
    limit_next: int = 0
    # Requests for these methods hang like a timeout and are dropped without being run (e.g. a
    # test kills the app while its `event.offline.clear` is in flight).
    hang_methods: list[str] = field(default_factory=list)
    operating_limit_seconds: dict[str, float] = field(default_factory=dict)
    operating_cost_seconds: dict[str, float] = field(default_factory=dict)

    def draw_request_fault(self, rng: random.Random) -> RequestFault | None:
        """Decide the fault for one REST request (deterministic counters first)."""
        if self.reset_next > 0:
            self.reset_next -= 1
            return RequestFault.RESET
        if self.timeout_next > 0:
            self.timeout_next -= 1
            return RequestFault.TIMEOUT
        if self.error_next > 0:
            self.error_next -= 1
            return RequestFault.ERROR
        if not (self.reset_rate or self.timeout_rate or self.error_rate):
            return None
        roll = rng.random()
        for fault, rate in (
            (RequestFault.RESET, self.reset_rate),
            (RequestFault.TIMEOUT, self.timeout_rate),
            (RequestFault.ERROR, self.error_rate),
        ):
            if roll < rate:
                return fault
            roll -= rate
        return None

    def take_limit(self) -> bool:
        """Whether this request is refused by an injected ``limit_next``."""
        if self.limit_next > 0:
            self.limit_next -= 1
            return True
        return False

    def draw_drop(self, rng: random.Random) -> bool:
        """Decide whether one event delivery is lost before it is sent."""
        if self.drop_next_events > 0:
            self.drop_next_events -= 1
            return True
        return bool(self.drop_event_rate) and rng.random() < self.drop_event_rate

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view, as the control API shows it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def update(self, changes: dict[str, Any]) -> None:
        """Set the named fields; unknown names raise ``KeyError``."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise KeyError(name)
            if name == "hang_methods":
                setattr(self, name, [str(method).lower() for method in value])
            elif name in ("operating_limit_seconds", "operating_cost_seconds"):
                setattr(self, name, {str(k): float(v) for k, v in dict(value).items()})
            elif isinstance(getattr(self, name), int) and not isinstance(getattr(self, name), bool):
                setattr(self, name, int(value))
            else:
                setattr(self, name, float(value))
