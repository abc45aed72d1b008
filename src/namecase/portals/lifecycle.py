"""The portal state machine: every state, every trigger and every transition, in one place.

docs/LIFECYCLE.md draws `TRANSITIONS` (a test keeps the drawing and this table the same) and
says what each state means for an operator. Everything that changes `portals.state` comes here:
installs and app updates, the answers of Bitrix24 that stop a portal's normal work, probes that
find it well again, and uninstalls once Bitrix24 confirms them.

Every state but `uninstalled` has a way back:
- payment_required, unreachable: a probe every RECOVERY_INTERVAL, or at once when an event arrives
  or the page is opened (pipeline/recovery.py); the first success makes the portal active;
- auth_failed: a reinstall or an app update (confirmed by the OAuth server), or a refresh that
  works again (tried at the keep-alive age, and at worker start after an invalid_client);
- uninstalled: only a new install, which is a new start (INSTALLED).

An ONAPPUNINSTALL is honoured only when Bitrix24 confirms the app is gone ([RU]
settings/app-uninstallation.md: the app's tokens are revoked before the event is sent); until
then it is remembered on the row (`uninstall_requested_at`) and confirmed by the next refusal of
that kind, or forgotten when a call succeeds (portals/uninstall.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.bitrix import PortalDisabled
from namecase.db import utcnow
from namecase.portals.models import Portal, PortalState
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.queue import leases

log = logging.getLogger(__name__)


class Trigger(StrEnum):
    """What moves a portal from one state to another."""

    INSTALLED = "installed"  # /install, or ONAPPINSTALL / ONAPPUPDATE confirmed by OAuth
    PAYMENT_REQUIRED = "payment_required"  # PAYMENT_REQUIRED from the portal or the OAuth server
    PORTAL_CLOSED = "portal_closed"  # PORTAL_DELETED: an on-premise portal closed for a while
    NOT_ANSWERING = "not_answering"  # network errors or 5xx, unit after unit
    TOKENS_REFUSED = "tokens_refused"  # invalid_grant, invalid_client, NO_AUTH_FOUND over and over
    RECOVERED = "recovered"  # a probe or a keep-alive refresh worked
    UNINSTALL_CONFIRMED = "uninstall_confirmed"  # ONAPPUNINSTALL, and Bitrix24 says it is gone


_A = PortalState.ACTIVE
_P = PortalState.PAYMENT_REQUIRED
_U = PortalState.UNREACHABLE
_F = PortalState.AUTH_FAILED
_X = PortalState.UNINSTALLED

TRANSITIONS: Final[Mapping[tuple[PortalState, Trigger], PortalState]] = {
    **{(state, Trigger.INSTALLED): _A for state in (_P, _U, _F, _X)},
    (_A, Trigger.PAYMENT_REQUIRED): _P,
    (_U, Trigger.PAYMENT_REQUIRED): _P,
    (_F, Trigger.PAYMENT_REQUIRED): _P,  # the OAuth server takes the tokens, the plan lapsed
    (_A, Trigger.PORTAL_CLOSED): _U,
    (_P, Trigger.PORTAL_CLOSED): _U,
    (_A, Trigger.NOT_ANSWERING): _U,
    **{(state, Trigger.TOKENS_REFUSED): _F for state in (_A, _P, _U)},
    **{(state, Trigger.RECOVERED): _A for state in (_P, _U, _F)},
    **{(state, Trigger.UNINSTALL_CONFIRMED): _X for state in (_A, _P, _U, _F)},
}

# What a refusal says about the portal (bitrix/errors.py names it per answer).
_TRIGGER_OF_STATE: Final[Mapping[str, Trigger]] = {
    PortalState.PAYMENT_REQUIRED: Trigger.PAYMENT_REQUIRED,
    PortalState.UNREACHABLE: Trigger.PORTAL_CLOSED,
    PortalState.AUTH_FAILED: Trigger.TOKENS_REFUSED,
}


def next_state(state: PortalState, trigger: Trigger) -> PortalState | None:
    """The state `trigger` leads to from `state`, or None when it changes nothing."""
    target = TRANSITIONS.get((state, trigger))
    return None if target is None or target is state else target


def trigger_of(error: PortalDisabled) -> Trigger:
    """The trigger a refusal of the portal or the OAuth server is."""
    return _TRIGGER_OF_STATE.get(error.portal_state, Trigger.TOKENS_REFUSED)


def installed(portal: Portal) -> None:
    """INSTALLED, on a row the caller holds locked: active, whatever came before."""
    _enter(portal, _A, Trigger.INSTALLED, reason=None)
    portal.uninstalled_at = None
    portal.uninstall_requested_at = None
    portal.uninstall_clean = False


async def record(
    session: AsyncSession,
    member_id: str,
    trigger: Trigger | None,
    *,
    reason: str | None = None,
    token_version: int | None = None,
) -> PortalState | None:
    """Apply `trigger` to the stored portal; its state afterwards (None: no such portal).

    A None trigger changes nothing: it reads the state under the same lock.

    With `token_version`, only while the portal's tokens are that pair: a verdict about tokens
    a reinstall or app update has since replaced is about nothing.
    """
    repository = PortalRepository(session)
    portal = await repository.lock(member_id)
    if portal is None:
        return None
    if trigger is not None and token_version in (None, portal.token_version):
        await _apply(repository, portal, trigger, reason)
    return PortalState(portal.state)


async def refused(
    session: AsyncSession, member_id: str, error: PortalDisabled, *, token_version: int | None
) -> PortalState | None:
    """A refusal that stops the portal's normal work. It confirms a remembered uninstall when it
    says the app is gone (invalid_client, NOT_INSTALLED, invalid_grant)."""
    repository = PortalRepository(session)
    portal = await repository.lock(member_id)
    if portal is None:
        return None
    if token_version is None or portal.token_version == token_version:
        trigger = trigger_of(error)
        if portal.uninstall_requested_at is not None and error.confirms_uninstall:
            trigger = Trigger.UNINSTALL_CONFIRMED
        await _apply(repository, portal, trigger, f"{error.code}: {error.description}")
    return PortalState(portal.state)


async def _apply(
    repository: PortalRepository, portal: Portal, trigger: Trigger, reason: str | None
) -> None:
    if trigger is Trigger.UNINSTALL_CONFIRMED and portal.state != _X:
        await _uninstall(repository, portal)
        return
    target = next_state(PortalState(portal.state), trigger)
    if target is not None:
        _enter(portal, target, trigger, reason=reason)
    elif reason is not None and portal.state != _X:
        portal.last_error = reason[:500]  # the same state, said anew


async def uninstall_confirmed(session: AsyncSession, member_id: str, *, clean: bool) -> bool:
    """Bitrix24 confirmed the ONAPPUNINSTALL: uninstalled; CLEAN (now or remembered) deletes
    the portal's data. False when there is no such portal."""
    repository = PortalRepository(session)
    portal = await repository.lock(member_id)
    if portal is None:
        return False
    if portal.state != _X:  # a repeated event deletes nothing more
        portal.uninstall_clean = portal.uninstall_clean or clean
        await _uninstall(repository, portal)
    return True


async def remember_uninstall(session: AsyncSession, member_id: str, *, clean: bool) -> None:
    """An ONAPPUNINSTALL not confirmed yet: keep it for a worker to put to Bitrix24.

    A portal that is not active is made due for it (its probes keep their spacing); an active
    one is asked on its next visit, which comes with its next work or within the hour. Anyone
    can post the event, so it never makes a worker ask more often than that.
    """
    portal = await PortalRepository(session).lock(member_id)
    if portal is None or portal.state == _X:
        return
    new = portal.uninstall_requested_at is None
    portal.uninstall_requested_at = portal.uninstall_requested_at or utcnow()
    portal.uninstall_clean = portal.uninstall_clean or clean
    if new and portal.state != _A:
        await leases.make_due(session, [member_id])
    log.warning("ONAPPUNINSTALL remembered until Bitrix24 confirms it", extra=_who(member_id))


async def forget_uninstall(session: AsyncSession, member_id: str) -> None:
    """The app answered with its tokens after the event: the remembered uninstall was false."""
    portal = await PortalRepository(session).lock(member_id)
    if portal is None or portal.uninstall_requested_at is None:
        return
    portal.uninstall_requested_at = None
    portal.uninstall_clean = False
    log.warning("ONAPPUNINSTALL refuted: the app still works", extra=_who(member_id))


async def request_probe(session: AsyncSession, portal: Portal) -> None:
    """Someone of a temporarily unavailable portal is here (its page, an event): probe it soon.

    The queue keeps a probe's spacing (`not_before`), so a crowd asks for one probe, not many.
    """
    if PortalState(portal.state).recoverable:
        await leases.make_due(session, [portal.member_id])


async def worker_started(session: AsyncSession) -> None:
    """A worker starts: every active portal's bindings are checked on its next visit, and a
    portal refused with invalid_client is tried once more — a wrong CLIENT_SECRET answers that
    too, and the operator's fix of it comes with a restart."""
    repository = PortalRepository(session)
    await repository.recheck_bindings()
    refused = await repository.member_ids_in([_F], error_prefix="invalid_client")
    await leases.make_due(session, refused, end_backoff=True)


def _enter(portal: Portal, target: PortalState, trigger: Trigger, *, reason: str | None) -> None:
    if portal.state is not None and portal.state != target:
        log.info(
            "portal %s → %s (%s)",
            portal.state,
            target.value,
            trigger.value,
            extra={"member_id": portal.member_id},
        )
    portal.state = target.value
    portal.last_error = reason[:500] if reason else None
    portal.updated_at = utcnow()


async def _uninstall(repository: PortalRepository, portal: Portal) -> None:
    """Uninstalled: no token is kept, so no call and no refresh can happen; CLEAN deletes."""
    _enter(portal, _X, Trigger.UNINSTALL_CONFIRMED, reason=None)
    portal.uninstalled_at = utcnow()
    portal.access_token_enc = None
    portal.refresh_token_enc = None
    portal.access_expires_at = None
    portal.uninstall_requested_at = None
    if portal.uninstall_clean:
        portal.settings = PortalOptions().model_dump(mode="json")
        await repository.delete_everything_of(portal.member_id)
    clean = portal.uninstall_clean
    log.info("portal uninstalled", extra={**_who(portal.member_id), "clean": clean})
    portal.uninstall_clean = False


def _who(member_id: str) -> dict[str, str]:
    return {"member_id": member_id}
