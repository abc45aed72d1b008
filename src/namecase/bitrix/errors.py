"""Typed errors of the Bitrix24 protocol, mapped from (HTTP status, error code) in one place.

The portal and OAuth servers answer errors as ``{"error": CODE, "error_description": TEXT}``
(bitrix24-protocol.md §4, §5). Callers branch on the exception class, never on the code string.
Messages carry the method, status, code and the server's description; never a token or secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

# Server-provided descriptions end up in logs and admin output: keep them short.
_DESCRIPTION_LIMIT: Final = 300


class BitrixError(Exception):
    """An error answered by a Bitrix24 portal or OAuth server, or met on the way to it."""

    def __init__(
        self,
        code: str = "",
        description: str = "",
        *,
        status: int | None = None,
        method: str | None = None,
    ) -> None:
        self.code = code
        self.description = description[:_DESCRIPTION_LIMIT]
        self.status = status
        self.method = method
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method}: " if self.method else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        code = self.code or "(no code)"
        text = f": {self.description}" if self.description else ""
        return f"{where}{status}{code}{text}"


class ExpiredToken(BitrixError):
    """401 expired_token: refresh the access token once and retry (protocol §4)."""


class InvalidAuth(BitrixError):
    """401 with a rejected access token (NO_AUTH_FOUND, INVALID_TOKEN, …); not refreshed."""


class AccessDenied(BitrixError):
    """403-class refusal: rights, scope, or plan (protocol §5)."""


class NotFound(BitrixError):
    """The object does not exist (often 400 with an empty code, protocol §5, §7)."""


class QueryLimitExceeded(BitrixError):
    """503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket is full (protocol §6)."""


class OperationTimeLimit(BitrixError):
    """429 OPERATION_TIME_LIMIT: this method's operating time is used up until ``reset_at``."""

    def __init__(
        self,
        code: str = "",
        description: str = "",
        *,
        status: int | None = None,
        method: str | None = None,
        reset_at: float | None = None,
    ) -> None:
        self.reset_at = reset_at
        super().__init__(code, description, status=status, method=method)


class PortalUnavailable(BitrixError):
    """Transient trouble: 5xx, timeouts, connection errors, unreadable answers. Retry later."""


class OAuthError(BitrixError):
    """The OAuth server refused a grant (invalid_request, wrong_client, …; invalid_client is
    AppNotInstalled)."""


class ForbiddenEndpoint(BitrixError):
    """We refused to send a request: host not allow-listed, or http without allow_http."""


class PortalDisabled(BitrixError):
    """Stop this portal's normal work: the answer names the state it is in (docs/LIFECYCLE.md).

    ``portal_state`` is what the answer says about the portal; ``confirms_uninstall`` whether it
    is Bitrix24 saying the app is gone, which is what an ONAPPUNINSTALL needs before it is
    honoured (portals/lifecycle.py).
    """

    portal_state: ClassVar[str] = "auth_failed"
    confirms_uninstall: ClassVar[bool] = False


class InvalidGrant(PortalDisabled):
    """invalid_grant: the refresh token is dead; the portal must re-authorize (reinstall).

    [RU] settings/oauth/error-codes.md. After an uninstall the app's tokens are revoked, so a
    refresh may answer this too: it confirms an ONAPPUNINSTALL.
    """

    portal_state: ClassVar[str] = "auth_failed"
    confirms_uninstall: ClassVar[bool] = True


class AppNotInstalled(PortalDisabled):
    """The app is not installed on the portal (or our client credentials are wrong).

    The OAuth server's ``invalid_client`` ("Возможно, приложение не установлено в Битрикс24",
    [RU] settings/oauth/error-codes.md), or a portal's ``NOT_INSTALLED`` /
    ``APPLICATION_NOT_FOUND`` (SDK codes, protocol §5). Either confirms an ONAPPUNINSTALL.
    """

    portal_state: ClassVar[str] = "auth_failed"
    confirms_uninstall: ClassVar[bool] = True


class PaymentRequired(PortalDisabled):
    """PAYMENT_REQUIRED: the app's trial or paid period is over; it ends when the subscription is
    renewed ([RU] settings/oauth/error-codes.md: "До этого сервер авторизации токены не выдаст")."""

    portal_state: ClassVar[str] = "payment_required"


class PortalDeleted(PortalDisabled):
    """PORTAL_DELETED (HTTP 500): "Публичная часть сайта закрыта" — an on-premise portal closed
    for a while by its administrator ([RU] _includes/system-errors.md). Temporary."""

    portal_state: ClassVar[str] = "unreachable"


# Codes compared case-insensitively: Bitrix mixes expired_token with QUERY_LIMIT_EXCEEDED.
_BY_CODE: Final[Mapping[str, type[BitrixError]]] = {
    "EXPIRED_TOKEN": ExpiredToken,
    "NO_AUTH_FOUND": InvalidAuth,
    "INVALID_TOKEN": InvalidAuth,
    "ERROR_OAUTH": InvalidAuth,
    "AUTHORIZATION_ERROR": InvalidAuth,
    "APPLICATION_NOT_FOUND": AppNotInstalled,
    "NOT_INSTALLED": AppNotInstalled,
    "ACCESS_DENIED": AccessDenied,
    "INVALID_CREDENTIALS": AccessDenied,
    "INSUFFICIENT_SCOPE": AccessDenied,
    "INVALID_SCOPE": AccessDenied,
    "USER_ACCESS_ERROR": AccessDenied,
    "WRONG_AUTH_TYPE": AccessDenied,
    "METHOD_CONFIRM_WAITING": AccessDenied,
    "WRONG_LICENSE": AccessDenied,  # a feature the portal's plan lacks (protocol §10)
    "NOT_FOUND": NotFound,
    "QUERY_LIMIT_EXCEEDED": QueryLimitExceeded,
    "OPERATION_TIME_LIMIT": OperationTimeLimit,
    "INTERNAL_SERVER_ERROR": PortalUnavailable,
    "ERROR_UNEXPECTED_ANSWER": PortalUnavailable,
    "OVERLOAD_LIMIT": PortalUnavailable,
    "INVALID_GRANT": InvalidGrant,
    "PAYMENT_REQUIRED": PaymentRequired,
    "PORTAL_DELETED": PortalDeleted,
}

_OAUTH_TERMINAL: Final[Mapping[str, type[BitrixError]]] = {
    "INVALID_GRANT": InvalidGrant,
    "INVALID_CLIENT": AppNotInstalled,
    "PAYMENT_REQUIRED": PaymentRequired,
    "PORTAL_DELETED": PortalDeleted,
}

# Used when the code is empty or unknown (many CRM errors have an empty code, protocol §5).
_BY_STATUS: Final[Mapping[int, type[BitrixError]]] = {
    401: InvalidAuth,
    403: AccessDenied,
    429: OperationTimeLimit,
}


def error_from_response(status: int | None, body: Any, *, method: str | None = None) -> BitrixError:
    """Map a portal REST answer (or a batch ``result_error`` entry, status None) to its error."""
    code, description = _code_and_description(body)
    cls = _BY_CODE.get(code.upper())
    if cls is None:
        cls = _class_without_known_code(status, code, description)
    if cls is OperationTimeLimit:
        return OperationTimeLimit(
            code, description, status=status, method=method, reset_at=_operating_reset_at(body)
        )
    return cls(code, description, status=status, method=method)


def oauth_error_from_response(status: int | None, body: Any) -> BitrixError:
    """Map an OAuth server answer; ``wrong_client`` arrives with HTTP 200 (protocol §4)."""
    code, description = _code_and_description(body)
    cls = _OAUTH_TERMINAL.get(code.upper())
    if cls is not None:
        return cls(code, description, status=status, method="oauth/token")
    if status is not None and status >= 500:
        return PortalUnavailable(code, description, status=status, method="oauth/token")
    return OAuthError(code, description, status=status, method="oauth/token")


def _class_without_known_code(status: int | None, code: str, description: str) -> type[BitrixError]:
    if status is not None and status >= 500:
        return PortalUnavailable
    if not code:
        # CRM errors with an empty code: "Not found", "Contact is not found", "Access denied".
        lowered = description.lower()
        if "not found" in lowered:
            return NotFound
        if lowered.startswith("access denied"):
            return AccessDenied
    if status is None:
        return BitrixError
    return _BY_STATUS.get(status, BitrixError)


def _code_and_description(body: Any) -> tuple[str, str]:
    if not isinstance(body, Mapping):
        return "", ""
    code = body.get("error")
    description = body.get("error_description")
    return (
        code if isinstance(code, str) else "",
        description if isinstance(description, str) else "",
    )


def _operating_reset_at(body: Any) -> float | None:
    if not isinstance(body, Mapping):
        return None
    timing = body.get("time")
    if not isinstance(timing, Mapping):
        return None
    value = timing.get("operating_reset_at")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None
