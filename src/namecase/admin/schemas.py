"""The operator's view: the JSON of /admin/status (also the data behind /admin)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from namecase.admin.explain import EventMode
from namecase.db import ROW_ID_MAX


class RecentCall(BaseModel):
    """One REST exchange with the portal (redacted bodies stay in the rest_calls table)."""

    method: str
    http_status: int | None = Field(description="None when no answer came (timeout, reset)")
    error_code: str | None
    duration_ms: float
    at: dt.datetime


class QueueView(BaseModel):
    """The portal's row in the worker queue: who holds it, when it is due, how it last went."""

    lease_owner: str | None
    lease_until: dt.datetime | None
    due_at: dt.datetime
    not_before: dt.datetime | None
    failures: int
    last_error: str | None
    last_run_at: dt.datetime | None
    reconciled_at: dt.datetime | None
    offline_due_at: dt.datetime | None = Field(
        default=None, description="offline mode: when its queue is collected next"
    )
    offline_process_id: str | None = Field(
        default=None, description="offline mode: a reservation collected but not yet confirmed"
    )


class BackfillView(BaseModel):
    entity_type: str
    state: str
    scanned: int
    total: int | None
    queued: int
    started_at: dt.datetime
    finished_at: dt.datetime | None


class PortalStatus(BaseModel):
    """Everything an operator asks about one portal at 3 a.m."""

    member_id: str
    domain: str
    state: str = Field(description="active, uninstalled, auth_failed or payment_required")
    state_explained: str = Field(description="what the state means and what happens next")
    event_mode: EventMode = Field(description="how Bitrix24 tells us of changes")
    event_mode_explained: str
    plan_status: str
    client_endpoint: str
    token_expires_at: dt.datetime | None
    token_refreshed_at: dt.datetime | None
    installed_at: dt.datetime
    enabled: bool
    entities: list[str]
    dry_run: bool
    pending: int = Field(description="inbox items waiting for the worker")
    dead: int = Field(description="inbox items that failed max_attempts times (replayable)")
    last_event_at: dt.datetime | None
    last_error: str | None
    rest_calls_last_hour: int
    rest_503_last_hour: int
    queue: QueueView | None
    backfills: list[BackfillView]
    recent_calls: list[RecentCall]


class WorkerStatus(BaseModel):
    """A worker process, from its heartbeat row, with the portals it holds leases on."""

    id: str
    hostname: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    alive: bool = Field(description="heartbeat within the last minute")
    items_done: int
    leases: list[str]


class Totals(BaseModel):
    portals: int
    portals_by_state: dict[str, int]
    pending: int
    dead: int
    rest_calls_last_hour: int
    rest_503_last_hour: int
    workers_alive: int
    leases_held: int


class Activity(BaseModel):
    """The last 24 hours, hour by hour (the last hour is the current, partial one)."""

    hours: list[dt.datetime] = Field(description="the start of each hour, UTC")
    queued: list[int] = Field(
        description="inbox rows created: a record queued by an event (repeats while it waits "
        "count once), a sweep or a backfill"
    )
    corrections: list[int] = Field(description="names corrected (trial mode not counted)")


class AdminStatus(BaseModel):
    """GET /admin/status."""

    generated_at: dt.datetime
    totals: Totals
    activity: Activity
    portals: list[PortalStatus]
    workers: list[WorkerStatus]


class ReplayRequest(BaseModel):
    """Which dead items to replay; all of the portal's when `ids` is omitted."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=ROW_ID_MAX)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )


class ReplayResult(BaseModel):
    member_id: str
    revived: int
