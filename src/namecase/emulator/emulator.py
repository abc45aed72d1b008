"""The emulator: an OAuth server plus any number of Bitrix24 portals, and the Python API
tests and benchmarks drive it with (simulated users, installs, faults, introspection)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from namecase.emulator.bxtime import format_bitrix_datetime
from namecase.emulator.doorbell import Ring
from namecase.emulator.event_methods import DOORBELL_EVENT
from namecase.emulator.events import Delivery, EventAuth, EventDispatcher, event_auth_block
from namecase.emulator.faults import Faults
from namecase.emulator.oauth import OAuthServer
from namecase.emulator.offline_delivery import record_offline
from namecase.emulator.portal import EventHandler, Portal, PortalStats
from namecase.emulator.rest import RestApi
from namecase.emulator.tokens import TokenPair, TokenStore, new_token

INSTALL_FINISH_CALL = re.compile(r"BX24\s*\.\s*installFinish\s*\(")
# Default portal names end in this reserved name (RFC 6761 ``.test``: never a real host), so a
# client pointed at the emulator can map exactly these names to loopback (docs/EMULATOR.md).
PORTAL_DOMAIN_SUFFIX = "bitrix24.test"
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")
EVENT_TOKEN_MIN_REMAINING_SECONDS = 60.0


class UnknownPortalError(LookupError):
    """No portal with that member_id (or domain)."""


class RecordNotFoundError(LookupError):
    """No CRM record with that ID on the portal."""


class NotServedError(RuntimeError):
    """The emulator has no URL yet: run it with ``serve_emulator`` first."""


@dataclass
class EmulatorConfig:
    """Settings of one emulator; the defaults follow bitrix24-protocol.md."""

    client_id: str = "local.app.1"
    client_secret: str = "s3cret"  # noqa: S105 - a fixture credential, not a secret
    access_token_ttl: float = 3600.0
    # After a refresh the previous access token keeps working until its own expiry (§4).
    old_access_valid_after_refresh: bool = True
    scope: str = "crm"
    app_status: str = "F"
    app_id: int = 1
    app_version: int = 1
    # Delivery timeout is UNCONFIRMED in the docs; third parties report about 5 s (§2).
    delivery_timeout: float = 5.0
    delivery_concurrency: int = 100
    # Off by default: loading the CA bundle costs ~60 ms per emulator, and the app under test
    # usually listens on plain loopback http.
    delivery_verify_tls: bool = False
    # The contact/lead event examples carry refresh_token; events/index.md says they don't.
    event_refresh_token: bool = True
    seed: int = 0
    clock: Callable[[], float] = field(default=time.time)


class Emulator:
    """OAuth server + portals. Serve it with ``serve_emulator``; drive it with the methods."""

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token_ttl: float | None = None,
        *,
        config: EmulatorConfig | None = None,
    ) -> None:
        config = config or EmulatorConfig()
        overrides: dict[str, Any] = {}
        if client_id is not None:
            overrides["client_id"] = client_id
        if client_secret is not None:
            overrides["client_secret"] = client_secret
        if access_token_ttl is not None:
            overrides["access_token_ttl"] = access_token_ttl
        self.config = replace(config, **overrides)
        self.tokens = TokenStore(
            self.config.access_token_ttl, self.config.old_access_valid_after_refresh
        )
        self.portals: dict[str, Portal] = {}
        self._by_domain: dict[str, str] = {}
        self._renamed: dict[str, str] = {}
        self._installer_user: dict[str, int] = {}
        self.dispatcher = EventDispatcher(
            self.config.delivery_timeout,
            self.config.delivery_concurrency,
            self.config.delivery_verify_tls,
            self.config.clock,
        )
        self.rest = RestApi(self)
        self.oauth = OAuthServer(self)
        self.rng = random.Random(self.config.seed)
        self.refresh_count = 0
        self.token_requests = 0  # every /oauth/token/ request, whatever the answer
        self.hangs: set[asyncio.Event] = set()
        self._base_url: str | None = None

    # --- URLs ---------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's clock (unix time)."""
        return self.config.clock()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once served."""
        if self._base_url is None:
            raise NotServedError("the emulator is not being served; use serve_emulator()")
        return self._base_url

    @property
    def server_endpoint(self) -> str:
        """The OAuth server's REST endpoint, ``{base}/rest/`` (every portal's server_endpoint)."""
        return f"{self.base_url}/rest/"

    @property
    def oauth_token_url(self) -> str:
        """``{base}/oauth/token/``."""
        return f"{self.base_url}/oauth/token/"

    @property
    def control_url(self) -> str:
        """``{base}/_emulator/``: the JSON control API."""
        return f"{self.base_url}/_emulator/"

    def attach(self, base_url: str) -> None:
        """Record the URL the emulator is served at (done by ``serve_emulator``)."""
        self._base_url = base_url.rstrip("/")

    def origin_of(self, domain: str) -> str:
        """``scheme://{domain}:PORT``: a portal's own host on the emulator's port.

        Bitrix24 serves each portal under its own name (``https://DOMAIN/rest/``); the emulator
        serves them all on one port and routes by the ``Host`` header (app.py).
        """
        scheme, _, rest = self.base_url.partition("://")
        port = rest.rpartition(":")[2] if ":" in rest else ""
        default = {"http": "80", "https": "443"}.get(scheme)
        return f"{scheme}://{domain}" + (f":{port}" if port and port != default else "")

    # --- portals ------------------------------------------------------------------------

    def add_portal(
        self,
        domain: str | None = None,
        plan: str = "basic",
        member_id: str | None = None,
        *,
        bucket_depth: int | None = None,
        drain_per_second: float | None = None,
    ) -> Portal:
        """Create a portal; ``plan`` is free/basic/standard/professional/enterprise."""
        member_id = member_id or new_token()
        domain = (domain or f"portal-{len(self.portals) + 1}.{PORTAL_DOMAIN_SUFFIX}").lower()
        _check_host_name(domain)
        if member_id in self.portals or domain in self._by_domain:
            raise ValueError(f"portal {member_id} / {domain} already exists")
        portal = Portal(
            member_id,
            domain,
            plan,
            origin_of=self.origin_of,
            bucket_depth=bucket_depth,
            drain_per_second=drain_per_second,
        )
        self.portals[member_id] = portal
        self._by_domain[domain] = member_id
        return portal

    def portal(self, member_id: str) -> Portal:
        """The portal with ``member_id``."""
        try:
            return self.portals[member_id]
        except KeyError:
            raise UnknownPortalError(member_id) from None

    def portal_by_domain(self, domain: str) -> Portal | None:
        """The portal currently at ``domain``, if any."""
        member_id = self._by_domain.get(domain.lower())
        return self.portals[member_id] if member_id else None

    def renamed_to(self, old_domain: str) -> str | None:
        """The current domain of a portal that used to be at ``old_domain``."""
        member_id = self._renamed.get(old_domain.lower())
        return self.portals[member_id].domain if member_id else None

    def portal_from_frame(self, domain: str | None, member_id: str | None) -> Portal:
        """Find a portal by member_id or domain (as a frame knows it)."""
        if member_id:
            return self.portal(member_id)
        portal = self.portal_by_domain(domain or "")
        if portal is None:
            raise UnknownPortalError(domain or "")
        return portal

    # --- installation (§1, §8) ----------------------------------------------------------

    async def install_app(
        self, member_id: str, install_url: str, lang: str = "ru", user_id: int = 1
    ) -> httpx.Response:
        """Open the installer frame: POST the documented fields to ``install_url``.

        A 200 HTML answer that calls ``BX24.installFinish()`` finishes the install, as the
        frame's script would. Redirects are followed like a browser frame does.
        """
        portal = self.portal(member_id)
        # Every (re)install starts from scratch: handlers gone, a new application token.
        portal.handlers = []
        portal.app_installed = True
        portal.install_finished = False
        portal.application_token = new_token()
        portal.language = lang
        portal.event_tokens.clear()
        self._installer_user[member_id] = user_id
        pair = self.tokens.issue(member_id, user_id, self.now())
        response = await self.dispatcher.client.post(
            _with_query(install_url, self.frame_query(portal, lang)),
            data=self.frame_form(portal, pair),
            follow_redirects=True,
            timeout=30.0,
        )
        if response.status_code == 200 and INSTALL_FINISH_CALL.search(response.text):
            self.finish_install(member_id)
        return response

    def frame_query(self, portal: Portal, lang: str) -> dict[str, str]:
        protocol = "1" if self.base_url.startswith("https") else "0"
        return {"DOMAIN": portal.domain, "PROTOCOL": protocol, "LANG": lang, "APP_SID": new_token()}

    def frame_form(self, portal: Portal, pair: TokenPair) -> dict[str, str]:
        assert portal.application_token is not None
        return {
            "AUTH_ID": pair.access_token,
            "AUTH_EXPIRES": str(pair.expires_in),
            "REFRESH_ID": pair.refresh_token,
            "SERVER_ENDPOINT": self.server_endpoint,
            "APPLICATION_TOKEN": portal.application_token,
            "APPLICATION_SCOPE": self.config.scope,
            "member_id": portal.member_id,
            "status": self.config.app_status,
            "PLACEMENT": "DEFAULT",
        }

    def frame_tokens(self, member_id: str, user_id: int = 1) -> TokenPair:
        """A fresh token pair for a user's frame (what ``BX24.getAuth()`` returns)."""
        portal = self.portal(member_id)
        if not portal.app_installed:
            raise UnknownPortalError(f"app not installed on {member_id}")
        return self.tokens.issue(member_id, user_id, self.now())

    def finish_install(self, member_id: str) -> None:
        """``BX24.installFinish()``: from now on events are delivered; ONAPPINSTALL is sent."""
        portal = self.portal(member_id)
        if not portal.app_installed or portal.install_finished:
            return
        portal.install_finished = True
        data = {
            "VERSION": self.config.app_version,
            "ACTIVE": "Y",
            "INSTALLED": "Y",
            "LANGUAGE_ID": portal.language,
        }
        installer = self._installer_user.get(member_id, 1)
        self.fire_event(portal, "ONAPPINSTALL", data, user_id=installer, automation=False)

    def uninstall_app(self, member_id: str, clean: bool = True) -> None:
        """Remove the app: ONAPPUNINSTALL (no tokens, §8), handlers deleted, tokens revoked."""
        portal = self.portal(member_id)
        if not portal.app_installed:
            return
        assert portal.application_token is not None
        auth = {
            "domain": portal.domain,
            "server_endpoint": self.server_endpoint,
            "client_endpoint": portal.client_endpoint,
            "member_id": portal.member_id,
            "application_token": portal.application_token,
        }
        data = {"LANGUAGE_ID": portal.language, "CLEAN": 1 if clean else 0}
        self.fire_event(portal, "ONAPPUNINSTALL", data, user_id=None, automation=True, auth=auth)
        portal.handlers = []
        portal.offline.forget()  # the app's queue goes with the app
        portal.app_installed = False
        portal.install_finished = False
        portal.event_tokens.clear()
        self.tokens.revoke(member_id)

    # --- simulated users ----------------------------------------------------------------

    async def user_add_contact(
        self,
        member_id: str,
        fields: Mapping[str, Any],
        *,
        user_id: int = 1,
        automation: bool = False,
    ) -> int:
        """A user (or a robot, ``automation=True``) creates a contact; fires ONCRMCONTACTADD."""
        return self.user_add(member_id, "contact", fields, user_id, automation)

    async def user_update_contact(
        self,
        member_id: str,
        contact_id: int,
        fields: Mapping[str, Any],
        *,
        user_id: int = 1,
        automation: bool = False,
    ) -> None:
        """A user (or robot) edits a contact; fires ONCRMCONTACTUPDATE."""
        self.user_update(member_id, "contact", contact_id, fields, user_id, automation)

    async def user_delete_contact(self, member_id: str, contact_id: int, user_id: int = 1) -> None:
        """A user deletes a contact; fires ONCRMCONTACTDELETE."""
        self.user_delete(member_id, "contact", contact_id, user_id)

    async def user_add_lead(
        self,
        member_id: str,
        fields: Mapping[str, Any],
        *,
        user_id: int = 1,
        automation: bool = False,
    ) -> int:
        """A user (or robot) creates a lead; fires ONCRMLEADADD."""
        return self.user_add(member_id, "lead", fields, user_id, automation)

    async def user_update_lead(
        self,
        member_id: str,
        lead_id: int,
        fields: Mapping[str, Any],
        *,
        user_id: int = 1,
        automation: bool = False,
    ) -> None:
        """A user (or robot) edits a lead; fires ONCRMLEADUPDATE."""
        self.user_update(member_id, "lead", lead_id, fields, user_id, automation)

    async def user_delete_lead(self, member_id: str, lead_id: int, user_id: int = 1) -> None:
        """A user deletes a lead; fires ONCRMLEADDELETE."""
        self.user_delete(member_id, "lead", lead_id, user_id)

    def user_add(
        self,
        member_id: str,
        entity: str,
        fields: Mapping[str, Any],
        user_id: int,
        automation: bool,
    ) -> int:
        portal = self.portal(member_id)
        now_text = format_bitrix_datetime(self.now(), portal.tz)
        record_id = portal.store(entity).add(fields, user_id, now_text)
        self.crm_changed(portal, entity, "ADD", record_id, user_id, automation)
        return record_id

    def user_update(
        self,
        member_id: str,
        entity: str,
        record_id: int,
        fields: Mapping[str, Any],
        user_id: int,
        automation: bool,
    ) -> None:
        portal = self.portal(member_id)
        now_text = format_bitrix_datetime(self.now(), portal.tz)
        if not portal.store(entity).update(record_id, fields, user_id, now_text):
            raise RecordNotFoundError(f"{entity} {record_id} on {member_id}")
        portal.stats.user_updates_per_record[(entity, record_id)] += 1
        self.crm_changed(portal, entity, "UPDATE", record_id, user_id, automation)

    def user_delete(self, member_id: str, entity: str, record_id: int, user_id: int) -> None:
        portal = self.portal(member_id)
        if not portal.store(entity).delete(record_id):
            raise RecordNotFoundError(f"{entity} {record_id} on {member_id}")
        self.crm_changed(portal, entity, "DELETE", record_id, user_id, False)

    def contact(self, member_id: str, contact_id: int) -> dict[str, Any]:
        """The contact's current fields, as ``crm.contact.get`` would return them."""
        return self.record(member_id, "contact", contact_id)

    def lead(self, member_id: str, lead_id: int) -> dict[str, Any]:
        """The lead's current fields, as ``crm.lead.get`` would return them."""
        return self.record(member_id, "lead", lead_id)

    def record(self, member_id: str, entity: str, record_id: int) -> dict[str, Any]:
        record = self.portal(member_id).store(entity).get(record_id)
        if record is None:
            raise RecordNotFoundError(f"{entity} {record_id} on {member_id}")
        return record

    # --- events (§2) --------------------------------------------------------------------

    def crm_changed(
        self,
        portal: Portal,
        entity: str,
        action: str,
        record_id: int,
        user_id: int,
        automation: bool,
        connector: str = "",
    ) -> None:
        """A CRM record changed (REST or user): fire ONCRM<ENTITY><ACTION>.

        ``connector`` is the ``auth_connector`` the changing call carried (offline.py).
        """
        event = f"{portal.store(entity).schema.event_prefix}{action}"
        data = {"FIELDS": {"ID": record_id}}
        self.fire_event(
            portal, event, data, user_id=user_id, automation=automation, connector=connector
        )

    def fire_event(
        self,
        portal: Portal,
        event: str,
        data: Mapping[str, Any],
        *,
        user_id: int | None,
        automation: bool,
        auth: dict[str, str] | None = None,
        connector: str = "",
    ) -> None:
        """Queue ``event`` to every online handler bound to it, once the install is finished,
        and to the offline queue of every connector bound to it but ``connector`` (§10)."""
        portal.stats.events_fired += 1
        if portal.app_installed and record_offline(
            portal, event, data, user_id, connector, self.now()
        ):
            self._ring_doorbell(portal, Ring(_acting_user(0, user_id, automation), automation))
        handlers = portal.handlers_for(event)
        if not handlers:
            return
        if not portal.install_finished:
            # "События не будут отправляться в приложение, пока установка не завершена" (§1).
            portal.stats.events_suppressed_before_install += 1
            return
        for handler in handlers:
            self._deliver(portal, handler, event, data, user_id, automation, auth)

    def _deliver(
        self,
        portal: Portal,
        handler: EventHandler,
        event: str,
        data: Mapping[str, Any],
        user_id: int | None,
        automation: bool,
        auth: dict[str, str] | None,
    ) -> None:
        block = auth or self._event_auth(portal, _acting_user(handler.user_id, user_id, automation))
        delivery = Delivery(
            member_id=portal.member_id,
            event=event,
            url=handler.handler,
            handler_id=handler.id,
            data=dict(data),
            auth=block,
            queued_at=self.now(),
        )
        portal.stats.deliveries_queued += 1
        drop = portal.faults.draw_drop(self.rng)
        self.dispatcher.submit(delivery, delay=portal.faults.event_delay, drop=drop)

    @contextmanager
    def offline_request(self, portal: Portal) -> Iterator[None]:
        """A REST request to ``portal``: the doorbell rings once, when it ends (doorbell.py)."""
        portal.doorbell.open_request()
        try:
            yield
        finally:
            held = portal.doorbell.close_request()
            if held is not None:
                self._ring_doorbell(portal, held)

    def _ring_doorbell(self, portal: Portal, ring: Ring) -> None:
        """ONOFFLINEEVENT to its handlers whose minTimeout window allows a ring now; its
        ``data`` is empty (on-offline-event.md: "Приходит пустым")."""
        if portal.doorbell.hold_or_pass(ring) is None:
            return
        if not portal.install_finished:
            # "События не будут отправляться в приложение, пока установка не завершена".
            portal.stats.events_suppressed_before_install += 1
            return
        now = self.now()
        for handler in portal.handlers_for(DOORBELL_EVENT):
            min_timeout = handler.min_timeout if handler.min_timeout is not None else 1
            if not portal.doorbell.allows(handler.id, min_timeout, now):
                portal.stats.doorbell_dropped += 1
                continue
            portal.stats.doorbell_rings += 1
            self._deliver(portal, handler, DOORBELL_EVENT, {}, ring.user_id, ring.automation, None)

    def set_offline_features(self, member_id: str, **switches: bool) -> None:
        """Allow or deny offline events on a portal: ``offline``, ``extended``,
        ``auth_connector`` (doorbell.py, OfflineFeatures)."""
        self.portal(member_id).features.update(dict(switches))

    def set_admin(self, member_id: str, user_id: int, admin: bool) -> None:
        """Grant or take a user's administrator rights (e.g. the installer loses them)."""
        self.portal(member_id).users[user_id].admin = admin

    def _event_auth(self, portal: Portal, user_id: int | None) -> dict[str, str]:
        assert portal.application_token is not None
        auth = EventAuth(
            domain=portal.domain,
            client_endpoint=portal.client_endpoint,
            server_endpoint=self.server_endpoint,
            member_id=portal.member_id,
            application_token=portal.application_token,
            scope=self.config.scope,
            status=self.config.app_status,
        )
        if user_id is not None:
            pair = self._event_tokens(portal, user_id)
            auth.access_token = pair.access_token
            auth.expires_at = pair.expires_at
            auth.expires_in = pair.expires_in
            auth.user_id = user_id
            auth.refresh_token = pair.refresh_token if self.config.event_refresh_token else None
        return event_auth_block(auth)

    def _event_tokens(self, portal: Portal, user_id: int) -> TokenPair:
        # Reuse one pair per user while it is fresh, so 10,000 events do not mint 10,000 pairs.
        now = self.now()
        cached = portal.event_tokens.get(user_id)
        if (
            cached is not None
            and cached.expires_at - now > EVENT_TOKEN_MIN_REMAINING_SECONDS
            and self.tokens.check_live(cached.access_token, now) is not None
            and self.tokens.is_live_refresh(cached.refresh_token, now)
        ):
            return cached
        pair = self.tokens.issue(portal.member_id, user_id, now)
        portal.event_tokens[user_id] = pair
        return pair

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far (sent, failed or dropped), oldest first."""
        return self.dispatcher.deliveries

    async def wait_deliveries_idle(self) -> None:
        """Wait until no delivery is queued or in flight."""
        await self.dispatcher.wait_idle()

    # --- faults and portal events -------------------------------------------------------

    def faults(self, member_id: str) -> Faults:
        """The portal's fault settings (mutable)."""
        return self.portal(member_id).faults

    def rename_portal(self, member_id: str, new_domain: str) -> None:
        """Move the portal to the host ``new_domain``; the old host answers 302 with
        ``Location`` on the new one (settings/how-to-call-rest-api/change-domen.md)."""
        portal = self.portal(member_id)
        new_domain = new_domain.lower()
        _check_host_name(new_domain)
        if new_domain in self._by_domain:
            raise ValueError(f"domain {new_domain} is taken")
        old_domain = portal.domain
        del self._by_domain[old_domain]
        self._renamed[old_domain] = member_id
        self._renamed.pop(new_domain, None)
        self._by_domain[new_domain] = member_id
        portal.domain = new_domain

    def revoke_tokens(self, member_id: str) -> None:
        """Revoke every token: calls answer NO_AUTH_FOUND, refreshes invalid_grant."""
        self.portal(member_id)
        self.tokens.revoke(member_id)
        self.portal(member_id).event_tokens.clear()

    def set_payment_required(self, member_id: str, required: bool = True) -> None:
        """Calls and refreshes answer PAYMENT_REQUIRED until cleared."""
        self.portal(member_id).payment_required = required

    def close_portal(self, member_id: str, closed: bool = True) -> None:
        """The on-premise portal's administrator closes its public part ("Временное закрытие
        публичной части сайта"): every REST call answers 500 PORTAL_DELETED until it is reopened
        (_includes/system-errors.md). The OAuth server is Bitrix24's and still answers."""
        self.portal(member_id).closed = closed

    def update_app(self, member_id: str) -> str:
        """A new version of the app is installed on the portal; returns its application_token.

        ONAPPUPDATE "передает ... обновленный application_token" (common/events/on-app-update.md)
        and carries tokens like ONAPPINSTALL; an update deletes the app's handlers ("При удалении
        и обновлении приложения его действия будут удаляться", events/event-bind.md). The docs do
        not say which comes first: here the event goes to the handlers bound before the update.
        """
        portal = self.portal(member_id)
        if not portal.app_installed:
            raise UnknownPortalError(f"app not installed on {member_id}")
        portal.application_token = new_token()
        version = self.config.app_version
        data = {
            "VERSION": str(version + 1),
            "PREVIOUS_VERSION": str(version),
            "LANGUAGE_ID": portal.language,
        }
        installer = self._installer_user.get(member_id, 1)
        self.fire_event(portal, "ONAPPUPDATE", data, user_id=installer, automation=False)
        portal.handlers = []
        return portal.application_token

    def expire_access_tokens(self, member_id: str) -> None:
        """Every access token issued so far expires now: the next call gets 401 expired_token."""
        self.portal(member_id)
        self.tokens.expire_access(member_id)

    def stats(self, member_id: str) -> PortalStats:
        """The portal's counters."""
        return self.portal(member_id).stats

    def release_hangs(self) -> None:
        """End every request that is hanging because of an injected timeout."""
        for hang in list(self.hangs):
            hang.set()

    async def aclose(self) -> None:
        """Stop deliveries and close outgoing connections."""
        self.release_hangs()
        await self.dispatcher.aclose()


def _check_host_name(domain: str) -> None:
    # A portal is its own host; an address literal would take the OAuth server's host.
    if not _HOST_NAME.fullmatch(domain) or domain.rpartition(".")[2].isdigit():
        raise ValueError(f"{domain!r} is not a host name (each portal is its own host)")


def _acting_user(bound_user: int, acting_user: int | None, automation: bool) -> int | None:
    # auth_type fixes the user whose tokens go out; otherwise the acting user's, and none
    # at all for robots and business processes (§2 "Which auth keys are present when").
    if bound_user > 0:
        return bound_user
    return None if automation else acting_user


def _with_query(url: str, query: dict[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(query)
    joined = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))
