"""Our event handlers on a portal: what should be bound, and making the portal's list match it.

Handlers disappear: "При удалении и обновлении приложения его действия будут удаляться. Поэтому
в инсталляторе каждой версии нужно их выставлять с нуля" ([RU] api-reference/events/event-bind.md),
and whether the installer runs again after an update is not said. So the portal's list is
compared with what should be bound — at install, after ONAPPUPDATE, when a worker starts and then
every BINDING_CHECK_INTERVAL — using `event.get`, which lists the app's own handlers
([RU] api-reference/events/event-get.md; an administrator's token sees them all). Missing
handlers are bound; handlers of ours at another address (the service moved: a new PUBLIC_URL)
are unbound (`event.unbind {event, handler}`, [RU] api-reference/events/event-unbind.md) in the
same batch, before the binds, since batch commands run in order ([RU]
settings/how-to-call-rest-api/batch.md).

Offline events (bitrix24-protocol.md §10; portals/event_modes.py decides the mode): in offline
mode the CRM events are bound `event_type=offline` with our `auth_connector` and ONOFFLINEEVENT
online as the doorbell, and our online CRM handlers are unbound, so no record arrives both ways.
An offline binding is listed as `{"event", "connector_id", "offline": 1}` ([3P-src]); only ours
(our connector) are compared, others are left alone. The change that adds comes first (offline
binds before online unbinds when going offline, and the reverse going online), so no change
falls between the two.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from namecase.bitrix import MAX_BATCH, BitrixClient, BitrixError, PortalDisabled, PortalLink

log = logging.getLogger(__name__)

BOUND_EVENTS: Final = (
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONCRMLEADADD",
    "ONCRMLEADUPDATE",
    "ONAPPUPDATE",  # carries the new application_token ([RU] common/events/on-app-update.md)
    "ONAPPUNINSTALL",
)
# bitrix24-protocol.md §3: a duplicate bind answers one of these; both mean "already bound".
_ALREADY_BOUND: Final = ("unable to set event handler", "handler already binded", "already bound")


AUTH_CONNECTOR: Final = "namecase"  # our auth_connector: the queue ours, our writes kept out
DOORBELL: Final = "ONOFFLINEEVENT"
# options.minTimeout of the doorbell, seconds: the documented default ([RU]
# api-reference/events/on-offline-event.md); a ring inside it is dropped (§10), so after a
# collection that found entries the queue is looked at again (queue/offline.py).
DOORBELL_MIN_TIMEOUT: Final = 1
CRM_EVENTS_OF: Final = {
    "contact": ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE"),
    "lead": ("ONCRMLEADADD", "ONCRMLEADUPDATE"),
}
LIFECYCLE_EVENTS: Final = ("ONAPPUPDATE", "ONAPPUNINSTALL")


@dataclass(frozen=True)
class Wanted:
    """What should be bound: online events at our handler URL, offline events with our key."""

    online: tuple[str, ...] = BOUND_EVENTS
    offline: tuple[str, ...] = ()


ONLINE: Final = Wanted()


def offline_wanted(entities: tuple[str, ...] | list[str]) -> Wanted:
    """Offline mode: the CRM events of the enabled entity types offline, the doorbell and the
    lifecycle events online."""
    crm = tuple(
        event for kind in ("contact", "lead") if kind in entities for event in CRM_EVENTS_OF[kind]
    )
    return Wanted(online=(*LIFECYCLE_EVENTS, DOORBELL), offline=crm)


@dataclass(frozen=True)
class BindingPlan:
    """What to change on the portal: handlers to unbind (event, URL), then events to bind;
    and our offline bindings to remove and to make."""

    unbind: tuple[tuple[str, str], ...] = ()
    bind: tuple[str, ...] = ()
    unbind_offline: tuple[str, ...] = ()
    bind_offline: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.unbind or self.bind or self.unbind_offline or self.bind_offline)


def plan_bindings(bound: Any, handler_url: str, wanted: Wanted = ONLINE) -> BindingPlan:
    """Compare `event.get`'s answer with what should be bound (`wanted`) at `handler_url`.

    Event names are compared in upper case (protocol §2: the docs show them upper case, code
    binds them in any case). Every online handler of ours at another address is unbound: the
    list holds only this app's handlers, so such an address is an old PUBLIC_URL of ours; so is
    one at our address for an event no longer wanted online.
    """
    present: set[str] = set()
    present_offline: set[str] = set()
    unbind: list[tuple[str, str]] = []
    for entry in bound if isinstance(bound, list) else []:
        if not isinstance(entry, Mapping):
            continue
        event = str(entry.get("event", "")).upper()
        if _offline(entry):
            if event and str(entry.get("connector_id") or "") == AUTH_CONNECTOR:
                present_offline.add(event)
            continue
        handler = entry.get("handler")
        if not event or not isinstance(handler, str) or not handler:
            continue
        if handler == handler_url and event in wanted.online:
            present.add(event)
        elif (event, handler) not in unbind:
            unbind.append((event, handler))
    return BindingPlan(
        unbind=tuple(unbind),
        bind=tuple(event for event in wanted.online if event not in present),
        unbind_offline=tuple(sorted(present_offline - set(wanted.offline))),
        bind_offline=tuple(event for event in wanted.offline if event not in present_offline),
    )


async def match_bindings(
    bitrix: BitrixClient,
    link: PortalLink,
    handler_url: str,
    wanted: Wanted = ONLINE,
    bound: Any = None,
) -> BindingPlan:
    """Make the portal's handlers what `wanted` says at `handler_url`; returns what was changed.

    `bound` is `event.get`'s answer when the caller has it (else it is asked for). Raises the
    first failure other than "already bound" (the caller marks the portal to try again, or
    falls back to online events when the offline ones are refused).
    """
    if bound is None:
        bound = await bitrix.call(link, "event.get")
    plan = plan_bindings(bound, handler_url, wanted)
    if plan.empty:
        return plan
    if wanted.offline:
        await _change_offline(bitrix, link, plan)
        await _change_online(bitrix, link, plan, handler_url)
        return plan
    await _change_online(bitrix, link, plan, handler_url)
    try:
        await _change_offline(bitrix, link, plan)
    except PortalDisabled:
        raise
    except BitrixError as error:
        # Online events are bound; an offline binding we could not remove (e.g. the installer
        # lost the rights to) only fills a queue nobody collects: no record arrives twice.
        log.warning(
            "offline bindings left in place: %s", error, extra={"member_id": link.member_id}
        )
    return plan


async def _change_online(
    bitrix: BitrixClient, link: PortalLink, plan: BindingPlan, handler_url: str
) -> None:
    commands: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for index, (event, handler) in enumerate(plan.unbind):
        commands[f"unbind{index}"] = ("event.unbind", {"event": event, "handler": handler})
    for event in plan.bind:
        params: dict[str, Any] = {"event": event, "handler": handler_url}
        if event == DOORBELL:
            params["options"] = {"minTimeout": DOORBELL_MIN_TIMEOUT}
        commands[f"bind_{event}"] = ("event.bind", params)
    await _run(bitrix, link, commands)


async def _change_offline(bitrix: BitrixClient, link: PortalLink, plan: BindingPlan) -> None:
    # auth_connector on the batch request and on each command: inside a batch, which of the two
    # Bitrix24 reads is UNCONFIRMED (§10), so both carry it.
    offline = {"event_type": "offline", "auth_connector": AUTH_CONNECTOR}
    commands: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for event in plan.unbind_offline:
        commands[f"unbind_offline_{event}"] = ("event.unbind", {"event": event, **offline})
    for event in plan.bind_offline:
        commands[f"bind_offline_{event}"] = ("event.bind", {"event": event, **offline})
    await _run(bitrix, link, commands, {"auth_connector": AUTH_CONNECTOR})


async def _run(
    bitrix: BitrixClient,
    link: PortalLink,
    commands: Mapping[str, tuple[str, Mapping[str, Any]]],
    params: Mapping[str, Any] | None = None,
) -> None:
    if not commands:
        return
    # A batch holds 50 commands (protocol §6); more stale handlers than that are finished on
    # the next check (the overflow raises below, so the portal stays marked for one).
    sent = dict(list(commands.items())[:MAX_BATCH])
    result = await bitrix.batch(link, sent, params=params)
    failures = [
        error
        for name, error in result.errors.items()
        if name.startswith("unbind") or not _means_already_bound(error)
    ]
    if failures:
        raise failures[0]
    if len(commands) > len(sent):
        raise BitrixError("", "more handlers to change than one batch holds", method="batch")


def _offline(entry: Mapping[str, Any]) -> bool:
    return str(entry.get("offline", "0")) not in ("0", "", "False", "false")


def _means_already_bound(error: BitrixError) -> bool:
    text = f"{error.code} {error.description}".lower()
    return any(marker in text for marker in _ALREADY_BOUND)
