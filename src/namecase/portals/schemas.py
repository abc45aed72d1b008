"""What the portal layer reads from Bitrix24 and keeps per portal."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from namecase.names import NameOptions

EntityType = Literal["contact", "lead"]
NameField = Literal["NAME", "SECOND_NAME", "LAST_NAME"]
ALL_FIELDS: tuple[NameField, ...] = ("NAME", "SECOND_NAME", "LAST_NAME")


class PortalOptions(BaseModel):
    """A portal admin's choices (stored as JSON in portals.settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    entities: tuple[EntityType, ...] = ("contact",)
    fields: tuple[NameField, ...] = ALL_FIELDS
    dry_run: bool = False
    particles: bool = True
    keep_latin_mixed_case: bool = True
    fix_lookalikes: bool = True  # settings stored before it existed read as on, the default
    # The history holds the names of contacts and leads: only administrators see it unless one
    # of them shows it to every user of the app (issue 14 item 8).
    history_for_everyone: bool = False

    def name_options(self) -> NameOptions:
        """The name engine's switches for this portal (namecase.names.NameOptions)."""
        return NameOptions(
            particles=self.particles,
            keep_latin_mixed_case=self.keep_latin_mixed_case,
            fix_lookalikes=self.fix_lookalikes,
        )


class InstallRequest(BaseModel):
    """The installer frame's POST (bitrix24-protocol.md §1): form fields plus the query string."""

    model_config = ConfigDict(frozen=True)

    auth_id: str = Field(min_length=1, max_length=512)
    auth_expires: int = Field(default=3600, ge=0)
    refresh_id: str = Field(min_length=1, max_length=512)
    server_endpoint: str = Field(min_length=1, max_length=512)
    application_token: str = Field(min_length=1, max_length=512)
    member_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    status: str = Field(default="", max_length=8)
    scope: str = Field(default="", max_length=512)
    domain: str = Field(default="", max_length=255)
    lang: str = Field(default="en", max_length=8)


class RestCallRecord(BaseModel):
    """One entry of a portal's REST call log, as the admin reads it (already redacted)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    method: str
    http_status: int | None
    error_code: str | None
    duration_ms: float
    request: str
    response: str
    created_at: dt.datetime
