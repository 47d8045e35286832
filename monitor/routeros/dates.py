"""RouterOS dates: v6 prints ``nov/23/2022 10:00:00`` (or ``nov/23/2022``, ``10:00:00`` for today),
v7 prints ISO ``2022-11-23 10:00:00``. Both are the router's local time (no zone)."""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), start=1)}
_V6 = re.compile(r"^([a-z]{3})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}):(\d{2}))?$")
_V7 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}):(\d{2}))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})$")


def parse_routeros_datetime(text: str, *, today: date | None = None) -> datetime:
    """A naive datetime (router-local). A bare time (v6 shows only the time for today) needs ``today``.
    Raises ValueError for anything else."""
    value = text.strip().lower()
    m = _V6.match(value)
    if m and m.group(1) in _MONTHS:
        y, mo, d = int(m.group(3)), _MONTHS[m.group(1)], int(m.group(2))
        h, mi, s = (int(m.group(i) or 0) for i in (4, 5, 6))
        return datetime(y, mo, d, h, mi, s)
    m = _V7.match(value)
    if m:
        return datetime(*(int(m.group(i) or 0) for i in range(1, 7)))
    m = _TIME.match(value)
    if m and today is not None:
        return datetime(today.year, today.month, today.day, *(int(g) for g in m.groups()))
    raise ValueError(f"not a RouterOS date: {text!r}")
