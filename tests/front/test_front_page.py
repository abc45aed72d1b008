"""GET /: what an operator sees when opening the service's address, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import make_settings
from namecase.app import create_app
from namecase.front.exposure import is_local_host, public_url_problems
from namecase.front.language import language_of_accept
from namecase.settings import Settings
from support.servers import serve

EMULATOR_OAUTH = ("http://127.0.0.1:8900",)
ADMIN_TOKEN = "a-strong-admin-token-for-the-front-page-tests"


async def front(settings: Settings, accept_language: str | None = None) -> httpx.Response:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        return await client.get("/", headers=headers)


async def test_the_front_page_gives_the_developer_cabinet_values(database_url: str) -> None:
    settings = make_settings(
        database_url, public_url="https://namecase.example.com", admin_token=ADMIN_TOKEN
    )
    page = await front(settings)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    assert '<code id="handler-url">https://namecase.example.com/app</code>' in html
    assert '<code id="install-url">https://namecase.example.com/install</code>' in html
    assert '<code id="scope">crm</code>' in html
    assert '<code id="events-url">https://namecase.example.com/events</code>' in html
    for event in ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE", "ONCRMLEADADD", "ONAPPUNINSTALL"):
        assert f"<code>{event}</code>" in html
    assert 'id="readiness" class="ready"' in html and "Ready" in html
    assert '<span id="version">' in html
    assert '<a href="admin">' in html and '<a href="docs">' in html
    assert 'id="warning"' not in html  # https on a public name: nothing to warn about


async def test_the_page_speaks_russian_to_a_russian_browser(database_url: str) -> None:
    settings = make_settings(database_url, public_url="https://namecase.example.com")
    html = (await front(settings, "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7")).text
    assert '<html lang="ru">' in html
    assert "Значения для кабинета разработчика Битрикс24" in html
    assert "Путь вашего обработчика" in html
    assert "Работает" in html


async def test_the_page_warns_when_bitrix24_cannot_reach_public_url(database_url: str) -> None:
    # The defaults: the real OAuth servers, and PUBLIC_URL http://127.0.0.1:8000.
    html = (await front(make_settings(database_url))).text
    assert 'id="warning"' in html
    assert 'data-problem="not_https"' in html
    assert 'data-problem="local_host"' in html
    assert "(127.0.0.1)" in html
    # Without an admin token there is no admin to link to.
    assert '<a href="admin">' not in html


async def test_no_warning_for_the_local_emulator(database_url: str) -> None:
    settings = make_settings(
        database_url, public_url="http://127.0.0.1:8000", oauth_servers=EMULATOR_OAUTH
    )
    html = (await front(settings)).text
    assert 'id="warning"' not in html


async def test_the_page_says_why_the_service_is_not_ready(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    html = (await front(settings)).text
    assert 'id="readiness" class="not-ready"' in html
    assert "Not ready" in html and "run `namecase migrate`" in html


async def test_the_page_cannot_be_framed_and_runs_no_script(database_url: str) -> None:
    page = await front(make_settings(database_url))
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("ru", "ru"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("en-US,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.5", "ru"),
        ("de-DE,de;q=0.9,en;q=0.8,ru;q=0.5", "en"),
        ("en;q=0.2,ru;q=0.8", "ru"),
        ("uk-UA", "ru"),
        ("fr", "en"),
        ("ru;q=0", "en"),
        ("ru;q=abc,en", "en"),
        ("ru;q=7,en", "en"),
        ("*", "en"),
        (";;,,", "en"),
    ],
)
def test_the_language_follows_the_browser_preferences(header: str | None, expected: str) -> None:
    assert language_of_accept(header) == expected


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("169.254.1.1", True),
        ("0.0.0.0", True),  # noqa: S104
        ("namecase.example.com", False),
        ("93.184.216.34", False),
    ],
)
def test_local_hosts_are_recognised(host: str, local: bool) -> None:
    assert is_local_host(host) is local


def test_public_url_problems_need_real_oauth_servers() -> None:
    url = "sqlite+aiosqlite:///:memory:"
    real = make_settings(url, public_url="http://10.0.0.5:8000")
    assert public_url_problems(real) == ["not_https", "local_host"]
    assert public_url_problems(make_settings(url, public_url="https://localhost")) == ["local_host"]
    emulator = make_settings(url, public_url="http://10.0.0.5:8000", oauth_servers=EMULATOR_OAUTH)
    assert public_url_problems(emulator) == []
