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

A renamed portal opens the page under its new name (the frame's DOMAIN) while we still know the
old one, and the page may only be framed by the portal's origins (`frame-ancestors`). So when
DOMAIN names another host than the stored one, the AUTH_ID check goes to the *stored* endpoint
anyway: a renamed portal answers there with a 302 to its new address ([RU]
settings/how-to-call-rest-api/change-domen.md), which the client follows, and the new endpoint
is stored on the request's portal row — the page opens on the first try. The address comes from
the stored, OAuth-confirmed host, never from DOMAIN, exactly as when the worker meets the 302.
"""

from __future__ import annotations

import hashlib
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
from namecase.portals.link import ReadOnlyLink, domain_of
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
    auth_expires: int = Field(default=3600, ge=0, le=86400)  # AUTH_EXPIRES: seconds (§1)
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
                auth_expires=form.get("AUTH_EXPIRES") or query.get("AUTH_EXPIRES") or 3600,
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


# The access token a frame carries lives an hour (settings/oauth/index.md; AUTH_EXPIRES, protocol
# §1), so an answer about it is good that long at most.
TOKEN_SECONDS_MAX = 3600


class AuthCheckBudget:
    """How many AUTH_ID checks a caller, and a portal, may cost us.

    Each check is a REST call to the portal, whose limit is per portal *and source IP* (protocol
    §6): the worker shares it. The member_id is no secret, so anyone may post made-up AUTH_IDs.
    So checks are counted twice: per caller (a burst of 5, then one per 10 s: a person needs one
    check per token, answers are cached) and per portal (20, then one per 2 s), each apart for
    frames the portal vouches for (a matching APPLICATION_TOKEN, which only its users have, or
    our page token) and for strangers. A caller over its budget spends nothing of the portal's,
    and strangers cannot spend what the portal's own users need. Per process; memory bounded.
    """

    def __init__(
        self,
        caller: tuple[float, float] = (5.0, 0.1),
        portal: tuple[float, float] = (20.0, 0.5),
    ) -> None:
        self._caller = caller
        self._portal = portal
        self._buckets: dict[tuple[str, ...], LeakyBucket] = {}

    def bucket_for(
        self, member_id: str, caller: str, *, vouched: bool, now: float | None = None
    ) -> LeakyBucket | None:
        """The portal bucket to spend a check from, or None when the caller or portal is over."""
        now = time.time() if now is None else now
        kind = "vouched" if vouched else "stranger"
        mine = self._bucket(("caller", member_id, kind, caller), self._caller)
        if mine.wait_time(now) > 0:
            return None
        shared = self._bucket(("portal", member_id, kind), self._portal)
        if shared.wait_time(now) > 0:
            return None
        mine.take(now)
        return shared

    def _bucket(self, key: tuple[str, ...], shape: tuple[float, float]) -> LeakyBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 20_000:
                self._buckets.clear()
            bucket = LeakyBucket(capacity=shape[0], drain_per_second=shape[1])
            self._buckets[key] = bucket
        return bucket


class VerifiedUsers:
    """The portal's answers about tokens that worked, kept for the token's life.

    Keyed by a hash of (member_id, AUTH_ID): the tokens themselves are not kept. Only answers
    that vouch for a user are cached; a refused token is asked again (within the budget).
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._users: dict[bytes, tuple[FrameUser, float]] = {}

    def get(self, member_id: str, auth_id: str, now: float | None = None) -> FrameUser | None:
        key = _token_key(member_id, auth_id)
        cached = self._users.get(key)
        if cached is None:
            return None
        if cached[1] <= (time.time() if now is None else now):
            del self._users[key]
            return None
        return cached[0]

    def put(self, member_id: str, auth_id: str, user: FrameUser, expires_at: float) -> None:
        if len(self._users) >= self._size:
            self._users.clear()
        self._users[_token_key(member_id, auth_id)] = (user, expires_at)


def _token_key(member_id: str, auth_id: str) -> bytes:
    return hashlib.sha256(f"{member_id}\0{auth_id}".encode()).digest()


AUTH_CHECKS = AuthCheckBudget()
VERIFIED = VerifiedUsers()


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
    frame: FrameRequest, portal: Portal | None, bitrix: BitrixClient, *, caller: str
) -> FrameAccess:
    """The stored portal if the frame proves it comes from there; FrameRejected otherwise.

    Admin rights come only from the portal's answer about the frame's AUTH_ID: a matching
    APPLICATION_TOKEN alone opens the page read-only. ``caller`` is whose check budget is spent.
    """
    if portal is None or portal.state == "uninstalled":
        raise FrameRejected("the app is not installed on this portal")
    vouched = bool(frame.application_token) and application_token_matches(
        frame.application_token, portal.application_token_hash
    )
    user = None
    if frame.auth_id:
        renamed: list[str] = []
        user = await frame_user(
            portal,
            frame.auth_id,
            bitrix,
            caller=caller,
            vouched=vouched,
            lifetime=frame.auth_expires,
            renames=renamed if _named_elsewhere(frame, portal) else None,
        )
        if renamed:
            _moved(portal, renamed[-1])
    if user is None and not vouched:
        raise FrameRejected("the frame data does not match the installed portal")
    return FrameAccess(portal, admin=user is not None and user.admin)


async def frame_user(
    portal: Portal,
    auth_id: str,
    bitrix: BitrixClient,
    *,
    caller: str,
    vouched: bool,
    lifetime: float = TOKEN_SECONDS_MAX,
    renames: list[str] | None = None,
) -> FrameUser | None:
    """Who `auth_id` belongs to on the portal, or None: refused, or over the check budget.

    With `renames`, the portal is asked even if the answer is known (to learn where it lives
    now), and the endpoint a rename redirect led to is appended to it.
    """
    known = VERIFIED.get(portal.member_id, auth_id)
    if known is not None and renames is None:
        return known  # asked already during this token's life
    bucket = AUTH_CHECKS.bucket_for(portal.member_id, caller, vouched=vouched)
    if bucket is None:
        log.warning("frame AUTH_ID checks over budget", extra={"member_id": portal.member_id})
        return None
    # `profile` needs no scope, answers for any valid user token of this app, and says whether
    # the user is a portal administrator (ADMIN, protocol §9; bitrix-tools/b24-rest-docs
    # api-reference/common/users/profile.md): one call for both questions. A refusal is not
    # logged: made-up tokens must not write rows.
    started = time.time()
    try:
        credentials = Credentials(portal.client_endpoint, auth_id)
        on_moved = renames.append if renames is not None else None
        answer = await bitrix.call(
            ReadOnlyLink(portal.member_id, credentials, bucket, on_moved=on_moved),
            "profile",
            log_refusals=False,
        )
    except BitrixError as error:
        log.info("frame AUTH_ID refused: %s", error.code, extra={"member_id": portal.member_id})
        return None
    if not isinstance(answer, Mapping) or not answer.get("ID"):
        return None
    # Only a literal true counts: anything else the portal might send is not an admin.
    user = FrameUser(id=str(answer["ID"]), admin=answer.get("ADMIN") is True)
    VERIFIED.put(portal.member_id, auth_id, user, started + min(lifetime, TOKEN_SECONDS_MAX))
    return user


def _named_elsewhere(frame: FrameRequest, portal: Portal) -> bool:
    """Does the frame's DOMAIN name another host than the stored one (a rename, maybe)?"""
    host = frame.domain.strip().lower().split(":", 1)[0]
    return bool(host) and host != (portal.domain or "").lower()


def _moved(portal: Portal, client_endpoint: str) -> None:
    """The stored host redirected to `client_endpoint`: keep it on the request's portal row
    (committed with the request), so this very page is framed by the new origin."""
    if client_endpoint == portal.client_endpoint:
        return
    log.info("portal renamed, learned from its frame", extra={"member_id": portal.member_id})
    portal.client_endpoint = client_endpoint
    portal.domain = domain_of(client_endpoint)
