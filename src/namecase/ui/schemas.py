"""What the settings page sends and receives; every input is validated here, server-side."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from namecase.db import ROW_ID_MAX
from namecase.pipeline.backfill import BackfillProgress
from namecase.portals.schemas import ALL_FIELDS, EntityType, NameField, PortalOptions

ENTITY_ORDER: tuple[EntityType, ...] = ("contact", "lead")
MAX_UNDO = 50  # one batch of reads and one of writes (protocol §6: 50 commands per batch)


class SettingsForm(BaseModel):
    """The whole settings form, saved at once. Unknown keys and non-boolean flags are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool
    entities: list[EntityType] = Field(min_length=1, max_length=len(ENTITY_ORDER))
    fields: list[NameField] = Field(min_length=1, max_length=len(ALL_FIELDS))
    dry_run: StrictBool
    particles: StrictBool
    keep_latin_mixed_case: StrictBool
    fix_lookalikes: StrictBool
    history_for_everyone: StrictBool

    @field_validator("entities", "fields")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("each value may appear once")
        return values

    def to_options(self) -> PortalOptions:
        """The portal options, with entities and fields in their canonical order."""
        return PortalOptions(
            enabled=self.enabled,
            entities=tuple(e for e in ENTITY_ORDER if e in self.entities),
            fields=tuple(f for f in ALL_FIELDS if f in self.fields),
            dry_run=self.dry_run,
            particles=self.particles,
            keep_latin_mixed_case=self.keep_latin_mixed_case,
            fix_lookalikes=self.fix_lookalikes,
            history_for_everyone=self.history_for_everyone,
        )


class SettingsView(BaseModel):
    """The stored settings as the page shows them (whatever an older version left stored)."""

    enabled: bool
    entities: list[str]
    fields: list[str]
    dry_run: bool
    particles: bool
    keep_latin_mixed_case: bool
    fix_lookalikes: bool
    history_for_everyone: bool

    @classmethod
    def of(cls, options: PortalOptions) -> SettingsView:
        return cls(
            enabled=options.enabled,
            entities=list(options.entities),
            fields=list(options.fields),
            dry_run=options.dry_run,
            particles=options.particles,
            keep_latin_mixed_case=options.keep_latin_mixed_case,
            fix_lookalikes=options.fix_lookalikes,
            history_for_everyone=options.history_for_everyone,
        )


class Reason(BaseModel):
    """Why a name changed: the engine's rule code and its plain-language text."""

    rule: str
    text: str


class ChangeView(BaseModel):
    """One correction in the history."""

    id: int
    entity_type: str
    entity_id: int
    field: str
    before: str | None
    after: str | None
    reasons: list[Reason]
    dry_run: bool
    created_at: dt.datetime
    undone_at: dt.datetime | None
    can_undo: bool


class ChangesPage(BaseModel):
    """A page of history, newest first; pass `next_before_id` as `before_id` for the next."""

    changes: list[ChangeView]
    next_before_id: int | None


class UndoRequest(BaseModel):
    """Which corrections to undo (ids from the history)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: list[Annotated[int, Field(le=ROW_ID_MAX)]] = Field(min_length=1, max_length=MAX_UNDO)

    @field_validator("ids")
    @classmethod
    def _positive_and_distinct(cls, ids: list[int]) -> list[int]:
        if any(i < 1 for i in ids) or len(set(ids)) != len(ids):
            raise ValueError("ids must be distinct positive integers")
        return ids


UndoStatus = Literal[
    "undone", "already_undone", "dry_run", "changed_since", "not_found", "record_gone", "failed"
]


class UndoOutcome(BaseModel):
    id: int
    status: UndoStatus
    detail: str = ""


class UndoResult(BaseModel):
    undone: int
    outcomes: list[UndoOutcome]


class Summary(BaseModel):
    """What the app did for the portal lately (ui/summary.py says how each number is counted)."""

    corrected_7d: int = Field(description="names corrected in the last 7 days")
    corrected_30d: int = Field(description="names corrected in the last 30 days")
    trial_30d: int = Field(description="corrections foreseen in trial mode, last 30 days")
    checked: int = Field(description="records checked in the last `checked_days` days")
    checked_days: float = Field(description="7, or INBOX_RETENTION_DAYS when shorter")


class PageState(BaseModel):
    """Everything the page shows besides the history."""

    settings: SettingsView
    portal_state: str
    backfill: BackfillProgress
    summary: Summary
    portal_url: str = Field(description="the portal's address, for links to its records")
    event_mode: Literal["online", "offline", "offline_clear"] = Field(
        default="online", description="how changes reach the app (portals/event_modes.py)"
    )


class TokenRenewal(BaseModel):
    """A page's expired token renewed with the user's current Bitrix24 token (BX24.getAuth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_id: str = Field(min_length=1, max_length=512)


class PageTokenView(BaseModel):
    token: str
    expires_at: int
