"""Validity dates in hotspot user comments, as Mikhmon writes them.

Mikhmon's on-login scheduler writes the expiry into the user's comment in the router's own date
format: RouterOS v6 ``nov/23/2026 10:00:00``, v7 ``2026-11-23 10:00:00``. Vouchers not used yet
carry Mikhmon's generation marker (``vc-123-11.23.26-``) instead, and operators add words around
the date. ``find_expiry`` finds the first date of either form anywhere in the comment and reads it
as wall-clock time in the router's timezone; ``format_expiry`` writes one back in the format the
router's version uses, so existing panels keep reading it.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_V6 = re.compile(r"\b(" + "|".join(MONTHS) + r")/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}):(\d{2}))?",
                 re.IGNORECASE)
_V7 = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}):(\d{2}))?")


def find_expiry(comment: str | None, tz: tzinfo) -> datetime | None:
    """The first v6 or v7 date in ``comment`` (midnight when it has no time), or None."""
    if not comment:
        return None
    found: list[tuple[int, datetime]] = []
    for match in _V6.finditer(comment):
        month = MONTHS.index(match.group(1).lower()) + 1
        moment = _build(int(match.group(3)), month, int(match.group(2)), match.groups()[3:], tz)
        if moment is not None:
            found.append((match.start(), moment))
            break
    for match in _V7.finditer(comment):
        moment = _build(int(match.group(1)), int(match.group(2)), int(match.group(3)), match.groups()[3:], tz)
        if moment is not None:
            found.append((match.start(), moment))
            break
    return min(found)[1] if found else None


def _build(year: int, month: int, day: int, clock: tuple, tz: tzinfo) -> datetime | None:
    hour, minute, second = (int(x) for x in clock) if clock[0] is not None else (0, 0, 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:  # 31 Feb, 25:00 — not a date
        return None


def format_expiry(moment: datetime, *, v7: bool) -> str:
    """``2026-11-23 10:00:00`` (v7) or ``nov/23/2026 10:00:00`` (v6), in ``moment``'s own zone."""
    if v7:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{MONTHS[moment.month - 1]}/{moment.day:02d}/{moment.year} {moment.strftime('%H:%M:%S')}"
