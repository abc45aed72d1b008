"""A change reaching the offline queues bound to its event (bitrix24-protocol.md §10).

Each offline binding of the event is one connector's queue. A change made by a call that
carried `auth_connector` K is not queued for K ("auth_connector: our own writes don't come
back"); it is queued for every other connector, and a call without K is queued everywhere:
only the same app with the same K is skipped ([3P-src]: client_id and connector must both
match; the emulator serves one app). Online handlers are not affected (emulator.fire_event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from namecase.emulator.portal import Portal


def record_offline(
    portal: Portal,
    event: str,
    data: Mapping[str, Any],
    user_id: int | None,
    connector: str,
    now: float,
) -> bool:
    """Queue the change for each bound connector but the caller's; True if anything was queued."""
    queued = False
    # EVENT_ADDITIONAL is `{"user_id": …}` ([3P-src], §10 "Queue entries"); none for a robot.
    additional: Any = {"user_id": user_id} if user_id is not None else []
    for binding in portal.offline_handlers_for(event):
        if connector and binding.connector == connector:
            portal.stats.offline_suppressed += 1
            continue
        portal.offline.record(event, dict(data), additional, binding.connector, now)
        portal.stats.offline_queued += 1
        queued = True
    return queued
