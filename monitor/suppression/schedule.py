"""Weekly/daily clock schedules in a timezone: ``"sun 01:00-03:00"`` (a recurring window) and
``"daily 07:00"`` / ``"mon 07:00"`` (a report time). Pure: every function takes the instant it
reasons about; times are epoch seconds, wall clocks are interpreted in the given IANA zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)"
_AT_RE = re.compile(rf"^\s*(daily|{'|'.join(DAYS)})\s+{_CLOCK}\s*$", re.IGNORECASE)
_SPAN_RE = re.compile(rf"^\s*(daily|{'|'.join(DAYS)})\s+{_CLOCK}\s*-\s*{_CLOCK}\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ClockTime:
    """A time of day on every day (``weekday is None``) or on one weekday (0 = Monday)."""

    weekday: int | None
    hour: int
    minute: int

    @property
    def period(self) -> float:
        """Seconds between two occurrences: a day or a week."""
        return 86400.0 if self.weekday is None else 7 * 86400.0

    def next_after(self, after: float, tz: str) -> float:
        """The first occurrence strictly after ``after``."""
        zone = ZoneInfo(tz)
        local = datetime.fromtimestamp(after, zone)
        day = local.date()
        for offset in range(0, 9):
            d = day + timedelta(days=offset)
            if self.weekday is not None and d.weekday() != self.weekday:
                continue
            at = datetime.combine(d, time(self.hour, self.minute), zone).timestamp()
            if at > after:
                return at
        raise AssertionError("unreachable: a weekly time occurs within 8 days")  # pragma: no cover

    def last_at_or_before(self, when: float, tz: str) -> float:
        """The latest occurrence at or before ``when``."""
        zone = ZoneInfo(tz)
        day = datetime.fromtimestamp(when, zone).date()
        for offset in range(0, 9):
            d = day - timedelta(days=offset)
            if self.weekday is not None and d.weekday() != self.weekday:
                continue
            at = datetime.combine(d, time(self.hour, self.minute), zone).timestamp()
            if at <= when:
                return at
        raise AssertionError("unreachable: a weekly time occurs within 8 days")  # pragma: no cover


def parse_at(text: str) -> ClockTime:
    """``"daily 07:00"`` or ``"mon 07:00"`` → ClockTime. Raises ValueError."""
    m = _AT_RE.match(str(text))
    if not m:
        raise ValueError(f"invalid schedule {text!r} (write e.g. 'daily 07:00' or 'mon 07:00')")
    day = m.group(1).lower()
    return ClockTime(None if day == "daily" else DAYS.index(day), int(m.group(2)), int(m.group(3)))


@dataclass(frozen=True, slots=True)
class ClockSpan:
    """A recurring span, e.g. Sundays 01:00-03:00. An end at or before the start ends the next day
    (``"sat 23:00-01:00"``)."""

    start: ClockTime
    minutes: int  # length

    def occurrences(self, since: float, until: float, tz: str) -> list[tuple[float, float]]:
        """Every occurrence overlapping [since, until), as (start, end) epoch seconds. Lengths are
        computed in wall-clock terms, so a DST shift inside a span is honoured by ZoneInfo."""
        zone = ZoneInfo(tz)
        out = []
        first = since - self.minutes * 60 - self.start.period
        at = self.start.next_after(first, tz)
        while at < until:
            local = datetime.fromtimestamp(at, zone)
            end = (local + timedelta(minutes=self.minutes)).timestamp()
            if end > since:
                out.append((at, end))
            at = self.start.next_after(at, tz)
        return out

    def active_at(self, when: float, tz: str) -> tuple[float, float] | None:
        """The occurrence containing ``when`` (start inclusive, end exclusive), if any."""
        for start, end in self.occurrences(when, when + 1e-6, tz):
            if start <= when < end:
                return start, end
        return None


def parse_span(text: str) -> ClockSpan:
    """``"sun 01:00-03:00"`` or ``"daily 22:00-23:30"`` → ClockSpan. Raises ValueError."""
    m = _SPAN_RE.match(str(text))
    if not m:
        raise ValueError(f"invalid recurring window {text!r} (write e.g. 'sun 01:00-03:00' or "
                         "'daily 22:00-23:30')")
    day = m.group(1).lower()
    start = ClockTime(None if day == "daily" else DAYS.index(day), int(m.group(2)), int(m.group(3)))
    begin, finish = start.hour * 60 + start.minute, int(m.group(4)) * 60 + int(m.group(5))
    length = finish - begin if finish > begin else finish + 1440 - begin
    return ClockSpan(start, length)
