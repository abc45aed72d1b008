"""The service is SIGKILLed twice mid-burst; no acknowledged event is lost.

The long campaign (20 kills, bigger bursts, both databases) is bench/killloop.py; this short loop
keeps CI honest about the same promise.
"""

from __future__ import annotations

import pytest

from .kill_loop import kill_loop


@pytest.mark.slow
async def test_two_kills_mid_burst_lose_no_acknowledged_event(database_url: str) -> None:
    report = await kill_loop(database_url, kills=2, burst=40)
    assert report.kills == 2
    assert report.refused > 0, "every kill missed the burst; nothing was tested"
    assert report.acknowledged > 0
    assert report.lost == [], f"lost {len(report.lost)} acknowledged events: {report.as_dict()}"
