"""All SQL of the portal lifecycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import utcnow
from namecase.portals.models import SERVED_STATES, Portal, RestCallLog
from namecase.queue import leases
from namecase.schema import metadata


class PortalRepository:
    """Portals and their REST call log, scoped to one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: str) -> Portal | None:
        return await self.session.get(Portal, member_id)

    async def lock(self, member_id: str) -> Portal | None:
        """The portal row, locked until the transaction ends, freshly read.

        PostgreSQL: SELECT … FOR UPDATE serializes token refreshes across processes. SQLite has
        one writer at a time and is only supported with one process, so a plain read suffices.
        """
        statement = (
            select(Portal)
            .where(Portal.member_id == member_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def add(self, portal: Portal) -> None:
        self.session.add(portal)

    async def all(self) -> Sequence[Portal]:
        return (await self.session.execute(select(Portal).order_by(Portal.domain))).scalars().all()

    async def member_ids_with_tokens(self) -> Sequence[str]:
        statement = select(Portal.member_id).where(
            (Portal.access_token_enc.is_not(None)) | (Portal.refresh_token_enc.is_not(None))
        )
        return (await self.session.execute(statement.order_by(Portal.member_id))).scalars().all()

    async def active_member_ids(self) -> Sequence[str]:
        statement = select(Portal.member_id).where(Portal.state.in_(SERVED_STATES))
        return (await self.session.execute(statement)).scalars().all()

    async def set_endpoint(self, member_id: str, client_endpoint: str, domain: str) -> None:
        await self.session.execute(
            update(Portal)
            .where(Portal.member_id == member_id)
            .values(client_endpoint=client_endpoint, domain=domain, updated_at=utcnow())
        )

    async def still_active(self, member_id: str) -> bool:
        """Is the portal active? Holds a share lock until the transaction ends (PostgreSQL), so
        an uninstall with CLEAN waits for our writes or happens entirely before them."""
        statement = (
            select(Portal.state).where(Portal.member_id == member_id).with_for_update(read=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() in SERVED_STATES

    async def set_needs_bind(self, member_id: str, needed: bool) -> None:
        await self.session.execute(
            update(Portal).where(Portal.member_id == member_id).values(needs_bind=needed)
        )

    async def set_event_mode(
        self, member_id: str, mode: str, *, extended: bool, reason: str | None
    ) -> None:
        """Record how the portal's events were bound (portals/event_modes.py)."""
        await self.session.execute(
            update(Portal)
            .where(Portal.member_id == member_id)
            .values(event_mode=mode, offline_extended=extended, event_mode_reason=reason)
        )

    async def bindings_checked(self, member_id: str, checked_at: dt.datetime) -> None:
        await self.session.execute(
            update(Portal)
            .where(Portal.member_id == member_id)
            .values(bindings_checked_at=checked_at)
        )

    async def bindings_unchecked(self, member_id: str) -> None:
        """The portal's bindings are checked on its next visit."""
        await self.session.execute(
            update(Portal).where(Portal.member_id == member_id).values(bindings_checked_at=None)
        )

    async def recheck_bindings(self) -> None:
        """A worker starts: every portal's bindings are checked on its next visit."""
        await self.session.execute(
            update(Portal).where(Portal.state.in_(SERVED_STATES)).values(bindings_checked_at=None)
        )

    async def member_ids_in(self, states: Sequence[str], error_prefix: str = "") -> Sequence[str]:
        """Portals in these states (whose last error starts with `error_prefix`, if given)."""
        statement = select(Portal.member_id).where(Portal.state.in_(states))
        if error_prefix:
            statement = statement.where(Portal.last_error.startswith(error_prefix))
        return (await self.session.execute(statement)).scalars().all()

    async def make_due(self, member_id: str) -> None:
        """Put the portal in the worker's line now, ending any backoff earned with old tokens.

        The worker only visits portals with a due queue row; an install or app update that
        leaves work for it (re-binding, the first reconciliation sweep) must create one, or the
        portal would wait for its next event — which never comes while its handlers are gone.
        """
        await leases.make_due(self.session, [member_id], end_backoff=True)

    async def delete_everything_of(self, member_id: str) -> None:
        """CLEAN uninstall: every table carries member_id (DESIGN.md §6), so delete from each.

        The queue's tables are emptied by the queue, their only writer.
        """
        await leases.forget_portal(self.session, member_id)
        for table in reversed(metadata.sorted_tables):
            owned_elsewhere = table.name in leases.QUEUE_TABLES or table.name == "portals"
            if "member_id" in table.c and not owned_elsewhere:
                await self.session.execute(delete(table).where(table.c.member_id == member_id))

    def log_call(self, entry: RestCallLog) -> None:
        self.session.add(entry)

    async def recent_calls(self, member_id: str, limit: int = 100) -> Sequence[RestCallLog]:
        """The portal's newest call log entries first."""
        statement = (
            select(RestCallLog)
            .where(RestCallLog.member_id == member_id)
            .order_by(RestCallLog.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def prune_calls(self, older_than: dt.datetime) -> int:
        """Delete call log entries of every portal made before `older_than`; returns how many."""
        result = await self.session.execute(
            delete(RestCallLog).where(RestCallLog.created_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)
