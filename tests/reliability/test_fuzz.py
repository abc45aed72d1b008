"""Generated input on the public routes: never a 5xx, and a refused request writes no row.

A few hundred inputs per run keep CI quick; bench/fuzz.py runs the same campaign long.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from support.stack import Stack, running_stack

from .fuzzing import (
    EVENT_KEYS,
    FuzzReport,
    bodies,
    delivery,
    frames,
    fuzz,
    get_frame,
    post_form,
    post_frame,
)

EXAMPLES = 120


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url) as stack:
        yield stack


def assert_clean(report: FuzzReport) -> None:
    assert report.tried == EXAMPLES
    assert report.server_errors == [], report.server_errors[:5]
    assert report.rows_written_by_rejected == [], report.rows_written_by_rejected[:5]


async def test_events_never_fail_and_refusals_write_nothing(stack: Stack) -> None:
    portal = await stack.installed_portal()
    report = await fuzz(
        stack, "/events", bodies(EVENT_KEYS, delivery(portal)), post_form("/events"), EXAMPLES
    )
    assert_clean(report)
    assert report.statuses[200] > 0, "no generated delivery was accepted"
    assert report.statuses[400] > 0 and report.statuses[403] > 0


async def test_install_never_fails_and_refusals_write_nothing(stack: Stack) -> None:
    portal = await stack.installed_portal()
    emulator = stack.emulator
    query = emulator.frame_query(portal, "en")
    form = emulator.frame_form(portal, emulator.frame_tokens(portal.member_id))
    report = await fuzz(stack, "/install", frames(query, form), post_frame("/install"), EXAMPLES)
    assert_clean(report)


async def test_app_never_fails_and_refusals_write_nothing(stack: Stack) -> None:
    portal = await stack.installed_portal()
    emulator = stack.emulator
    query = emulator.frame_query(portal, "ru")
    form = emulator.frame_form(portal, emulator.frame_tokens(portal.member_id))
    posted = await fuzz(stack, "POST /app", frames(query, form), post_frame("/app"), EXAMPLES)
    assert_clean(posted)
    opened = await fuzz(stack, "GET /app", frames(query, form), get_frame("/app"), EXAMPLES)
    assert_clean(opened)


@pytest.mark.parametrize("key", ["auth[member_id]", "auth[domain]", "auth[refresh_token]"])
async def test_a_nul_byte_found_by_the_fuzzer_is_a_400_not_a_500(stack: Stack, key: str) -> None:
    # PostgreSQL refuses NUL in text; the delivery must be refused before it reaches the database.
    portal = await stack.installed_portal()
    body = urlencode(delivery(portal, "ONAPPUPDATE") | {key: "a\x00b"}).encode()
    async with httpx.AsyncClient(base_url=stack.app_url) as client:
        response = await client.post(
            "/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code == 400
    assert "control characters" in response.json()["detail"]
