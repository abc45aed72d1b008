"""`namecase demo` shows the whole path and says which event mode it used (issue 13 item 6)."""

from __future__ import annotations

from namecase.demo import run_demo


async def test_the_demo_fixes_every_name_through_offline_events_and_says_so() -> None:
    lines: list[str] = []
    rows = await run_demo(lines.append)

    assert "events: offline (Bitrix24's queue, reserve/confirm" in "\n".join(lines)
    assert any("were kept out of the queue" in line for line in lines)
    assert sum(row.seconds is not None for row in rows) == 7  # the two right ones untouched
    assert "Иван Петрович Сидоров" in [row.after for row in rows]


async def test_the_demo_on_a_plan_without_offline_events_says_why_it_is_online() -> None:
    lines: list[str] = []
    rows = await run_demo(lines.append, plan="basic")

    assert "events: online (the portal's plan has no auth_connector" in "\n".join(lines)
    assert sum(row.seconds is not None for row in rows) == 7
