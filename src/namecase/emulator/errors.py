"""Errors the emulated Bitrix24 answers with: ``{"error": CODE, "error_description": ...}``.

Codes, texts and HTTP statuses follow bitrix24-protocol.md §4-§6 and the official
``_includes/system-errors.md``. CRM errors carry an empty code (§5 "Responses").
"""

from __future__ import annotations

from typing import Any


class RestError(Exception):
    """A REST method failure, rendered as the documented JSON error body."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        """The JSON body Bitrix24 answers with."""
        return {"error": self.code, "error_description": self.description}


class OAuthError(RestError):
    """An OAuth server failure (``/oauth/token/``), same body shape (§4 "OAuth errors")."""


def expired_token() -> RestError:
    """401: the access token's lifetime is over; the client must refresh (§4 refresh policy)."""
    return RestError(401, "expired_token", "The access token provided has expired.")


def no_auth_found() -> RestError:
    """401: the token is unknown, revoked or belongs to another portal."""
    return RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")


def payment_required() -> RestError:
    """401: the subscription lapsed (status per the SDK code list in §5)."""
    return RestError(401, "PAYMENT_REQUIRED", "Payment required")


def batch_length_exceeded() -> RestError:
    """400 for each command of a batch past the 50th (settings/how-to-call-rest-api/batch.md)."""
    return RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")


def portal_deleted() -> RestError:
    """500: "Публичная часть сайта закрыта" — an on-premise portal closed for a while by its
    administrator; it answers again once reopened (_includes/system-errors.md)."""
    return RestError(500, "PORTAL_DELETED", "Portal was deleted")


def query_limit_exceeded() -> RestError:
    """503: the portal's leaky bucket is full (§6)."""
    return RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")


def operation_time_limit() -> RestError:
    """429: the method's accumulated run time is over its limit (§6 "Operating time")."""
    return RestError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")


def rest_only_on_commercial_plans() -> RestError:
    """403: free plans have no REST API (system-errors.md)."""
    return RestError(403, "ACCESS_DENIED", "REST API is available only on commercial plans")


def insufficient_scope() -> RestError:
    """403: the app's scope does not cover the method."""
    return RestError(
        403,
        "insufficient_scope",
        "The request requires higher privileges than provided by the access token",
    )


def method_not_found() -> RestError:
    """404: no such method (status UNCONFIRMED in §5; PHPSDK code)."""
    return RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def internal_server_error() -> RestError:
    """500: an injected server failure."""
    return RestError(500, "INTERNAL_SERVER_ERROR", "Internal server error")


def crm_error(description: str) -> RestError:
    """400 with an empty code, as most CRM method errors are (§5, §7)."""
    return RestError(400, "", description)


def argument_null(name: str) -> RestError:
    """400 ERROR_ARGUMENT for a missing required parameter (event.bind error table)."""
    return RestError(400, "ERROR_ARGUMENT", f"Argument '{name}' is null or empty")


def access_denied(description: str) -> RestError:
    """403 ACCESS_DENIED with the method-specific text."""
    return RestError(403, "ACCESS_DENIED", description)
