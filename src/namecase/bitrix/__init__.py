"""The Bitrix24 protocol: REST client, OAuth refresh, typed errors, PHP forms, rate budget.

Imports nothing else of ours; the portal layer plugs in through PortalLink.
"""

from namecase.bitrix.client import (
    MAX_BATCH,
    BatchResult,
    BitrixClient,
    Credentials,
    Page,
    PortalLink,
    RestCall,
)
from namecase.bitrix.endpoints import EndpointGuard, oauth_origin, origin_of, rest_endpoint
from namecase.bitrix.errors import (
    AccessDenied,
    AppNotInstalled,
    BitrixError,
    ExpiredToken,
    ForbiddenEndpoint,
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
from namecase.bitrix.forms import FormError, FormTooLarge, encode_php_form, parse_php_form
from namecase.bitrix.oauth import OAuthClient, TokenGrant
from namecase.bitrix.operating import OperatingMeter, TimingObserver
from namecase.bitrix.rate import LeakyBucket
from namecase.bitrix.redaction import mask_secrets, redact
from namecase.bitrix.transport import portal_http_client

__all__ = [
    "MAX_BATCH",
    "AccessDenied",
    "AppNotInstalled",
    "BatchResult",
    "BitrixClient",
    "BitrixError",
    "Credentials",
    "EndpointGuard",
    "ExpiredToken",
    "ForbiddenEndpoint",
    "FormError",
    "FormTooLarge",
    "InvalidAuth",
    "InvalidGrant",
    "LeakyBucket",
    "NotFound",
    "OAuthClient",
    "OAuthError",
    "OperatingMeter",
    "OperationTimeLimit",
    "Page",
    "PaymentRequired",
    "PortalDeleted",
    "PortalDisabled",
    "PortalLink",
    "PortalUnavailable",
    "QueryLimitExceeded",
    "RestCall",
    "TimingObserver",
    "TokenGrant",
    "encode_php_form",
    "error_from_response",
    "mask_secrets",
    "oauth_error_from_response",
    "oauth_origin",
    "origin_of",
    "parse_php_form",
    "portal_http_client",
    "redact",
    "rest_endpoint",
]
