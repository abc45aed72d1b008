"""Undo: put the typed value back, and make sure our own echo does not correct it again.

The order matters. For each field we restore, the value is first recorded as *kept*
(`ChangeRepository.keep`) and committed; only then is it written to the portal. Our write fires
ONCRMCONTACTUPDATE like any other (bitrix24-protocol.md §7), and the worker, finding the kept
value in the field, leaves it as typed (`pipeline.service.plan_record`). Were the write first,
the echo could be processed before the mark exists and the name would be corrected again.

A correction is undone only while the field still holds what we wrote: if someone edited the
name since, their edit wins and the undo reports `changed_since`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from namecase.pipeline.models import Change
from namecase.ui.schemas import UndoStatus

RecordKey = tuple[str, int]  # (entity_type, entity_id)


@dataclass
class RecordRestore:
    """The values to write back to one CRM record, and the corrections that this undoes."""

    entity_type: str
    entity_id: int
    fields: dict[str, str | None] = field(default_factory=dict)
    change_ids: list[int] = field(default_factory=list)


@dataclass
class UndoPlan:
    """What to write, and why each other requested correction is left alone."""

    restores: list[RecordRestore]
    skipped: dict[int, UndoStatus]


def undoable(changes: Sequence[Change]) -> tuple[list[Change], dict[int, UndoStatus]]:
    """Split corrections into those that can be undone and those that cannot (and why)."""
    ready: list[Change] = []
    skipped: dict[int, UndoStatus] = {}
    for change in changes:
        if change.undone_at is not None:
            skipped[change.id] = "already_undone"
        elif change.dry_run:
            skipped[change.id] = "dry_run"  # nothing was written, so nothing to restore
        else:
            ready.append(change)
    return ready, skipped


def plan_undo(
    changes: Sequence[Change], records: Mapping[RecordKey, Mapping[str, Any] | None]
) -> UndoPlan:
    """Decide the writes for undoing `changes`, given each record's current fields.

    Corrections of one field are unwound newest first, each only if the field still holds its
    `after`; so undoing a whole chain restores the oldest typed value.
    """
    by_record: dict[RecordKey, list[Change]] = defaultdict(list)
    for change in changes:
        by_record[(change.entity_type, change.entity_id)].append(change)
    restores: list[RecordRestore] = []
    skipped: dict[int, UndoStatus] = {}
    for key, group in by_record.items():
        record = records.get(key)
        if record is None:
            skipped.update({change.id: "record_gone" for change in group})
            continue
        current: dict[str, Any] = dict(record)
        restore = RecordRestore(*key)
        for change in sorted(group, key=lambda c: c.id, reverse=True):
            if current.get(change.field) != change.after:
                skipped[change.id] = "changed_since"
                continue
            current[change.field] = change.before
            restore.fields[change.field] = change.before
            restore.change_ids.append(change.id)
        if restore.fields:
            restores.append(restore)
    return UndoPlan(restores, skipped)
