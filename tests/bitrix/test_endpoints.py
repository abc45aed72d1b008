"""Which hosts we talk to: checks that run before any request leaves (issue 5 item 6), and the
host forms refused wherever a URL is accepted (issue 14 item 3)."""

from __future__ import annotations

import pytest

from namecase.bitrix import ForbiddenEndpoint, oauth_origin, origin_of, rest_endpoint


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
        "https://[::1]/rest/",
        "https://localhost/rest/",
        "https://portal.localhost/rest/",
        "https://[::ffff:127.0.0.1]/rest/",  # IPv4-mapped loopback
    ],
)
def test_loopback_is_refused_unless_http_is_allowed_for_the_emulator(url: str) -> None:
    with pytest.raises(ForbiddenEndpoint, match=r"localhost|loopback"):
        rest_endpoint(url, allow_http=False)
    assert rest_endpoint(url, allow_http=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/rest/",
        "https://192.168.1.1/rest/",
        "https://172.16.0.1/rest/",
        "https://100.64.0.1/rest/",  # carrier-grade NAT
        "https://169.254.169.254/rest/",  # cloud metadata
        "https://0.0.0.0/rest/",
        "https://224.0.0.1/rest/",
        "https://240.0.0.1/rest/",
        "https://[fe80::1]/rest/",
        "https://[fd00::1]/rest/",
        "https://[ff02::1]/rest/",
        "https://[::]/rest/",
        "https://[::ffff:10.0.0.5]/rest/",  # IPv4-mapped
        "https://[64:ff9b::a9fe:a9fe]/rest/",  # NAT64 of 169.254.169.254
        "https://[2002:a00:5::]/rest/",  # 6to4 of 10.0.0.5
    ],
)
def test_non_public_addresses_are_refused_even_for_the_emulator(url: str) -> None:
    for allow_http in (False, True):
        with pytest.raises(ForbiddenEndpoint, match="address is refused"):
            rest_endpoint(url, allow_http=allow_http)


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/rest/",  # 127.0.0.1 as one decimal number
        "https://127.1/rest/",
        "https://0x7f000001/rest/",
        "https://0x7f.0.0.1/rest/",
        "https://127.0.0.1./rest/",
        "https://3232235777/rest/",  # 192.168.1.1
        "https://1.2.3.4.5/rest/",
        "https://portal.0x10/rest/",
        "https://example.123/rest/",
    ],
)
def test_non_canonical_numeric_hosts_are_refused(url: str) -> None:
    for allow_http in (False, True):
        with pytest.raises(ForbiddenEndpoint, match=r"four decimal numbers|valid"):
            rest_endpoint(url, allow_http=allow_http)


@pytest.mark.parametrize(
    "url",
    [
        "https://renamed.bitrix24.ru/rest/",
        "https://crm.example.com./rest/",
        "https://1c.example.com/rest/",
        "https://пример.рф/rest/",
        "https://93.184.215.14/rest/",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/rest/",
    ],
)
def test_public_names_and_addresses_are_accepted(url: str) -> None:
    assert rest_endpoint(url, allow_http=False).endswith("/rest/")


def test_an_oauth_server_on_an_address_literal_of_ours_is_refused() -> None:
    with pytest.raises(ForbiddenEndpoint, match="address is refused"):
        oauth_origin("https://10.1.1.1/rest/", allowed=["https://10.1.1.1"], allow_http=False)
