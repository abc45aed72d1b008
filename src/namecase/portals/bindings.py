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
settings/how-to-call-rest-api/batch.md). Offline bindings (no handler, `offline: 1`) are left
alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from namecase.bitrix import MAX_BATCH, BitrixClient, BitrixError, PortalLink

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


@dataclass(frozen=True)
class BindingPlan:
    """What to change on the portal: handlers to unbind (event, URL), then events to bind."""

    unbind: tuple[tuple[str, str], ...] = ()
    bind: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.unbind and not self.bind


def plan_bindings(bound: Any, handler_url: str) -> BindingPlan:
    """Compare `event.get`'s answer with our handlers at `handler_url`.

    Event names are compared in upper case (protocol §2: the docs show them upper case, code
    binds them in any case). Every online handler of ours at another address is unbound: the
    list holds only this app's handlers, so such an address is an old PUBLIC_URL of ours.
    """
    present: set[str] = set()
    unbind: list[tuple[str, str]] = []
    for entry in bound if isinstance(bound, list) else []:
        if not isinstance(entry, Mapping) or _offline(entry):
            continue
        event = str(entry.get("event", "")).upper()
        handler = entry.get("handler")
        if not event or not isinstance(handler, str) or not handler:
            continue
        if handler == handler_url:
            present.add(event)
        elif (event, handler) not in unbind:
            unbind.append((event, handler))
    missing = tuple(event for event in BOUND_EVENTS if event not in present)
    return BindingPlan(tuple(unbind), missing)


async def match_bindings(bitrix: BitrixClient, link: PortalLink, handler_url: str) -> BindingPlan:
    """Make the portal's handlers ours at `handler_url`; returns what was changed.

    Raises the first failure other than "already bound" (the caller marks the portal to try again).
    """
    plan = plan_bindings(await bitrix.call(link, "event.get"), handler_url)
    if plan.empty:
        return plan
    commands: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for index, (event, handler) in enumerate(plan.unbind):
        commands[f"unbind{index}"] = ("event.unbind", {"event": event, "handler": handler})
    for event in plan.bind:
        commands[f"bind_{event}"] = ("event.bind", {"event": event, "handler": handler_url})
    # A batch holds 50 commands (protocol §6); more stale handlers than that are finished on
    # the next check (the overflow raises below, so the portal stays marked for one).
    sent = dict(list(commands.items())[:MAX_BATCH])
    result = await bitrix.batch(link, sent)
    failures = [
        error
        for name, error in result.errors.items()
        if name.startswith("unbind") or not _means_already_bound(error)
    ]
    if failures:
        raise failures[0]
    if len(commands) > len(sent):
        raise BitrixError("", "more handlers to change than one batch holds", method="batch")
    return plan


def _offline(entry: Mapping[str, Any]) -> bool:
    return str(entry.get("offline", "0")) not in ("0", "", "False", "false")


def _means_already_bound(error: BitrixError) -> bool:
    text = f"{error.code} {error.description}".lower()
    return any(marker in text for marker in _ALREADY_BOUND)
