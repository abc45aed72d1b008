"""The portal layer's side of the Bitrix24 client: credentials, refresh, renames, disabling.

A `StoredPortalLink` is made for one unit of work (a worker batch, an install) from a snapshot of
the portal row. Token refresh is the delicate part: Bitrix24 rotates the refresh token on every
use (bitrix24-protocol.md §4), so two processes refreshing at once would make one of them spend a
token the other already spent (invalid_grant). Refreshes are therefore serialized per portal by
the row lock, and whoever gets the lock re-reads the row first: if another process refreshed
meanwhile, its tokens are used and no second refresh happens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.bitrix import (
    Credentials,
    InvalidAuth,
    LeakyBucket,
    OAuthClient,
    OperatingMeter,
    PortalDisabled,
    TokenGrant,
)
from namecase.db import utcnow
from namecase.metrics import TOKEN_REFRESHES
from namecase.portals import lifecycle
from namecase.portals.crypto import TokenCipher
from namecase.portals.models import Portal, PortalState
from namecase.portals.repository import PortalRepository

# Refresh a little before the recorded expiry: a token that expires in flight costs a request.
EXPIRY_MARGIN = dt.timedelta(seconds=30)


class PortalInactive(PortalDisabled):
    """The portal is not in a state this link calls in: no call leaves the process."""


SERVED = frozenset({PortalState.ACTIVE})


class RefreshLocks:
    """In-process serialization of refreshes (the row lock serializes across processes)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def for_portal(self, member_id: str) -> asyncio.Lock:
        lock = self._locks.get(member_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[member_id] = lock
        return lock


def store_grant(portal: Portal, grant: TokenGrant, cipher: TokenCipher) -> None:
    """Write a confirmed token pair into the row (both tokens at once: they rotate together)."""
    portal.access_token_enc = cipher.encrypt(grant.access_token)
    portal.refresh_token_enc = cipher.encrypt(grant.refresh_token)
    portal.access_expires_at = dt.datetime.fromtimestamp(grant.expires_at, dt.UTC)
    portal.token_version = (portal.token_version or 0) + 1
    portal.refreshed_at = utcnow()
    portal.client_endpoint = grant.client_endpoint
    portal.server_endpoint = grant.server_endpoint or portal.server_endpoint
    if grant.scope:
        portal.scope = grant.scope
    if grant.status:
        portal.plan_status = grant.status


class StoredPortalLink:
    """A `namecase.bitrix.PortalLink` backed by the portals table."""

    def __init__(
        self,
        portal: Portal,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        oauth: OAuthClient,
        locks: RefreshLocks,
        bucket: LeakyBucket | None = None,
        usable_in: frozenset[PortalState] = SERVED,
        reports: bool = True,
    ) -> None:
        self._member_id = portal.member_id
        self._sessions = sessions
        self._cipher = cipher
        self._oauth = oauth
        self._locks = locks
        self._bucket = bucket or LeakyBucket.for_portal(
            portal.rate_capacity or 50.0, portal.rate_per_second or 2.0
        )
        # A probe calls a portal that is not active; an uninstall check only asks, so what it
        # hears changes no state (`reports=False`): portals/uninstall.py decides.
        self._usable_in = usable_in
        self._reports = reports
        self.token_fresh = False  # has this link's token just come from the OAuth server?
        self.operating = OperatingMeter()  # what this unit's answers said of operating time
        self._remember(portal)

    def _remember(self, portal: Portal) -> None:
        self._state = portal.state
        self._client_endpoint = portal.client_endpoint
        self._access_token = (
            self._cipher.decrypt(portal.access_token_enc) if portal.access_token_enc else ""
        )
        self._expires_at = portal.access_expires_at
        self._token_version = portal.token_version

    @property
    def member_id(self) -> str:
        return self._member_id

    @property
    def bucket(self) -> LeakyBucket:
        return self._bucket

    @property
    def state(self) -> str:
        return self._state

    def _current(self) -> Credentials:
        return Credentials(self._client_endpoint, self._access_token)

    def observe_timing(self, method: str, timing: Any) -> None:
        """A successful answer's `time` block (bitrix.TimingObserver): operating times."""
        self.operating.observe(method, timing)

    def operating_reset_at(self, method: str) -> float | None:
        return self.operating.reset_at(method)

    def _usable(self, state: str) -> bool:
        return state in self._usable_in

    async def credentials(self) -> Credentials:
        if not self._usable(self._state) or not self._access_token:
            raise PortalInactive("PORTAL_INACTIVE", f"portal is {self._state}")
        if self._expires_at is not None and self._expires_at - EXPIRY_MARGIN <= utcnow():
            return await self.renew()
        return self._current()

    async def renew(self) -> Credentials:
        """A new token pair now (keep-alive, a refused token to check with a fresh one)."""
        try:
            return await self.refresh(self._current())
        except PortalDisabled as error:
            # The client records a terminal refresh failure only for refreshes it started
            # itself (after expired_token); this one is ours, so record it here.
            await self.disabled(error)
            raise

    async def refresh(self, stale: Credentials) -> Credentials:
        async with (
            self._locks.for_portal(self._member_id),
            self._sessions() as session,
            session.begin(),
        ):
            repository = PortalRepository(session)
            portal = await repository.lock(self._member_id)
            if portal is None or not self._usable(portal.state) or not portal.refresh_token_enc:
                state = portal.state if portal else "uninstalled"
                raise PortalInactive("PORTAL_INACTIVE", f"portal is {state}")
            if self._refreshed_by_someone_else(portal, stale):
                TOKEN_REFRESHES.labels("reused").inc()
            else:
                self._token_version = portal.token_version  # the pair a failure would condemn
                refresh_token = self._cipher.decrypt(portal.refresh_token_enc)
                try:
                    grant = await self._oauth.refresh(portal.server_endpoint, refresh_token)
                except Exception:
                    TOKEN_REFRESHES.labels("failed").inc()
                    raise
                store_grant(portal, grant, self._cipher)
                TOKEN_REFRESHES.labels("ok").inc()
            self._remember(portal)
            self.token_fresh = True
        return self._current()

    def _refreshed_by_someone_else(self, portal: Portal, stale: Credentials) -> bool:
        if portal.access_token_enc is None:
            return False
        fresh_enough = portal.access_expires_at is None or (
            portal.access_expires_at - EXPIRY_MARGIN > utcnow()
        )
        return fresh_enough and self._cipher.decrypt(portal.access_token_enc) != (
            stale.access_token
        )

    async def moved(self, new_client_endpoint: str) -> None:
        async with self._sessions() as session, session.begin():
            await PortalRepository(session).set_endpoint(
                self._member_id, new_client_endpoint, domain_of(new_client_endpoint)
            )
        self._client_endpoint = new_client_endpoint

    async def disabled(self, error: PortalDisabled) -> None:
        """Hand the refusal to the state machine (portals/lifecycle.py) — unless the tokens were
        replaced since this link read them (a reinstall or app update meanwhile): the verdict is
        about tokens that are gone."""
        if isinstance(error, PortalInactive) or not self._reports:
            return
        async with self._sessions() as session, session.begin():
            state = await lifecycle.refused(
                session, self._member_id, error, token_version=self._token_version
            )
        self._state = state or PortalState.UNINSTALLED


def domain_of(client_endpoint: str) -> str:
    """The portal's domain as its REST endpoint names it: `https://DOMAIN/rest/` (the host, without
    a port: the frame's DOMAIN and the OAuth server's `install.domain` carry none)."""
    parts = urlsplit(client_endpoint)
    return (parts.hostname or parts.netloc).lower()


class ReadOnlyLink:
    """A PortalLink with fixed credentials that are never refreshed, stored or reported.

    For one question asked with tokens that are not the portal's stored pair: the install's
    freshly confirmed tokens (before anything is stored), or a frame user's AUTH_ID. An error
    with them never changes the portal's state.
    """

    def __init__(
        self,
        member_id: str,
        credentials: Credentials,
        bucket: LeakyBucket,
        on_moved: Callable[[str], None] | None = None,
    ) -> None:
        self._member_id = member_id
        self._credentials = credentials
        self._bucket = bucket
        self._on_moved = on_moved  # who wants to know where a rename redirect led

    @property
    def member_id(self) -> str:
        return self._member_id

    @property
    def bucket(self) -> LeakyBucket:
        return self._bucket

    async def credentials(self) -> Credentials:
        return self._credentials

    async def refresh(self, stale: Credentials) -> Credentials:
        raise InvalidAuth("expired_token", "these tokens are not refreshed")

    async def moved(self, new_client_endpoint: str) -> None:
        # Renames are stored by the portal's own link, or by whoever asked to be told.
        if self._on_moved is not None:
            self._on_moved(new_client_endpoint)

    async def disabled(self, error: PortalDisabled) -> None:
        return None
