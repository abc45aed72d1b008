"""Which hosts we talk to: checks that run before any request leaves (issue 5 item 6)."""

from __future__ import annotations

import pytest

from namecase.bitrix import ForbiddenEndpoint, origin_of, rest_endpoint
from namecase.bitrix.endpoints import public_endpoint


def test_origins_are_lower_cased_without_default_ports() -> None:
    assert origin_of("HTTPS://Acme.Bitrix24.RU:443/rest/") == "https://acme.bitrix24.ru"
    assert origin_of("http://127.0.0.1:8000/acme.bitrix24.ru/rest/") == "http://127.0.0.1:8000"
    assert origin_of("https://oauth.bitrix.info:8443") == "https://oauth.bitrix.info:8443"


def test_a_rest_endpoint_ends_with_a_slash() -> None:
    assert rest_endpoint("https://acme.bitrix24.ru/rest", allow_http=False) == (
        "https://acme.bitrix24.ru/rest/"
    )
    assert rest_endpoint("https://acme.bitrix24.ru/rest/", allow_http=False) == (
        "https://acme.bitrix24.ru/rest/"
    )


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ForbiddenEndpoint, match="not https"):
        rest_endpoint("http://acme.bitrix24.ru/rest/", allow_http=False)

    assert rest_endpoint("http://127.0.0.1:1/acme/rest/", allow_http=True).startswith("http://")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://acme.bitrix24.ru/rest/",
        "acme.bitrix24.ru/rest/",
        "https:///rest/",
        "https://user:password@acme.bitrix24.ru/rest/",
        "https://acme.bitrix24.ru/rest/?auth=x",
        "https://acme.bitrix24.ru/rest/#x",
        "https://acme bitrix24.ru/rest/",
    ],
)
def test_urls_that_are_not_plain_rest_endpoints_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenEndpoint):
        rest_endpoint(url, allow_http=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/rest/",
        "https://10.0.0.5/rest/",
        "https://192.168.1.1/rest/",
        "https://169.254.169.254/rest/",
        "https://[::1]/rest/",
        "https://localhost/rest/",
    ],
)
def test_a_redirect_to_a_non_public_address_is_refused(url: str) -> None:
    with pytest.raises(ForbiddenEndpoint):
        public_endpoint(url, allow_http=False)
    assert public_endpoint(url, allow_http=True) == url  # the local emulator


def test_a_redirect_to_a_public_name_is_accepted() -> None:
    url = "https://renamed.bitrix24.ru/rest/"
    assert public_endpoint(url, allow_http=False) == url
