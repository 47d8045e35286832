"""Uptime from transitions (pure): exact seconds up and down in a window, not sampled.

The state at the window's start is the last transition before it; with none recorded it is
inferred from the first transition inside (a first ``up`` means it was down before) and, with no
transition at all, the source counts as up (pantau records every DOWN; a source that never went
down was up). Maintenance time is *excluded*: it counts neither as up nor as down, and
``uptime`` is up / (up + down) over the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Uptime:
    since: float
    until: float
    up_s: float
    down_s: float
    excluded_s: float  # maintenance
    outages: int  # down periods that overlap the window (outside maintenance)

    @property
    def uptime(self) -> float | None:
        """Fraction 0..1 of the measured time the source was up; None if nothing was measured."""
        measured = self.up_s + self.down_s
        return None if measured <= 0 else self.up_s / measured

    @property
    def state(self) -> str:
        """For a strip cell: ``up``, ``down``, ``partial`` (both) or ``excluded`` (all maintenance)."""
        if self.up_s <= 0 and self.down_s <= 0:
            return "excluded"
        if self.down_s <= 0:
            return "up"
        return "down" if self.up_s <= 0 else "partial"


def segments(before: str | None, moves: Sequence[tuple[float, str]], since: float,
             until: float) -> list[tuple[float, float, str]]:
    """[since, until) cut into (start, end, state) by the transitions ``moves`` (sorted)."""
    state = before
    if state is None:
        state = ("up" if moves[0][1] == "down" else "down") if moves else "up"
    out: list[tuple[float, float, str]] = []
    at = since
    for t, new in moves:
        t = min(max(t, since), until)
        if t > at:
            out.append((at, t, state))
            at = t
        state = new
    if until > at:
        out.append((at, until, state))
    return out


def _overlap(a: float, b: float, intervals: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in intervals)


def measure(segs: Iterable[tuple[float, float, str]], since: float, until: float,
            excluded: Iterable[tuple[float, float]] = ()) -> Uptime:
    """Up/down/excluded seconds of ``segs`` clipped to [since, until)."""
    excluded = [(max(s, since), min(e, until)) for s, e in excluded if e > since and s < until]
    up = down = 0.0
    outages = 0
    previous = None
    for a, b, state in segs:
        a, b = max(a, since), min(b, until)
        if b <= a:
            continue
        measured = (b - a) - _overlap(a, b, excluded)
        if state == "down":
            down += measured
            if previous != "down" and measured > 0:
                outages += 1
        else:
            up += measured
        previous = state
    total_excluded = sum(e - s for s, e in excluded)
    return Uptime(since, until, up, down, total_excluded, outages)


def uptime(before: str | None, moves: Sequence[tuple[float, str]], since: float, until: float,
           excluded: Iterable[tuple[float, float]] = ()) -> Uptime:
    """The uptime of one source in [since, until) from its transitions (see the module doc)."""
    return measure(segments(before, moves, since, until), since, until, excluded)
