"""The detector: a pure state machine turning check outcomes into state transitions.

No I/O and no clock of its own: every call passes ``now`` (seconds, any monotonic-ish origin the
caller chooses consistently). States start ``unknown``; ``down_after`` consecutive failures make a
host DOWN, ``up_after`` consecutive successes make it UP. The first established state is reported
as a transition from ``unknown`` — callers announce a first DOWN and stay silent on a first UP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Transition:
    previous: State
    current: State
    at: float  # the ``now`` of the observation that completed the streak
    streak: int  # consecutive observations that led here (checks_failed / checks_ok)
    previous_since: float | None  # when ``previous`` began (None for unknown)

    @property
    def duration_in_previous(self) -> float | None:
        """How long the previous state lasted, e.g. ``down_for_s`` on an UP."""
        return None if self.previous_since is None else max(0.0, self.at - self.previous_since)

    @property
    def announce(self) -> bool:
        """Whether to emit an event: everything except the silent first UP."""
        return not (self.previous is State.UNKNOWN and self.current is State.UP)


class Detector:
    """Debounces one target's boolean check results."""

    __slots__ = ("down_after", "up_after", "state", "since", "_fails", "_oks")

    def __init__(self, down_after: int, up_after: int, *, state: State = State.UNKNOWN,
                 since: float | None = None):
        if down_after < 1 or up_after < 1:
            raise ValueError("down_after and up_after must be at least 1")
        self.down_after = down_after
        self.up_after = up_after
        self.state = state
        self.since = since
        self._fails = 0
        self._oks = 0

    def observe(self, ok: bool, now: float) -> Transition | None:
        """Feed one check result; return the transition it completes, if any."""
        if ok:
            self._oks += 1
            self._fails = 0
            if self.state is not State.UP and self._oks >= self.up_after:
                return self._move(State.UP, now, self._oks)
        else:
            self._fails += 1
            self._oks = 0
            if self.state is not State.DOWN and self._fails >= self.down_after:
                return self._move(State.DOWN, now, self._fails)
        return None

    def _move(self, new: State, now: float, streak: int) -> Transition:
        t = Transition(previous=self.state, current=new, at=now, streak=streak, previous_since=self.since)
        self.state = new
        self.since = now
        return t
