"""Who opened the page: the Bitrix24 frame's data, checked against the stored portal.

Bitrix24 opens the app's main page with a POST (bitrix24-protocol.md §1, §9): `DOMAIN`,
`PROTOCOL`, `LANG` and `APP_SID` in the query string, the rest (`AUTH_ID`, `member_id`,
`APPLICATION_TOKEN`, `PLACEMENT`, `PLACEMENT_OPTIONS`, …) in the form body. None of it is trusted
by itself: the caller is accepted when the APPLICATION_TOKEN matches the hash stored for that
member_id, or else when the user's AUTH_ID works against the portal's *stored* client_endpoint
(never a host named by the request).

The APPLICATION_TOKEN names the portal, not the user: any employee who opens the app sends it.
So whether the user may *change* anything is asked of the portal with the user's own AUTH_ID
(`profile` → ADMIN, protocol §9); without a working AUTH_ID the page is read-only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from namecase.bitrix import (
    BitrixClient,
    BitrixError,
    Credentials,
    LeakyBucket,
)
from namecase.i18n import Language, language_of
from namecase.portals.crypto import application_token_matches
from namecase.portals.link import ReadOnlyLink
from namecase.portals.models import Portal

log = logging.getLogger(__name__)


class FrameRejected(Exception):
    """The frame data does not match a stored, installed portal (answer 403)."""


class FrameRequest(BaseModel):
    """The fields of the frame POST (or of a GET query, for local use) that the page uses."""

    model_config = ConfigDict(frozen=True)

    member_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    application_token: str = Field(default="", max_length=512)
    auth_id: str = Field(default="", max_length=512)
    domain: str = Field(default="", max_length=255)
    lang: str = Field(default="", max_length=8)
    placement: str = Field(default="DEFAULT", max_length=64)
    placement_options: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_fields(cls, form: Mapping[str, str], query: Mapping[str, str]) -> FrameRequest:
        """Read the documented keys; raises FrameRejected when they are missing or malformed."""
        try:
            return cls(
                member_id=form.get("member_id") or query.get("member_id", ""),
                application_token=form.get("APPLICATION_TOKEN")
                or query.get("APPLICATION_TOKEN", ""),
                auth_id=form.get("AUTH_ID") or query.get("AUTH_ID", ""),
                domain=query.get("DOMAIN") or form.get("DOMAIN", ""),
                lang=query.get("LANG") or form.get("LANG", ""),
                placement=form.get("PLACEMENT") or query.get("PLACEMENT") or "DEFAULT",
                placement_options=placement_options_of(
                    form.get("PLACEMENT_OPTIONS") or query.get("PLACEMENT_OPTIONS", "")
                ),
            )
        except ValidationError as error:
            raise FrameRejected("the frame data is incomplete or malformed") from error

    def language(self, portal: Portal) -> Language:
        """The frame's LANG, else the language the portal installed the app in."""
        return language_of(self.lang or portal.lang)


def placement_options_of(raw: str) -> dict[str, Any]:
    """PLACEMENT_OPTIONS is a JSON string (protocol §9); some placements send "undefined"."""
    if not raw or len(raw) > 8192:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class AuthCheckBudget:
    """How many AUTH_ID checks each portal may cost us: a burst of 10, then one per 2 s.

    Each check is a REST call to the portal, and the portal's limit is per portal *and source IP*
    (protocol §6): the worker shares it. Without a bound, anyone knowing a member_id could post
    made-up AUTH_IDs and spend the budget the worker needs. Per process; memory is bounded.
    """

    def __init__(self, burst: float = 10.0, per_second: float = 0.5) -> None:
        self._burst = burst
        self._per_second = per_second
        self._buckets: dict[str, LeakyBucket] = {}

    def bucket_for(self, member_id: str, now: float | None = None) -> LeakyBucket | None:
        """The portal's bucket while a check fits in it now, else None (check refused)."""
        bucket = self._buckets.get(member_id)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            bucket = LeakyBucket(capacity=self._burst, drain_per_second=self._per_second)
            self._buckets[member_id] = bucket
        return None if bucket.wait_time(time.time() if now is None else now) > 0 else bucket


AUTH_CHECKS = AuthCheckBudget()


@dataclass(frozen=True)
class FrameUser:
    """A user the portal vouched for: their token worked, and the portal said if they admin it."""

    id: str
    admin: bool


@dataclass(frozen=True)
class FrameAccess:
    """The verified frame: the stored portal, and whether its user may change the settings."""

    portal: Portal
    admin: bool


async def verify_frame(
    frame: FrameRequest, portal: Portal | None, bitrix: BitrixClient
) -> FrameAccess:
    """The stored portal if the frame proves it comes from there; FrameRejected otherwise.

    Admin rights come only from the portal's answer about the frame's AUTH_ID: a matching
    APPLICATION_TOKEN alone opens the page read-only.
    """
    if portal is None or portal.state == "uninstalled":
        raise FrameRejected("the app is not installed on this portal")
    user = await frame_user(portal, frame.auth_id, bitrix) if frame.auth_id else None
    if user is None and not (
        frame.application_token
        and application_token_matches(frame.application_token, portal.application_token_hash)
    ):
        raise FrameRejected("the frame data does not match the installed portal")
    return FrameAccess(portal, admin=user is not None and user.admin)


async def frame_user(portal: Portal, auth_id: str, bitrix: BitrixClient) -> FrameUser | None:
    """Who `auth_id` belongs to on the portal, or None: refused, or over the check budget."""
    bucket = AUTH_CHECKS.bucket_for(portal.member_id)
    if bucket is None:
        log.warning("frame AUTH_ID checks over budget", extra={"member_id": portal.member_id})
        return None
    # `profile` needs no scope, answers for any valid user token of this app, and says whether
    # the user is a portal administrator (ADMIN, protocol §9): one call for both questions.
    try:
        answer = await bitrix.call(
            ReadOnlyLink(portal.member_id, Credentials(portal.client_endpoint, auth_id), bucket),
            "profile",
        )
    except BitrixError as error:
        log.info("frame AUTH_ID refused: %s", error.code, extra={"member_id": portal.member_id})
        return None
    if not isinstance(answer, Mapping) or not answer.get("ID"):
        return None
    # Only a literal true counts: anything else the portal might send is not an admin.
    return FrameUser(id=str(answer["ID"]), admin=answer.get("ADMIN") is True)
