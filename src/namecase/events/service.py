"""The fast path of /events: who may send events (writing them is queue.writer's group commit).

Two things dominate the cost of acknowledging an event: looking up the portal and committing the
insert. `PortalDirectory` keeps what the check needs (token hash, state, options) for 30 s. It is
only trusted to accept: a presented token that does not match, an inactive portal or an entity
the portal does not normalize are always re-checked against the database before a 403 or a drop,
so a new application_token (ONAPPUPDATE, reinstall) or a newly enabled entity is never refused
because of the cache. An event accepted on a stale entry (the portal was just uninstalled, or
the entity just turned off) costs one inbox row: the worker checks the portal's state and options
again before any REST call. A short expiry made one database lookup per event on a fleet of many
quiet portals (bench/memory.py: 1,000 portals, events round-robin).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.portals.crypto import application_token_matches
from namecase.portals.models import PortalState
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.portals.service import options_of


@dataclass(frozen=True)
class PortalEntry:
    """What checking an event needs to know about its portal."""

    token_hash: str | None
    state: str
    options: PortalOptions

    @property
    def accepts_events(self) -> bool:
        """Are events of this portal stored now (PortalState.accepts_events)?"""
        return PortalState(self.state).accepts_events


class PortalDirectory:
    """A short-lived, per-process cache of portal entries for the /events check."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, PortalEntry | None]] = {}
        self._lookups: dict[str, asyncio.Future[PortalEntry | None]] = {}

    async def verified(
        self, member_id: str, application_token: str, *, fresh: bool = False
    ) -> PortalEntry | None:
        """The portal's entry if the token matches it, else None (unknown portal or mismatch).

        `fresh=True` skips the cache: used before anything is refused or dropped.
        """
        entry = None if fresh else await self._get(member_id, fresh=False)
        if entry is not None and application_token_matches(application_token, entry.token_hash):
            return entry
        entry = await self._get(member_id, fresh=True)
        if entry is not None and application_token_matches(application_token, entry.token_hash):
            return entry
        return None

    async def _get(self, member_id: str, *, fresh: bool) -> PortalEntry | None:
        now = self._clock()
        cached = self._entries.get(member_id)
        if cached is not None and not fresh and now - cached[0] < self._ttl:
            return cached[1]
        if fresh:
            return await self._load(member_id, now)
        # When the entry expires, every request in flight for the portal would look it up at
        # once (a pool-sized herd of connections each second under load): one lookup serves all.
        lookup = self._lookups.get(member_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._load(member_id, now))
            self._lookups[member_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(member_id, None))
        return await asyncio.shield(lookup)

    async def _load(self, member_id: str, now: float) -> PortalEntry | None:
        async with self._sessions() as session:
            portal = await PortalRepository(session).get(member_id)
            entry = (
                None
                if portal is None
                else PortalEntry(portal.application_token_hash, portal.state, options_of(portal))
            )
        if len(self._entries) > 100_000:  # bound memory under a flood of made-up member_ids
            self._entries.clear()
        self._entries[member_id] = (now, entry)
        return entry
