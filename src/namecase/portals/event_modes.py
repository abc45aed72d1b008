"""Which way a portal tells us of changes: online events, or its offline queue (issue 13).

Bitrix24 offers two (bitrix24-protocol.md §2, §10):
- online: each change is POSTed to /events once; a delivery lost while we are down is gone, so a
  `>DATE_MODIFY` sweep every RECONCILE_INTERVAL is the net, and each correction we write comes
  back as an event;
- offline: the portal keeps a queue of changed records (one entry per object, its latest change)
  that we collect ([RU] api-reference/events/offline-events.md); a write carrying our
  `auth_connector` is kept out of our queue, so corrections do not come back; ONOFFLINEEVENT,
  bound online, rings when entries arrive ([RU] on-offline-event.md).

With NAMECASE_EVENT_MODE=auto a portal is offline when it allows it: `feature.get` says
`rest_auth_connector` = Y ([RU] common/system/feature-get.md; without the key our own writes
would come back through the queue, where one entry per object cannot tell them from a user's
edit) and the offline binding is accepted (administrators only: an installer who lost the
rights is refused, [RU] api-reference/events/event-bind.md). `rest_offline_extended` = Y adds
reserve/confirm (`clear=0`); without it the queue is read with `clear=1`. Anything else, and
NAMECASE_EVENT_MODE=online, means online events, with the reason kept for /admin.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from namecase.bitrix import BitrixClient, BitrixError, PortalDisabled, PortalLink
from namecase.portals.bindings import (
    AUTH_CONNECTOR,
    ONLINE,
    BindingPlan,
    match_bindings,
    offline_wanted,
)
from namecase.portals.models import Portal

log = logging.getLogger(__name__)

ONLINE_MODE: Final = "online"
OFFLINE_MODE: Final = "offline"
FEATURE_EXTENDED: Final = "rest_offline_extended"
FEATURE_AUTH_CONNECTOR: Final = "rest_auth_connector"


@dataclass(frozen=True)
class EventMode:
    """The mode a portal's bindings were made for, and why when it is not offline."""

    mode: str
    extended: bool = False
    reason: str | None = None

    @property
    def offline(self) -> bool:
        return self.mode == OFFLINE_MODE


@dataclass(frozen=True)
class Bound:
    """What a binding check changed, and the mode it left the portal in."""

    plan: BindingPlan
    mode: EventMode


@dataclass(frozen=True)
class Looked:
    """`event.get`'s answer, and the features (None when `feature.get` failed, with why)."""

    bound: Any
    features: dict[str, bool] | None
    failure: str = ""


async def look(bitrix: BitrixClient, link: PortalLink) -> Looked:
    """The portal's handlers and both offline features, in one request (a batch: the binding
    check of every portal runs hourly, and at install the request shares the portal's bucket
    with the worker that follows)."""
    codes = (FEATURE_EXTENDED, FEATURE_AUTH_CONNECTOR)
    commands: dict[str, tuple[str, dict[str, Any]]] = {"bound": ("event.get", {})}
    commands.update({code: ("feature.get", {"CODE": code}) for code in codes})
    answer = await bitrix.batch(link, commands)
    if "bound" in answer.errors:
        raise answer.errors["bound"]
    failed = [answer.errors[code] for code in codes if code in answer.errors]
    if failed:
        return Looked(answer.result.get("bound"), None, _said(failed[0]))
    features = {code: _says_yes(answer.result.get(code)) for code in codes}
    return Looked(answer.result.get("bound"), features)


def _says_yes(result: object) -> bool:
    # `{"value": "Y"|"N"}` (feature-get.md).
    return isinstance(result, dict) and str(result.get("value", "")).upper() == "Y"


async def bind_for_mode(
    bitrix: BitrixClient,
    link: PortalLink,
    handler_url: str,
    *,
    setting: str,
    entities: tuple[str, ...] | list[str],
) -> Bound:
    """Bind the portal's events for the best mode it allows; online when offline is refused.

    Raises only what keeps even online events from being bound (the caller retries the check).
    """
    if setting == ONLINE_MODE:
        bound = await bitrix.call(link, "event.get")
        return await _online(bitrix, link, handler_url, bound, "NAMECASE_EVENT_MODE=online")
    looked = await look(bitrix, link)
    bound, features = looked.bound, looked.features
    if features is None:
        reason = f"feature.get failed: {looked.failure}"
        return await _online(bitrix, link, handler_url, bound, reason)
    if not features[FEATURE_AUTH_CONNECTOR]:
        reason = "the portal's plan has no auth_connector (feature.get rest_auth_connector = N)"
        return await _online(bitrix, link, handler_url, bound, reason)
    try:
        plan = await match_bindings(bitrix, link, handler_url, offline_wanted(entities), bound)
    except PortalDisabled:
        raise
    except BitrixError as error:
        # ACCESS_DENIED: the installer is no longer an administrator; WRONG_LICENSE: the plan.
        # What the refused attempt changed is not known: the portal's list is read again.
        reason = f"offline binding refused: {_said(error)}"
        return await _online(bitrix, link, handler_url, None, reason)
    return Bound(plan, EventMode(OFFLINE_MODE, extended=features[FEATURE_EXTENDED]))


async def _online(
    bitrix: BitrixClient, link: PortalLink, handler_url: str, bound: Any, reason: str
) -> Bound:
    log.info("online events: %s", reason, extra={"member_id": link.member_id})
    plan = await match_bindings(bitrix, link, handler_url, ONLINE, bound)
    return Bound(plan, EventMode(ONLINE_MODE, reason=reason))


def offline_mode(portal: Portal) -> bool:
    """Does this portal tell us of changes through its offline queue?"""
    return portal.event_mode == OFFLINE_MODE


def connector_of(portal: Portal) -> str | None:
    """The auth_connector our writes carry on this portal (offline mode), so that Bitrix24
    keeps them out of our queue (protocol §10); None online."""
    return AUTH_CONNECTOR if offline_mode(portal) else None


def _said(error: BitrixError) -> str:
    return f"{error.code or 'no code'} {error.description}".strip()[:300]
