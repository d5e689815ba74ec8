"""Message times from each app's own epoch, to UTC ISO 8601 with milliseconds.

Android apps count Unix milliseconds (WhatsApp, SMS, Snapchat, Messenger), Unix
microseconds (Instagram's direct.db) or Unix seconds (MMS `pdu.date`, Telegram); Apple counts
from 2001-01-01 (Cocoa / Core Data), in seconds (ChatStorage.sqlite, sms.db before iOS 11)
or nanoseconds (sms.db since iOS 11, told apart by magnitude).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UNIX = datetime(1970, 1, 1, tzinfo=UTC)
COCOA = datetime(2001, 1, 1, tzinfo=UTC)
# Cocoa seconds stay below 1e10 until the year 2318; nanoseconds are above 1e11 from 2001-01-01
# 00:01:40 on, so the magnitude tells them apart.
_COCOA_NS_ABOVE = 1e11


def _iso(base: datetime, seconds: float) -> str | None:
    try:
        when = base + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def unix_ms(value: object) -> str | None:
    n = _number(value)
    return None if n is None else _iso(UNIX, n / 1000)


def unix_us(value: object) -> str | None:
    n = _number(value)
    return None if n is None else _iso(UNIX, n / 1e6)


def unix_s(value: object) -> str | None:
    n = _number(value)
    return None if n is None else _iso(UNIX, n)


def cocoa(value: object) -> str | None:
    """Cocoa seconds or nanoseconds (sms.db since iOS 11), told apart by magnitude."""
    n = _number(value)
    if n is None:
        return None
    return _iso(COCOA, n / 1e9 if n > _COCOA_NS_ABOVE else n)
