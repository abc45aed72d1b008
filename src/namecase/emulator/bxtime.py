"""Bitrix24 date-time text: ISO 8601 to the second with the portal's UTC offset.

Examples from the docs: ``"DATE_MODIFY": "2024-08-15T10:38:21+02:00"``; filters accept the
same form (crm-contact-list.md). Second precision matters: ``>DATE_MODIFY`` with a value
from the same second does not match.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

MOSCOW = timezone(timedelta(hours=3))


def format_bitrix_datetime(unix_time: float, tz: timezone = MOSCOW) -> str:
    """``2024-08-15T10:38:21+03:00`` for ``unix_time`` in the portal's zone."""
    return datetime.fromtimestamp(int(unix_time), tz).isoformat()


def time_block(started: float, finished: float, tz: timezone = MOSCOW) -> dict[str, object]:
    """The ``time`` block of a REST answer (settings/how-to-call-rest-api/batch.md, "time")."""
    return {
        "start": started,
        "finish": finished,
        "duration": finished - started,
        "processing": finished - started,
        "date_start": format_bitrix_datetime(started, tz),
        "date_finish": format_bitrix_datetime(finished, tz),
    }


def parse_bitrix_datetime(text: object, tz: timezone = MOSCOW) -> datetime | None:
    """Parse ISO (with or without offset, or a bare date) or ``dd.mm.yyyy[ hh:mm:ss]``.

    A value without an offset is read in the portal's zone; unparseable text gives None.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    parsed = _parse_iso(value) or _parse_russian(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _parse_iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _parse_russian(value: str) -> datetime | None:
    for pattern in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, pattern)  # zone applied by the caller
        except ValueError:
            continue
    return None
