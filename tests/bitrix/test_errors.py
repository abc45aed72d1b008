"""Error mapping: one table from (HTTP status, Bitrix code) to behaviour (protocol §4, §5)."""

from __future__ import annotations

import pytest

from namecase.bitrix.errors import (
    AccessDenied,
    AppNotInstalled,
    BitrixError,
    ExpiredToken,
    InvalidAuth,
    InvalidGrant,
    NotFound,
    OAuthError,
    OperationTimeLimit,
    PaymentRequired,
    PortalDeleted,
    PortalDisabled,
    PortalUnavailable,
    QueryLimitExceeded,
    error_from_response,
    oauth_error_from_response,
)


@pytest.mark.parametrize(
    ("status", "code", "description", "expected"),
    [
        (401, "expired_token", "The access token provided has expired", ExpiredToken),
        (401, "NO_AUTH_FOUND", "Wrong authorization data", InvalidAuth),
        (401, "INVALID_TOKEN", "", InvalidAuth),
        (503, "QUERY_LIMIT_EXCEEDED", "Too many requests", QueryLimitExceeded),
        (429, "OPERATION_TIME_LIMIT", "Method is blocked", OperationTimeLimit),
        (503, "OVERLOAD_LIMIT", "", PortalUnavailable),
        (403, "ACCESS_DENIED", "REST is available only on commercial plans", AccessDenied),
        (403, "insufficient_scope", "", AccessDenied),
        (403, "user_access_error", "", AccessDenied),
        (500, "INTERNAL_SERVER_ERROR", "", PortalUnavailable),
        (502, "", "", PortalUnavailable),
        (500, "PORTAL_DELETED", "Portal was deleted", PortalDeleted),
        (410, "PORTAL_DELETED", "Portal was deleted", PortalDeleted),
        (401, "PAYMENT_REQUIRED", "Payment required", PaymentRequired),
        (400, "invalid_grant", "", InvalidGrant),
        (400, "", "Not found", NotFound),
        (400, "", "Contact is not found", NotFound),
        (404, "NOT_FOUND", "", NotFound),
        (400, "", "Access denied", AccessDenied),
        (400, "ERROR_CORE", "Handler already binded", BitrixError),
        (400, "", "ID is not defined or invalid", BitrixError),
        (400, "ERROR_METHOD_NOT_FOUND", "Method not found", BitrixError),
    ],
)
def test_each_documented_answer_maps_to_one_error_class(
    status: int, code: str, description: str, expected: type[BitrixError]
) -> None:
    error = error_from_response(
        status, {"error": code, "error_description": description}, method="crm.contact.get"
    )

    assert type(error) is expected
    assert error.code == code
    assert error.status == status
    assert error.method == "crm.contact.get"
    assert error.description == description


def test_codes_compare_case_insensitively() -> None:
    assert isinstance(error_from_response(401, {"error": "EXPIRED_TOKEN"}), ExpiredToken)
    assert isinstance(
        error_from_response(503, {"error": "query_limit_exceeded"}), QueryLimitExceeded
    )


def test_operation_time_limit_carries_the_reset_time_from_the_body() -> None:
    body = {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
        "time": {"operating_reset_at": 1762348943, "operating": 480.2},
    }

    error = error_from_response(429, body, method="crm.contact.list")

    assert isinstance(error, OperationTimeLimit)
    assert error.reset_at == 1762348943.0


def test_operation_time_limit_without_a_reset_time_has_none() -> None:
    error = error_from_response(429, {"error": "OPERATION_TIME_LIMIT"})

    assert isinstance(error, OperationTimeLimit)
    assert error.reset_at is None


def test_unreadable_bodies_map_by_status() -> None:
    assert isinstance(error_from_response(502, None), PortalUnavailable)
    assert isinstance(error_from_response(503, "<html>maintenance</html>"), PortalUnavailable)
    assert isinstance(error_from_response(401, None), InvalidAuth)
    assert type(error_from_response(418, None)) is BitrixError


def test_batch_sub_errors_without_status_map_by_code_and_description() -> None:
    assert isinstance(
        error_from_response(None, {"error": "", "error_description": "Not found"}), NotFound
    )
    assert isinstance(error_from_response(None, {"error": "ACCESS_DENIED"}), AccessDenied)
    assert type(error_from_response(None, {"error": "ERROR_CORE"})) is BitrixError


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (InvalidGrant("invalid_grant"), "auth_failed"),
        (AppNotInstalled("invalid_client"), "auth_failed"),
        (PaymentRequired("PAYMENT_REQUIRED"), "payment_required"),
        # "Публичная часть сайта закрыта": closed for a while, not gone (system-errors.md).
        (PortalDeleted("PORTAL_DELETED"), "unreachable"),
    ],
)
def test_terminal_errors_name_the_portal_state_to_store(error: PortalDisabled, state: str) -> None:
    assert isinstance(error, PortalDisabled)
    assert error.portal_state == state


@pytest.mark.parametrize(
    ("error", "confirms"),
    [
        (InvalidGrant("invalid_grant"), True),
        (AppNotInstalled("invalid_client"), True),
        (error_from_response(401, {"error": "NOT_INSTALLED"}), True),
        (error_from_response(401, {"error": "APPLICATION_NOT_FOUND"}), True),
        (PaymentRequired("PAYMENT_REQUIRED"), False),
        (PortalDeleted("PORTAL_DELETED"), False),
    ],
)
def test_only_answers_that_say_the_app_is_gone_confirm_an_uninstall(
    error: PortalDisabled, confirms: bool
) -> None:
    assert error.confirms_uninstall is confirms


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "invalid_grant", InvalidGrant),
        (401, "PAYMENT_REQUIRED", PaymentRequired),
        (401, "invalid_client", AppNotInstalled),  # "приложение не установлено" (error-codes.md)
        (400, "invalid_request", OAuthError),
        (200, "wrong_client", OAuthError),
        (502, "", PortalUnavailable),
    ],
)
def test_oauth_answers_map_to_grant_errors(
    status: int, code: str, expected: type[BitrixError]
) -> None:
    error = oauth_error_from_response(status, {"error": code, "error_description": "x"})

    assert type(error) is expected
    assert error.status == status


def test_message_names_method_status_and_code() -> None:
    error = error_from_response(
        401, {"error": "expired_token", "error_description": "expired"}, method="crm.contact.get"
    )

    assert str(error) == "crm.contact.get: HTTP 401 expired_token: expired"


def test_server_descriptions_are_cut_short() -> None:
    error = error_from_response(400, {"error": "ERROR_CORE", "error_description": "x" * 5000})

    assert len(str(error)) < 400
