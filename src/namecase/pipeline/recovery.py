"""A portal's lifecycle work under the lease: probes, keep-alive, bindings, remembered uninstalls.

The states and what moves them are portals/lifecycle.py (docs/LIFECYCLE.md); this module decides
when a worker looks, and what one look costs:

- a payment_required or unreachable portal is probed with one cheap call (`app.info`) every
  RECOVERY_INTERVAL, and sooner when an event arrives or its page opens (they make it due; the
  queue's `not_before` keeps probes `PROBE_SPACING` apart). Its records wait, uncharged; the first
  probe that succeeds makes it active and they continue;
- an auth_failed portal is tried (a refresh) at the keep-alive age, when an uninstall waits for
  confirmation, and once after a worker start if the OAuth server said invalid_client;
- before an active portal's records: a remembered ONAPPUNINSTALL is put to Bitrix24, tokens older
  than `KEEP_ALIVE_AGE` are refreshed (a refresh token lives 180 days, [RU]
  settings/oauth/auto-renewal.md: refreshing "раз в 180 дней" keeps it; we do it monthly, whether
  or not the app is switched off), and the bindings are checked every BINDING_CHECK_INTERVAL;
- a portal whose calls fail with network errors or 5xx unit after unit becomes unreachable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from namecase.bitrix import BitrixError, PortalDisabled, PortalUnavailable
from namecase.db import utcnow
from namecase.pipeline.context import WorkerContext
from namecase.portals import lifecycle, uninstall
from namecase.portals.link import PortalInactive, StoredPortalLink
from namecase.portals.models import Portal, PortalState
from namecase.portals.uninstall import Evidence
from namecase.queue.leases import Release
from namecase.queue.models import PortalQueue

log = logging.getLogger(__name__)

KEEP_ALIVE_AGE = dt.timedelta(days=28)  # visited at least hourly: refreshed within 30 days
PROBE_SPACING = dt.timedelta(seconds=60)  # probes asked for by events and page opens
BINDING_RETRY = dt.timedelta(minutes=5)  # a failed binding check is tried again this soon
UNREACHABLE_AFTER_FAILURES = 6  # units in a row without an answer (about a minute of backoff)
PROBED_STATES = frozenset(PortalState) - {PortalState.UNINSTALLED}


def keep_alive_due(refreshed_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Are the portal's tokens old enough to be refreshed for their own sake?"""
    return refreshed_at is None or refreshed_at + KEEP_ALIVE_AGE <= now


def bindings_due(portal: Portal, interval: float, now: dt.datetime) -> bool:
    """Is a look at the portal's event handlers due (needed soon after they were wiped)?"""
    if portal.bindings_checked_at is None:
        return True
    wait = dt.timedelta(seconds=interval)
    if portal.needs_bind:
        wait = min(wait, BINDING_RETRY)
    return portal.bindings_checked_at + wait <= now


def attempt_due(portal: Portal, claimed: PortalQueue, now: dt.datetime) -> bool:
    """Is this visit of a portal that is not active worth a call?"""
    if PortalState(portal.state).recoverable or portal.uninstall_requested_at is not None:
        return True
    # auth_failed: a fresh request (worker start) or the keep-alive age; nothing else helps.
    return claimed.failures == 0 or keep_alive_due(portal.refreshed_at, now)


async def upkeep(ctx: WorkerContext, portal: Portal, link: StoredPortalLink) -> None:
    """Before an active portal's records; raises PortalDisabled when the portal must stop."""
    now = utcnow()
    if portal.uninstall_requested_at is not None:
        evidence = await uninstall.ask_bitrix(ctx.bitrix, link)
        if evidence is not Evidence.UNKNOWN:
            async with ctx.sessions() as session, session.begin():
                verdict = await uninstall.settle(session, portal.member_id, evidence)
            if verdict is uninstall.UninstallVerdict.UNINSTALLED:
                raise PortalInactive("PORTAL_INACTIVE", "uninstalled")
    if keep_alive_due(portal.refreshed_at, now):
        await link.renew()
        log.info("tokens refreshed to keep them alive", extra={"member_id": portal.member_id})
    if bindings_due(portal, ctx.settings.binding_check_interval, now):
        await _check_bindings(ctx, portal, link)


async def _check_bindings(ctx: WorkerContext, portal: Portal, link: StoredPortalLink) -> None:
    try:
        plan = await ctx.portals.bind_events(portal, link)
    except PortalDisabled:
        raise
    except BitrixError as error:
        # The records still get done; the handlers are tried again in BINDING_RETRY.
        log.warning("binding check failed: %s", error, extra={"member_id": portal.member_id})
        await ctx.portals.binding_check_failed(portal.member_id)
        return
    if not plan.empty:
        log.warning(
            "event handlers re-bound",
            extra={
                "member_id": portal.member_id,
                "bound": ",".join(plan.bind),
                "unbound": len(plan.unbind),
            },
        )


async def probe(ctx: WorkerContext, claimed: PortalQueue, portal: Portal) -> Release:
    """One look at a portal that is not active; the release that follows from what it found."""
    now = utcnow()
    if not attempt_due(portal, claimed, now):
        return _release(ctx, PortalState(portal.state), claimed, now, attempted=False)
    link = ctx.portals.link(portal, usable_in=PROBED_STATES)
    evidence = await uninstall.ask_bitrix(ctx.bitrix, link)
    async with ctx.sessions() as session, session.begin():
        claimed_uninstall = portal.uninstall_requested_at is not None
        if claimed_uninstall and evidence is not Evidence.UNKNOWN:
            await uninstall.settle(session, portal.member_id, evidence)
        reason = None
        if evidence is Evidence.PRESENT:
            trigger: lifecycle.Trigger | None = lifecycle.Trigger.RECOVERED
        elif evidence is Evidence.GONE and not claimed_uninstall:
            trigger = lifecycle.Trigger.TOKENS_REFUSED
            reason = "a token fresh from the OAuth server was refused"
        else:
            trigger = None  # what the link heard is recorded already (portals/link.py)
        state = await lifecycle.record(session, portal.member_id, trigger, reason=reason)
    after = state or PortalState.UNINSTALLED
    log.info(
        "probe of a %s portal: %s, now %s",
        portal.state,
        evidence.value,
        after.value,
        extra={"member_id": portal.member_id},
    )
    return _release(ctx, after, claimed, now, attempted=True)


def _release(
    ctx: WorkerContext,
    state: PortalState,
    claimed: PortalQueue,
    now: dt.datetime,
    *,
    attempted: bool,
    error: str | None = None,
) -> Release:
    """When to look again: now when active (its records continue), else by state."""
    if state.served:
        return Release(due_at=now)
    if state is PortalState.UNINSTALLED:
        return Release(due_at=now)  # the next visit ends what is left (pipeline/unit.py)
    spacing = now + PROBE_SPACING if attempted else claimed.not_before
    failures = claimed.failures + 1 if attempted else claimed.failures
    if state.recoverable:
        wait = dt.timedelta(seconds=ctx.settings.recovery_interval)
    else:
        wait = KEEP_ALIVE_AGE
    return Release(
        due_at=now + wait,
        failures=failures,
        error=(error or claimed.last_error or "")[:500] or None,
        not_before=spacing,
    )


def slowed_down(how: Release, link: StoredPortalLink, budget: float) -> Release:
    """Slow a portal down before it is blocked: when a method's operating time (ten one-minute
    buckets, protocol §6, [RU] limits.md) has reached `budget` seconds, its next unit waits for
    the oldest bucket to drop off (`operating_reset_at` of the answer that said so)."""
    until = link.operating.pause_until(budget)
    if until is None:
        return how
    log.info("portal slows down for its operating time", extra={"member_id": link.member_id})
    return dataclasses.replace(how, not_before=dt.datetime.fromtimestamp(until, dt.UTC))


def release_after_refusal(
    ctx: WorkerContext, state: str, claimed: PortalQueue, error: BitrixError
) -> Release:
    """The release after a unit's calls were refused and the portal left the active state."""
    now = utcnow()
    return _release(ctx, PortalState(state), claimed, now, attempted=True, error=str(error))


async def after_unanswered(
    ctx: WorkerContext, member_id: str, error: BitrixError, failures: int
) -> str | None:
    """Network errors or 5xx unit after unit: the portal is unreachable (its new state)."""
    if not isinstance(error, PortalUnavailable) or failures < UNREACHABLE_AFTER_FAILURES:
        return None
    async with ctx.sessions() as session, session.begin():
        state = await lifecycle.record(
            session,
            member_id,
            lifecycle.Trigger.NOT_ANSWERING,
            reason=f"{failures} units in a row without an answer: {error}"[:500],
        )
    return None if state is None else state.value
