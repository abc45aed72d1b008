"""The page says how changes reach the app (issue 13 item 1), in the portal's language."""

from __future__ import annotations

import httpx

from .harness import open_frame, page_stack


async def test_the_page_says_whether_changes_come_through_the_queue_or_as_they_happen(
    pg_database_url: str,
) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        queued = await stack.installed_portal(plan="professional")
        posted = await stack.installed_portal()  # basic: online events
        offline_ru = await open_frame(http, stack, queued, lang="ru")
        offline_en = await open_frame(http, stack, queued, lang="en")
        online_en = await open_frame(http, stack, posted, lang="en")

    assert 'data-mode="offline"' in offline_ru.text
    assert "через очередь, которую Битрикс24 хранит для него" in offline_ru.text
    assert "nothing is missed while the app is unavailable" in offline_en.text
    assert 'data-mode="online"' in online_en.text
    assert "Bitrix24 sends each change to the app as it happens" in online_en.text
