"""How often anyone may make us confirm an install with the OAuth server (issue 14 item 5).

Every /install POST and every ONAPPINSTALL / ONAPPUPDATE event with tokens makes us call the OAuth
server with our client secret (portals/service.py), and anyone can send those: a flood would get
our client banned there ("заблокировано автоматикой", settings/oauth/index.md, protocol §4) and
cost a REST call per attempt. A real portal installs once: by default a caller may try 10 times a
minute and everyone together 120 times (INSTALL_LIMIT_PER_CALLER, INSTALL_LIMIT_OVERALL, each
also the burst). /install and the events route ask `admit_install` before they hand an install
to the portal service, so before any OAuth call. Per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

from namecase.bitrix import LeakyBucket
from namecase.settings import Settings

PER_CALLER = (10.0, 10 / 60)
OVERALL = (120.0, 2.0)


class InstallBudget:
    """Leaky buckets per caller and overall; `admit` spends one of each, or none."""

    def __init__(
        self,
        per_caller: tuple[float, float] = PER_CALLER,
        overall: tuple[float, float] = OVERALL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._per_caller = per_caller
        self._overall = LeakyBucket(capacity=overall[0], drain_per_second=overall[1])
        self._callers: dict[str, LeakyBucket] = {}
        self._clock = clock

    def admit(self, caller: str) -> bool:
        """Whether one more install attempt from ``caller`` may go to the OAuth server now."""
        now = self._clock()
        mine = self._callers.get(caller)
        if mine is None:
            if len(self._callers) > 10_000:
                self._callers.clear()
            mine = LeakyBucket(capacity=self._per_caller[0], drain_per_second=self._per_caller[1])
            self._callers[caller] = mine
        if mine.wait_time(now) > 0 or self._overall.wait_time(now) > 0:
            return False
        mine.take(now)
        self._overall.take(now)
        return True


def admit_install(settings: Settings, caller: str) -> bool:
    """Whether an install attempt from ``caller`` may go to the OAuth server now."""
    return _budget(settings).admit(caller)


@lru_cache(maxsize=8)
def _budget(settings: Settings) -> InstallBudget:
    # One budget per configuration, i.e. per service in this process (tests run several).
    per_caller, overall = settings.install_limit_per_caller, settings.install_limit_overall
    return InstallBudget((per_caller, per_caller / 60), (overall, overall / 60))
