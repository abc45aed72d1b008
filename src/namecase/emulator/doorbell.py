"""What a portal allows of offline events, and when ONOFFLINEEVENT rings (bitrix24-protocol.md §10).

- Features ([RU] api-reference/common/system/feature-get.md): `rest_offline_extended` (the
  reserve/confirm mode, "на отдельных тарифах") and `rest_auth_connector` (the `auth_connector`
  key; "Профессиональный и выше", event-offline-list.md). Which plans have the extended mode is
  not said; the emulator gives both to professional and enterprise. Whether offline binding
  itself needs a feature is UNCONFIRMED (§10): here it is allowed on every plan, and a switch
  (`offline`) denies it, so an app's fallback to online events can be tested.
- The doorbell ([RU] api-reference/events/on-offline-event.md, "Периодичность уведомлений"):
  `minTimeout` N > 0 rings for the first change and then no sooner than N s later; a ring
  inside the window is dropped, not postponed (§10, [3P-src] `checkSendTime`; the docs' wording
  leaves this open). N = 0 rings once per request to Bitrix24, however many entries it added.
  Rings are held until the request that caused them ends, so a batch of 50 updates rings once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MIN_TIMEOUT = 1  # seconds (event-bind.md, `options.minTimeout`: "По умолчанию 1")
FEATURE_EXTENDED = "rest_offline_extended"
FEATURE_AUTH_CONNECTOR = "rest_auth_connector"
_FULL_PLANS = ("professional", "enterprise")


@dataclass
class OfflineFeatures:
    """Per-portal switches; mutate them directly or through the control API."""

    offline: bool = True  # offline binding and the queue methods at all (UNCONFIRMED, see above)
    extended: bool = False  # feature.get rest_offline_extended
    auth_connector: bool = False  # feature.get rest_auth_connector

    @classmethod
    def for_plan(cls, plan: str) -> OfflineFeatures:
        """The defaults of a plan (see the module docstring)."""
        full = plan in _FULL_PLANS
        return cls(offline=True, extended=full, auth_connector=full)

    def value_of(self, code: str) -> bool:
        """The answer of `feature.get` for `code` (unknown codes: not available)."""
        if code == FEATURE_EXTENDED:
            return self.offline and self.extended
        if code == FEATURE_AUTH_CONNECTOR:
            return self.auth_connector
        return False

    def update(self, values: dict[str, Any]) -> None:
        """Set the switches named in `values` (control API)."""
        for name in ("offline", "extended", "auth_connector"):
            if name in values:
                setattr(self, name, bool(values[name]))

    def as_dict(self) -> dict[str, bool]:
        """JSON-ready view."""
        return {
            "offline": self.offline,
            "extended": self.extended,
            "auth_connector": self.auth_connector,
        }


@dataclass
class Ring:
    """Who caused the change that rings the doorbell (for the event's `auth` block)."""

    user_id: int | None
    automation: bool


@dataclass
class Doorbell:
    """The ONOFFLINEEVENT window of each doorbell handler, and rings held during a request."""

    last_ring: dict[int, float] = field(default_factory=dict)  # handler id → time it rang
    _open_requests: int = 0
    _held: Ring | None = None

    def allows(self, handler_id: int, min_timeout: int, now: float) -> bool:
        """May this handler ring now? Records the ring when it may."""
        if min_timeout > 0:
            last = self.last_ring.get(handler_id)
            if last is not None and now - last < min_timeout:
                return False  # inside the window: dropped, not postponed
        self.last_ring[handler_id] = now
        return True

    def open_request(self) -> None:
        """A request to the portal starts: hold its rings until it ends."""
        self._open_requests += 1

    def close_request(self) -> Ring | None:
        """The request ends: the held ring, if its changes queued anything."""
        self._open_requests -= 1
        if self._open_requests > 0:
            return None
        held, self._held = self._held, None
        return held

    def hold_or_pass(self, ring: Ring) -> Ring | None:
        """Inside a request, keep the first ring for its end; outside, ring now."""
        if self._open_requests > 0:
            if self._held is None:
                self._held = ring
            return None
        return ring
