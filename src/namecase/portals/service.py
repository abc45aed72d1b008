"""Portal lifecycle rules: install, app update, uninstall, event binding.

The states and their transitions are portals/lifecycle.py; uninstalls are portals/uninstall.py;
what is bound and how the portal's list is made to match is portals/bindings.py.

Trust comes only from the OAuth server (DESIGN.md §3 "Where the portal lives"): an install form or
an install event names a portal, but the portal's member_id and client_endpoint are taken from the
OAuth server's answer to a refresh with the presented refresh token. Nothing is stored before that
answer, and the OAuth server must be in NAMECASE_OAUTH_SERVERS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.bitrix import (
    BitrixClient,
    BitrixError,
    Credentials,
    EndpointGuard,
    ForbiddenEndpoint,
    LeakyBucket,
    OAuthClient,
    PortalUnavailable,
    TokenGrant,
    rest_endpoint,
)
from namecase.db import utcnow
from namecase.portals import event_modes, lifecycle, uninstall
from namecase.portals.bindings import BindingPlan
from namecase.portals.crypto import TokenCipher, hash_application_token
from namecase.portals.link import (
    SERVED,
    ReadOnlyLink,
    RefreshLocks,
    StoredPortalLink,
    domain_of,
    store_grant,
)
from namecase.portals.models import Portal, PortalState
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions, RestCallRecord
from namecase.portals.uninstall import UninstallVerdict

log = logging.getLogger(__name__)

# An uninstall is checked in any state but uninstalled (it has no tokens left to ask with).
NOT_UNINSTALLED = frozenset(PortalState) - {PortalState.UNINSTALLED}


class InstallRejected(Exception):
    """The install (or install event) could not be confirmed; nothing was stored."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


@dataclass(frozen=True)
class PortalIdentity:
    """What an install claims: who, where to confirm it, and the secret for later events."""

    member_id: str
    server_endpoint: str
    refresh_token: str
    application_token: str
    domain: str = ""  # as claimed; the stored domain is the confirmed endpoint's
    lang: str = "en"


class PortalService:
    """Install, update and uninstall portals; make links for calling them."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        oauth: OAuthClient,
        bitrix: BitrixClient,
        locks: RefreshLocks,
        handler_url: str,
        allow_http: bool,
        guard: EndpointGuard | None = None,
        event_mode: str = "auto",
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._oauth = oauth
        self._bitrix = bitrix
        self._locks = locks
        self._handler_url = handler_url
        self._allow_http = allow_http
        self._guard = guard or EndpointGuard(allow_loopback=allow_http)
        self._event_mode = event_mode  # NAMECASE_EVENT_MODE (portals/event_modes.py)

    @property
    def handler_url(self) -> str:
        """Where our events are bound: {PUBLIC_URL}/events."""
        return self._handler_url

    def link(
        self,
        portal: Portal,
        bucket: LeakyBucket | None = None,
        *,
        usable_in: frozenset[PortalState] = SERVED,
        reports: bool = True,
    ) -> StoredPortalLink:
        """A client link for calling this portal (by default only while it is active)."""
        return StoredPortalLink(
            portal,
            sessions=self._sessions,
            cipher=self._cipher,
            oauth=self._oauth,
            locks=self._locks,
            bucket=bucket,
            usable_in=usable_in,
            reports=reports,
        )

    async def install(self, identity: PortalIdentity) -> Portal:
        """Confirm with the OAuth server, store the portal, bind our events (idempotent)."""
        grant = await self._confirm(identity)
        portal = await self._store(identity, grant, needs_bind=False)
        try:
            await self.bind_events(portal)
        except BitrixError:
            # The page says so, and the worker retries the binding meanwhile. (Not marked
            # before: a worker would then bind at the same time as this request.)
            await self._set_needs_bind(portal.member_id, True)
            raise
        return portal

    async def accept_install_event(self, identity: PortalIdentity) -> Portal:
        """ONAPPINSTALL / ONAPPUPDATE with tokens: confirm and store; the worker re-binds."""
        grant = await self._confirm(identity)
        return await self._store(identity, grant, needs_bind=True)

    async def _confirm(self, identity: PortalIdentity) -> TokenGrant:
        try:
            grant = await self._oauth.refresh(identity.server_endpoint, identity.refresh_token)
            # The portal's host may be anyone's (an on-premise Bitrix24 names its own): where it
            # resolves is checked before its address is stored (and again on every connection).
            await self._guard.check(
                rest_endpoint(grant.client_endpoint, allow_http=self._allow_http)
            )
        except ForbiddenEndpoint as error:
            raise InstallRejected(403, f"untrusted endpoint: {error.description}") from error
        except OSError as error:
            raise InstallRejected(503, "the portal's host does not resolve; try again") from error
        except PortalUnavailable as error:
            raise InstallRejected(503, "the OAuth server did not answer; try again") from error
        except BitrixError as error:
            reason = f"the OAuth server refused the install ({error.code or 'no code'})"
            raise InstallRejected(403, reason) from error
        if grant.member_id != identity.member_id:
            raise InstallRejected(403, "the OAuth server names another portal (member_id)")
        await self._require_admin(grant)
        return grant

    async def _require_admin(self, grant: TokenGrant) -> None:
        """The tokens must be a portal administrator's (`user.admin`, protocol §9).

        Every user who opens the app receives a valid REFRESH_ID in the frame; without this
        check any of them could re-install the app with an application_token of their choosing
        and so make the portal's real events fail the token check.
        """
        link = ReadOnlyLink(
            grant.member_id,
            Credentials(grant.client_endpoint, grant.access_token),
            LeakyBucket.for_portal(),
        )
        try:
            is_admin = await self._bitrix.call(link, "user.admin")
        except PortalUnavailable as error:
            raise InstallRejected(503, "the portal did not answer; try again") from error
        except BitrixError as error:
            reason = f"the portal refused the install's tokens ({error.code or 'no code'})"
            raise InstallRejected(403, reason) from error
        if is_admin is not True:
            raise InstallRejected(403, "only a Bitrix24 administrator can install the app")

    async def _store(
        self, identity: PortalIdentity, grant: TokenGrant, *, needs_bind: bool
    ) -> Portal:
        async with self._sessions() as session, session.begin():
            repository = PortalRepository(session)
            portal = await repository.lock(grant.member_id)
            if portal is None:
                portal = Portal(
                    member_id=grant.member_id,
                    settings=PortalOptions().model_dump(mode="json"),
                    token_version=0,
                )
                repository.add(portal)
            store_grant(portal, grant, self._cipher)
            # The domain of the confirmed endpoint, never the one the form or event names.
            portal.domain = domain_of(grant.client_endpoint)
            if identity.domain and identity.domain != portal.domain:
                log.warning(
                    "install names another domain than the OAuth server confirms",
                    extra={"member_id": grant.member_id, "claimed": identity.domain[:255]},
                )
            portal.lang = identity.lang
            portal.application_token_hash = hash_application_token(identity.application_token)
            lifecycle.installed(portal)
            portal.installed_at = utcnow()
            portal.needs_bind = needs_bind
            if needs_bind:
                portal.bindings_checked_at = None  # the next visit binds them
            await repository.make_due(grant.member_id)
        log.info("portal installed", extra={"member_id": grant.member_id})
        return portal

    async def bind_events(
        self, portal: Portal, link: StoredPortalLink | None = None
    ) -> BindingPlan:
        """Make the portal's handlers ours at {PUBLIC_URL}/events (portals/bindings.py), for
        offline events where the portal allows them (portals/event_modes.py).

        Updates and reinstalls wipe an app's handlers (protocol §3), so this runs on each of
        them, and a worker repeats it every BINDING_CHECK_INTERVAL.
        """
        bound = await event_modes.bind_for_mode(
            self._bitrix,
            link or self.link(portal),
            self._handler_url,
            setting=self._event_mode,
            entities=options_of(portal).entities,
        )
        async with self._sessions() as session, session.begin():
            repository = PortalRepository(session)
            await repository.set_needs_bind(portal.member_id, False)
            await repository.bindings_checked(portal.member_id, utcnow())
            mode = bound.mode
            await repository.set_event_mode(
                portal.member_id, mode.mode, extended=mode.extended, reason=mode.reason
            )
        # The caller's copy says so too: the rest of its unit works in the new mode.
        portal.event_mode, portal.offline_extended = mode.mode, mode.extended
        portal.event_mode_reason = mode.reason
        return bound.plan

    async def binding_check_failed(self, member_id: str) -> None:
        """Try the bindings again soon (pipeline/recovery.py BINDING_RETRY), not at once."""
        async with self._sessions() as session, session.begin():
            repository = PortalRepository(session)
            await repository.set_needs_bind(member_id, True)
            await repository.bindings_checked(member_id, utcnow())

    async def check_bindings_soon(self, member_id: str) -> None:
        """Check the bindings at the portal's next unit, due now (its offline queue was
        refused: the check falls back to online events, portals/event_modes.py)."""
        async with self._sessions() as session, session.begin():
            repository = PortalRepository(session)
            await repository.set_needs_bind(member_id, True)
            await repository.bindings_unchecked(member_id)
            await repository.make_due(member_id)

    async def _set_needs_bind(self, member_id: str, needed: bool) -> None:
        async with self._sessions() as session, session.begin():
            await PortalRepository(session).set_needs_bind(member_id, needed)

    async def uninstall(
        self, member_id: str, application_token: str, *, clean: bool, may_ask: bool = True
    ) -> UninstallVerdict:
        """ONAPPUNINSTALL: honoured once Bitrix24 confirms the app is gone (portals/uninstall.py);
        `may_ask=False` (the check budget is spent) only remembers it for a worker to confirm."""
        return await uninstall.uninstall(
            self._sessions,
            self._bitrix,
            lambda portal: self.link(portal, usable_in=NOT_UNINSTALLED, reports=False),
            member_id=member_id,
            application_token=application_token,
            clean=clean,
            may_ask=may_ask,
        )

    async def recent_calls(self, member_id: str, limit: int = 100) -> list[RestCallRecord]:
        """The portal's latest REST exchanges, newest first (the Marketplace call log)."""
        async with self._sessions() as session:
            rows = await PortalRepository(session).recent_calls(member_id, limit)
            return [RestCallRecord.model_validate(row) for row in rows]


def options_of(portal: Portal) -> PortalOptions:
    """The portal's options; stored JSON from older versions falls back to defaults per key."""
    raw: Mapping[str, Any] = portal.settings or {}
    known = {key: value for key, value in raw.items() if key in PortalOptions.model_fields}
    try:
        return PortalOptions.model_validate(known)
    except ValueError:
        return PortalOptions()
