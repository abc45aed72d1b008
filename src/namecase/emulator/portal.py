"""One emulated Bitrix24 portal: identity, plan, app installation state, CRM data, stats."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from namecase.emulator.bxtime import MOSCOW
from namecase.emulator.crm import CONTACT, LEAD, CrmStore
from namecase.emulator.doorbell import Doorbell, OfflineFeatures
from namecase.emulator.faults import Faults
from namecase.emulator.limits import LeakyBucket, OperatingClock, limits_for_plan
from namecase.emulator.offline import OfflineQueue
from namecase.emulator.tokens import TokenPair

PLANS = ("free", "basic", "standard", "professional", "enterprise")

# (LICENSE_TYPE, LICENSE_FAMILY) per plan, for app.info (protocol §9).
LICENSES = {
    "free": ("project", "project"),
    "basic": ("basic", "basic"),
    "standard": ("std", "std"),
    "professional": ("pro100", "pro"),
    "enterprise": ("ent250", "ent"),
}


@dataclass
class User:
    """A portal user; user 1 is the administrator who installs apps."""

    id: int
    admin: bool
    name: str
    last_name: str


@dataclass
class EventHandler:
    """A row of the portal's handler table, as ``event.bind`` created it."""

    id: int
    event: str
    handler: str
    user_id: int  # auth_type: 0 = the user whose action caused the event
    offline: bool = False
    connector: str = ""  # auth_connector of the binding (offline: which queue, §10)
    min_timeout: int | None = None  # options.minTimeout (ONOFFLINEEVENT only)


@dataclass
class PortalStats:
    """Counters for tests and benchmarks (read through ``Emulator.stats``)."""

    calls_by_method: Counter[str] = field(default_factory=Counter)
    total_requests: int = 0
    # REST requests being answered right now, and the most ever at once (callers' concurrency).
    in_flight: int = 0
    max_in_flight: int = 0
    updates_per_record: Counter[tuple[str, int]] = field(default_factory=Counter)
    user_updates_per_record: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Each time a record was returned by crm.*.get or crm.*.list: how often the app read it.
    reads_per_record: Counter[tuple[str, int]] = field(default_factory=Counter)
    refreshes: int = 0
    token_requests: int = 0  # every /oauth/token/ request with one of its refresh tokens
    rejected_503: int = 0
    rejected_429: int = 0
    injected_errors: int = 0
    injected_timeouts: int = 0
    injected_resets: int = 0
    redirects_302: int = 0
    events_fired: int = 0
    events_suppressed_before_install: int = 0
    deliveries_queued: int = 0
    # Offline events (§10): changes queued (new or merged entries), changes kept out of a
    # connector's queue because the call carried that connector, doorbell rings sent and dropped.
    offline_queued: int = 0
    offline_suppressed: int = 0
    doorbell_rings: int = 0
    doorbell_dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view; record keys become ``"contact:5"``."""
        return {
            "calls_by_method": dict(self.calls_by_method),
            "total_requests": self.total_requests,
            "max_in_flight": self.max_in_flight,
            "updates_per_record": _record_keys(self.updates_per_record),
            "user_updates_per_record": _record_keys(self.user_updates_per_record),
            "reads_per_record": _record_keys(self.reads_per_record),
            "refreshes": self.refreshes,
            "token_requests": self.token_requests,
            "rejected_503": self.rejected_503,
            "rejected_429": self.rejected_429,
            "injected_errors": self.injected_errors,
            "injected_timeouts": self.injected_timeouts,
            "injected_resets": self.injected_resets,
            "redirects_302": self.redirects_302,
            "events_fired": self.events_fired,
            "events_suppressed_before_install": self.events_suppressed_before_install,
            "deliveries_queued": self.deliveries_queued,
            "offline_queued": self.offline_queued,
            "offline_suppressed": self.offline_suppressed,
            "doorbell_rings": self.doorbell_rings,
            "doorbell_dropped": self.doorbell_dropped,
        }


def _record_keys(counter: Counter[tuple[str, int]]) -> dict[str, int]:
    return {f"{entity}:{record_id}": count for (entity, record_id), count in counter.items()}


class Portal:
    """A Bitrix24 portal with the app's installation on it."""

    def __init__(
        self,
        member_id: str,
        domain: str,
        plan: str,
        origin_of: Callable[[str], str],
        bucket_depth: int | None = None,
        drain_per_second: float | None = None,
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {PLANS}")
        limits = limits_for_plan(plan)
        self.member_id = member_id
        self.domain = domain
        self.plan = plan
        self.tz = MOSCOW
        self._origin_of = origin_of
        self.bucket = LeakyBucket(
            depth=bucket_depth or limits.depth,
            drain_per_second=drain_per_second or limits.drain_per_second,
        )
        self.operating = OperatingClock()
        self.faults = Faults()
        self.contacts = CrmStore(CONTACT, self.tz)
        self.leads = CrmStore(LEAD, self.tz)
        self.users = {
            1: User(id=1, admin=True, name="Админ", last_name="Портала"),
            2: User(id=2, admin=False, name="Менеджер", last_name="Продаж"),
        }
        self.handlers: list[EventHandler] = []
        self._next_handler_id = 1
        self.app_installed = False
        self.install_finished = False
        self.application_token: str | None = None
        self.language = "ru"
        self.payment_required = False
        self.closed = False  # the public part closed: every call answers PORTAL_DELETED
        self.event_tokens: dict[int, TokenPair] = {}
        self.offline = OfflineQueue()
        self.features = OfflineFeatures.for_plan(plan)
        self.doorbell = Doorbell()
        self.stats = PortalStats()

    @property
    def origin(self) -> str:
        """``http://{domain}:PORT``: the portal's own host, on the emulator's port."""
        return self._origin_of(self.domain)

    @property
    def client_endpoint(self) -> str:
        """``{origin}/rest/``: where this portal's REST methods live, as on Bitrix24
        (``https://DOMAIN/rest/``, settings/oauth/index.md)."""
        return f"{self.origin}/rest/"

    @property
    def license(self) -> tuple[str, str]:
        """(LICENSE_TYPE, LICENSE_FAMILY) of the plan."""
        return LICENSES[self.plan]

    def store(self, entity: str) -> CrmStore:
        """The CRM store for ``"contact"`` or ``"lead"``."""
        return self.contacts if entity == "contact" else self.leads

    def add_handler(
        self,
        event: str,
        handler: str,
        user_id: int,
        offline: bool,
        connector: str = "",
        min_timeout: int | None = None,
    ) -> EventHandler:
        """Append a handler row and return it."""
        row = EventHandler(
            id=self._next_handler_id,
            event=event,
            handler=handler,
            user_id=user_id,
            offline=offline,
            connector=connector,
            min_timeout=min_timeout,
        )
        self._next_handler_id += 1
        self.handlers.append(row)
        return row

    def handlers_for(self, event: str) -> list[EventHandler]:
        """Online handlers bound to ``event`` (names compared in upper case, protocol §2)."""
        return [h for h in self.handlers if h.event == event and not h.offline]

    def offline_handlers_for(self, event: str) -> list[EventHandler]:
        """Offline bindings of ``event``: one queue per connector (§10)."""
        return [h for h in self.handlers if h.event == event and h.offline]
