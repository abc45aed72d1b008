"""What the settings page does: save options, show history, undo, run and follow a backfill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.bitrix import BitrixError, NotFound
from namecase.db import utcnow
from namecase.i18n import Language
from namecase.pipeline.backfill import backfill_progress
from namecase.pipeline.models import Change
from namecase.pipeline.repository import ChangeRepository
from namecase.portals.event_modes import connector_of, offline_mode
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal
from namecase.portals.service import options_of
from namecase.runtime import Runtime
from namecase.ui.repository import SettingsPageRepository
from namecase.ui.schemas import (
    ChangesPage,
    ChangeView,
    PageState,
    Reason,
    SettingsForm,
    SettingsView,
    UndoOutcome,
    UndoResult,
    UndoStatus,
)
from namecase.ui.summary import activity_summary
from namecase.ui.texts import rule_text
from namecase.ui.undo import RecordKey, RecordRestore, plan_undo, undoable


class UndoFailed(Exception):
    """The portal could not be read or written; nothing was undone."""


async def page_state(session: AsyncSession, portal: Portal, *, retention_days: float) -> PageState:
    """Options, portal state, backfill progress and the summary, as the page shows them."""
    return PageState(
        settings=SettingsView.of(options_of(portal)),
        portal_state=portal.state,
        backfill=await backfill_progress(session, portal),
        summary=await activity_summary(
            session, portal.member_id, now=utcnow(), retention_days=retention_days
        ),
        portal_url=portal_url(portal),
        event_mode=page_event_mode(portal),
    )


def page_event_mode(portal: Portal) -> Literal["online", "offline", "offline_clear"]:
    """How changes reach the app on this portal, as the page words it."""
    if not offline_mode(portal):
        return "online"
    return "offline" if portal.offline_extended else "offline_clear"


def portal_url(portal: Portal) -> str:
    """The portal's own address: its REST endpoint without `rest/` (protocol §1)."""
    endpoint = portal.client_endpoint
    return endpoint[: -len("rest/")] if endpoint.endswith("/rest/") else f"https://{portal.domain}/"


async def has_history(session: AsyncSession, member_id: str) -> bool:
    """Whether the portal has any correction yet (a new admin sees the onboarding open)."""
    return await SettingsPageRepository(session).has_changes(member_id)


def save_settings(session: AsyncSession, portal: Portal, form: SettingsForm) -> SettingsView:
    """Store the admin's choices; the worker reads them on its next unit of work."""
    options = form.to_options()
    SettingsPageRepository(session).save_options(portal, options)
    return SettingsView.of(options)


async def history(
    session: AsyncSession, member_id: str, lang: Language, *, before_id: int | None, limit: int
) -> ChangesPage:
    """Recent corrections, newest first, with the reasons in the page's language."""
    changes = await ChangeRepository(session).recent(member_id, limit=limit, before_id=before_id)
    views = [change_view(change, lang) for change in changes]
    next_before_id = views[-1].id if len(views) == limit else None
    return ChangesPage(changes=views, next_before_id=next_before_id)


def change_view(change: Change, lang: Language) -> ChangeView:
    """One history row; reasons are rule codes (or explain() entries carrying a `rule`)."""
    return ChangeView(
        id=change.id,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        field=change.field,
        before=change.before,
        after=change.after,
        reasons=[Reason(rule=code, text=rule_text(code, lang)) for code in _rule_codes(change)],
        dry_run=change.dry_run,
        created_at=change.created_at,
        undone_at=change.undone_at,
        can_undo=not change.dry_run and change.undone_at is None,
    )


def _rule_codes(change: Change) -> list[str]:
    codes: list[str] = []
    for reason in change.reasons or []:
        code = reason.get("rule") if isinstance(reason, Mapping) else reason
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return codes


# --- undo --------------------------------------------------------------------------------


async def undo_changes(runtime: Runtime, portal: Portal, ids: Sequence[int]) -> UndoResult:
    """Restore the typed values of the given corrections on the portal (see ui/undo.py)."""
    member_id = portal.member_id
    async with runtime.sessions() as session:
        changes = await ChangeRepository(session).by_ids(member_id, ids)
    statuses: dict[int, tuple[UndoStatus, str]] = {i: ("not_found", "") for i in ids}
    ready, skipped = undoable(changes)
    statuses.update({i: (status, "") for i, status in skipped.items()})
    link = runtime.portals.link(portal)
    records, unreadable = await _current_records(runtime, link, ready)
    readable = [c for c in ready if (c.entity_type, c.entity_id) not in unreadable]
    for change in ready:
        if (key := (change.entity_type, change.entity_id)) in unreadable:
            statuses[change.id] = ("failed", unreadable[key])
    plan = plan_undo(readable, records)
    statuses.update({i: (status, "") for i, status in plan.skipped.items()})
    if plan.restores:
        await _keep(runtime, member_id, plan.restores)  # before the write: see ui/undo.py
        failed = await _write(runtime, link, member_id, plan.restores, connector_of(portal))
        await _settle(runtime, member_id, plan.restores, failed)
        for restore in plan.restores:
            key = (restore.entity_type, restore.entity_id)
            outcome: tuple[UndoStatus, str] = (
                ("failed", failed[key]) if key in failed else ("undone", "")
            )
            statuses.update({i: outcome for i in restore.change_ids})
    outcomes = [UndoOutcome(id=i, status=s, detail=d) for i, (s, d) in statuses.items()]
    return UndoResult(undone=sum(o.status == "undone" for o in outcomes), outcomes=outcomes)


def _command_name(entity_type: str, entity_id: int) -> str:
    return f"{entity_type}_{entity_id}"


async def _current_records(
    runtime: Runtime, link: StoredPortalLink, changes: Sequence[Change]
) -> tuple[dict[RecordKey, Mapping[str, Any] | None], dict[RecordKey, str]]:
    keys = sorted({(c.entity_type, c.entity_id) for c in changes})
    if not keys:
        return {}, {}
    try:
        fetched = await runtime.bitrix.batch(
            link, {_command_name(t, i): (f"crm.{t}.get", {"id": i}) for t, i in keys}
        )
    except BitrixError as error:
        raise UndoFailed(str(error)) from error
    records: dict[RecordKey, Mapping[str, Any] | None] = {}
    unreadable: dict[RecordKey, str] = {}
    for key in keys:
        refusal = fetched.errors.get(_command_name(*key))
        record = fetched.result.get(_command_name(*key))
        if isinstance(refusal, NotFound):
            records[key] = None
        elif refusal is not None or not isinstance(record, Mapping):
            unreadable[key] = str(refusal or "no record in the answer")[:300]
        else:
            records[key] = record
    return records, unreadable


async def _keep(runtime: Runtime, member_id: str, restores: Sequence[RecordRestore]) -> None:
    async with runtime.sessions() as session, session.begin():
        changes = ChangeRepository(session)
        for restore in restores:
            for field, value in restore.fields.items():
                await changes.keep(member_id, restore.entity_type, restore.entity_id, field, value)


async def _write(
    runtime: Runtime,
    link: StoredPortalLink,
    member_id: str,
    restores: Sequence[RecordRestore],
    connector: str | None,
) -> dict[RecordKey, str]:
    """Write the restored values; returns the records whose write failed, with the reason.

    In offline mode the write carries our auth_connector, so it is kept out of our queue
    (protocol §10): the kept value would stop a correction anyway, this saves the read.
    """
    marked = {} if connector is None else {"auth_connector": connector}
    commands = {
        _command_name(r.entity_type, r.entity_id): (
            f"crm.{r.entity_type}.update",
            {
                "id": r.entity_id,
                "fields": r.fields,
                "params": {"REGISTER_SONET_EVENT": "N"},
                **marked,
            },
        )
        for r in restores
    }
    try:
        written = await runtime.bitrix.batch(link, commands, params=marked)
    except BitrixError as error:
        await _settle(
            runtime, member_id, restores, {(r.entity_type, r.entity_id): "" for r in restores}
        )
        raise UndoFailed(str(error)) from error
    return {
        (r.entity_type, r.entity_id): str(written.errors[name])[:300]
        for r in restores
        if (name := _command_name(r.entity_type, r.entity_id)) in written.errors
    }


async def _settle(
    runtime: Runtime,
    member_id: str,
    restores: Sequence[RecordRestore],
    failed: Mapping[RecordKey, str],
) -> None:
    """Mark the written corrections undone; forget the kept values that were never written."""
    async with runtime.sessions() as session, session.begin():
        repository = SettingsPageRepository(session)
        done: list[int] = []
        for restore in restores:
            if (restore.entity_type, restore.entity_id) not in failed:
                done.extend(restore.change_ids)
                continue
            for field, value in restore.fields.items():
                await repository.forget_kept(
                    member_id, restore.entity_type, restore.entity_id, field, value
                )
        await repository.mark_undone(member_id, done, utcnow())
