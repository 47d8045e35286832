"""Maintenance windows (pure): which sources a window covers and when it is active.

A window matches sources by selectors — ``host:NAME``, ``router:NAME`` (globs allowed in NAME) or
``label:KEY=VALUE`` — and is either one-off (``start``/``end``, epoch seconds) or recurring
(a :class:`~monitor.suppression.schedule.ClockSpan` in the configured timezone).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..events import Source
from .schedule import ClockSpan

_KINDS = ("host", "router", "label")


@dataclass(frozen=True, slots=True)
class Selector:
    kind: str  # host | router | label
    value: str  # a name pattern, or KEY=VALUE for labels

    def matches(self, source: Source) -> bool:
        if self.kind == "label":
            key, _, value = self.value.partition("=")
            return source.labels.get(key) == value
        return source.kind == self.kind and fnmatch.fnmatchcase(source.name, self.value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_selector(text: str) -> Selector:
    """``host:NAME`` | ``router:NAME`` | ``label:KEY=VALUE`` → Selector. Raises ValueError."""
    kind, sep, value = str(text).partition(":")
    kind, value = kind.strip(), value.strip()
    if not sep or kind not in _KINDS or not value:
        raise ValueError(f"invalid target {text!r} (write host:NAME, router:NAME or label:KEY=VALUE)")
    if kind == "label" and ("=" not in value or value.startswith("=")):
        raise ValueError(f"invalid target {text!r} (a label target is label:KEY=VALUE)")
    return Selector(kind, value)


@dataclass(frozen=True, slots=True)
class Window:
    """One maintenance window. ``id`` is ``config[i]`` for configured windows or the database id
    (as text) for windows added at run time (CLI, bot)."""

    id: str
    selectors: tuple[Selector, ...]
    reason: str = ""
    start: float | None = None  # one-off
    end: float | None = None
    span: ClockSpan | None = None  # recurring

    def matches(self, source: Source) -> bool:
        return any(s.matches(source) for s in self.selectors)

    def intervals(self, since: float, until: float, tz: str) -> list[tuple[float, float]]:
        """The parts of [since, until) this window is active, as (start, end) pairs."""
        if self.span is not None:
            raw = self.span.occurrences(since, until, tz)
        else:
            raw = [(self.start, self.end)] if self.start is not None and self.end is not None else []
        return [(max(s, since), min(e, until)) for s, e in raw if e > since and s < until]

    def active_at(self, when: float, tz: str) -> tuple[float, float] | None:
        """(start, end) of the occurrence active at ``when``, else None."""
        if self.span is not None:
            return self.span.active_at(when, tz)
        if self.start is not None and self.end is not None and self.start <= when < self.end:
            return self.start, self.end
        return None

    def describe(self) -> str:
        targets = ", ".join(str(s) for s in self.selectors)
        return f"{self.id} ({targets}{f': {self.reason}' if self.reason else ''})"


def merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of intervals, sorted and non-overlapping."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


class WindowSet:
    """Every known window (configured and stored) in one timezone."""

    def __init__(self, windows: Sequence[Window] = (), tz: str = "UTC"):
        self.windows = list(windows)
        self.tz = tz

    def active(self, source: Source, now: float) -> tuple[Window, float] | None:
        """The window covering ``source`` at ``now`` that ends last, with that end."""
        best: tuple[Window, float] | None = None
        for w in self.windows:
            if not w.matches(source):
                continue
            span = w.active_at(now, self.tz)
            if span is not None and (best is None or span[1] > best[1]):
                best = (w, span[1])
        return best

    def intervals(self, source: Source, since: float, until: float) -> list[tuple[float, float]]:
        """Merged maintenance time of ``source`` within [since, until)."""
        return merge(i for w in self.windows if w.matches(source) for i in w.intervals(since, until, self.tz))

    def current(self, now: float) -> list[tuple[Window, float, float]]:
        """Windows active at ``now`` with their (start, end), for status pages and ``list``."""
        out = []
        for w in self.windows:
            span = w.active_at(now, self.tz)
            if span is not None:
                out.append((w, *span))
        return out
