"""The emulated OAuth server: ``/oauth/token/`` and its own ``app.info`` (protocol §1, §4).

Only the refresh_token grant is offered (the app never sees an authorization code: it gets
its first pair from the installer frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from namecase.emulator import errors
from namecase.emulator.bxtime import format_bitrix_datetime, time_block
from namecase.emulator.errors import OAuthError, RestError
from namecase.emulator.tokens import invalid_grant

if TYPE_CHECKING:
    from namecase.emulator.emulator import Emulator


class OAuthServer:
    """Token endpoint and OAuth-server REST of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def token(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a token request: ``(status, body)``."""
        self.emulator.token_requests += 1
        try:
            return 200, self._refresh(params)
        except OAuthError as error:
            return error.status, error.body()

    def _refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        emulator = self.emulator
        config = emulator.config
        if params.get("client_id") != config.client_id:
            raise OAuthError(401, "invalid_client", "Invalid client")
        if params.get("client_secret") != config.client_secret:
            raise OAuthError(401, "invalid_client", "Invalid client")
        grant_type = params.get("grant_type")
        if grant_type != "refresh_token":
            raise OAuthError(400, "invalid_request", "Unsupported grant_type")
        refresh_token = params.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise OAuthError(400, "invalid_request", 'No "refresh_token" parameter found')
        member_id = emulator.tokens.refresh_owner(refresh_token)
        portal = emulator.portals.get(member_id) if member_id else None
        if portal is None:
            raise invalid_grant()
        portal.stats.token_requests += 1
        if not portal.app_installed:
            # "invalid_client (bad secret, or app not installed)" (§4).
            raise OAuthError(401, "invalid_client", "Application not installed")
        if portal.payment_required:
            raise OAuthError(401, "PAYMENT_REQUIRED", "Payment required")
        pair = emulator.tokens.rotate(refresh_token, emulator.now())
        portal.stats.refreshes += 1
        emulator.refresh_count += 1
        return {
            "access_token": pair.access_token,
            "client_endpoint": portal.client_endpoint,
            "domain": urlsplit(emulator.server_endpoint).netloc,
            "expires": int(pair.expires_at),
            "expires_in": pair.expires_in,
            "member_id": portal.member_id,
            "refresh_token": pair.refresh_token,
            "scope": config.scope,
            "server_endpoint": emulator.server_endpoint,
            "status": config.app_status,
            "user_id": pair.user_id,
        }

    def app_info(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """OAuth-server ``app.info``: the trusted install data for an access token (§1)."""
        emulator = self.emulator
        started = emulator.now()
        token = params.get("auth")
        try:
            if not isinstance(token, str) or not token:
                raise errors.no_auth_found()
            grant = emulator.tokens.authenticate(token, started)
        except RestError as error:
            return error.status, error.body()
        portal = emulator.portals[grant.member_id]
        config = emulator.config
        # The docs name this call (settings/oauth/simple-way.md) but not its answer; the shape is
        # the one the official SDK parses (b24pysdk api/responses/bitrix_app_info_response.py,
        # schemas/api.py): `expires` as ISO 8601 text (datetime.fromisoformat), and the full
        # `time` block of every REST answer.
        result = {
            "scope": config.scope,
            "client_id": config.client_id,
            "expires": format_bitrix_datetime(grant.expires_at, portal.tz),
            "install": {
                "installed": portal.install_finished,
                "version": config.app_version,
                "status": config.app_status,
                "scope": config.scope,
                "domain": portal.domain,
                "uri": portal.origin,
                "client_endpoint": portal.client_endpoint,
                "member_id": portal.member_id,
                "member_type": "PORTAL",
            },
            "user_id": grant.user_id,
        }
        return 200, {"result": result, "time": time_block(started, emulator.now(), portal.tz)}
