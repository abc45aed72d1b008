"""The rules of one pass: normalize a fetched record and decide which fields to write.

Pure: no SQL, no HTTP. The loop guard lives here: a field is written only when its normalized
value differs from what the portal holds, so the echo event of our own update finds nothing to
do (bitrix24-protocol.md §7), which terminates because normalization is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from namecase.names import normalize_name
from namecase.names.explain import explain
from namecase.portals.schemas import PortalOptions

ENGINE_FIELD = {"NAME": "first", "SECOND_NAME": "middle", "LAST_NAME": "last"}


@dataclass(frozen=True)
class FieldChange:
    """One field to write: what the portal holds, what we write, and the rules that apply."""

    field: str
    before: str
    after: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RecordPlan:
    """What to write to one CRM record (nothing when `changes` is empty)."""

    entity_type: str
    entity_id: int
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> dict[str, str]:
        return {change.field: change.after for change in self.changes}


def plan_record(
    entity_type: str,
    entity_id: int,
    record: Mapping[str, Any],
    options: PortalOptions,
    kept: Mapping[str, str | None] | None = None,
) -> RecordPlan:
    """Normalize the enabled name fields of `record`; skip values the admin chose to keep."""
    engine_options = options.name_options()
    changes: list[FieldChange] = []
    for field in options.fields:
        value = record.get(field)
        if not isinstance(value, str) or not value:
            continue
        if kept and field in kept and kept[field] == value:
            continue  # restored by undo: leave as typed (issue 7)
        after = normalize_name(value, ENGINE_FIELD[field], engine_options)
        if after is None or after == value:
            continue
        reasons = tuple(
            dict.fromkeys(c.rule for c in explain(value, ENGINE_FIELD[field], engine_options))
        )
        changes.append(FieldChange(field, value, after, reasons))
    return RecordPlan(entity_type, entity_id, tuple(changes))
