"""The suppression core (pure): between the detector and delivery, decide for every event whether
it is sent, or recorded as suppressed with a reason — and which extra events fall due later.

Inputs are the event, the windows, the dependency graph and ``now``; state is two maps per source
key ``(kind, name)``: ``actual`` (the last detected state, sent or not) and ``announced`` (the last
state the operator was told). Rules (docs/maintenance.md):

* A source inside a maintenance window: every event suppressed; at the window's end it is
  *reconciled* — told its state if that differs from what it was last told (still down → one DOWN;
  recovered → nothing, since no DOWN was announced; flapped → per the final state).
* A host whose parent (or any ancestor) is DOWN: its transitions are suppressed. The parent's own
  DOWN carries ``behind`` (how many hosts depend on it). When the parent is detected UP again,
  each descendant is reconciled after the time it needs to be detected UP (``settle``), so only
  children still down are announced, once each.
* A child's DOWN while its parents look fine is held back ``hold`` seconds (the time its parent
  needs to be detected): if the parent goes DOWN meanwhile the child's DOWN is suppressed; if the
  child recovers meanwhile both are suppressed; otherwise it is sent when the hold ends.
* An UP whose DOWN was never announced is suppressed (no stray "up").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..events import Event, format_at
from .dependencies import DependencyGraph, Key
from .windows import WindowSet

TRANSITIONS = {"host.down": "down", "host.up": "up", "router.down": "down", "router.up": "up"}
#: Categories a maintenance window silences: the source's state and its sessions. Warnings to
#: subscribers (quota, expiry) and pantau's own messages are not about the window and go out.
MAINTAINED = ("host", "router", "hotspot", "ppp")
#: The reason recorded for a DOWN held back for its parent; a second outcome settles it later.
HELD = "held: waiting for its parent to be checked"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One event and what to do with it: send (``suppressed is None``) or record as suppressed."""

    event: Event
    suppressed: str | None = None

    @property
    def sent(self) -> bool:
        return self.suppressed is None


def _key(event: Event) -> Key:
    return event.source.kind, event.source.name


def _at(now: float) -> datetime:
    at = datetime.fromtimestamp(now, UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Suppressor:
    def __init__(self, graph: DependencyGraph | None = None, windows: WindowSet | None = None, *,
                 actual: dict[Key, str] | None = None, announced: dict[Key, str] | None = None,
                 last: dict[Key, Event] | None = None, now: float = 0.0):
        self.graph = graph or DependencyGraph.empty()
        self.windows = windows or WindowSet()
        self.actual: dict[Key, str] = dict(actual or {})
        self.announced: dict[Key, str] = dict(announced or {})
        self.last: dict[Key, Event] = dict(last or {})  # last transition event per source
        self.held: dict[Key, tuple[Event, float]] = {}  # child DOWNs waiting for their parent
        self.pending: dict[Key, tuple[float, str]] = {}  # reconcile at (time, why)
        for key, state in self.actual.items():  # after a restart: anything told differently is due,
            if self._differs(key, state) and key in self.last:  # once it had time to be seen again
                self.pending[key] = (now + self.graph.settle.get(key, 0.0), "restart")

    # -- public ---------------------------------------------------------------------------------

    def decide(self, event: Event, now: float) -> list[Outcome]:
        """The outcomes of one incoming event: usually one; a held DOWN gives an outcome with the
        reason ``HELD`` now and its final outcome later (from ``decide`` or ``due``); a parent going
        down also settles its held children as suppressed."""
        key = _key(event)
        state = TRANSITIONS.get(event.type)
        out: list[Outcome] = []
        previous = self.actual.get(key)
        if state is not None:
            self.actual[key] = state
            self.last[key] = event
            out += self._parent_moved(key, previous, state, now)
        window = self.windows.active(event.source, now) if event.category in MAINTAINED else None
        if window is not None:
            w, end = window
            if state is not None:
                self.pending[key] = (end, "maintenance")
                out += self._drop_held(key, f"maintenance {w.describe()}")
            return [*out, Outcome(event, f"maintenance {w.describe()}")]
        if state is None:
            return [*out, Outcome(event)]
        down_parent = self._down_ancestor(key)
        if down_parent is not None:
            out += self._drop_held(key, f"parent {down_parent[1]} down")
            return [*out, Outcome(event, f"parent {down_parent[1]} down")]
        if state == "down":
            hold = self.graph.hold_for(key)
            if hold > 0 and self.announced.get(key) != "down":
                self.held[key] = (event, now + hold)
                return [*out, Outcome(event, HELD)]
            return [*out, self._send(key, event)]
        if key in self.held:
            held, _ = self.held.pop(key)
            reason = "recovered within the dependency hold"
            return [*out, Outcome(held, reason), Outcome(event, reason)]
        if previous == "down" and self.announced.get(key) != "down":
            return [*out, Outcome(event, "its down was not announced")]
        return [*out, self._send(key, event)]

    def due(self, now: float) -> list[Outcome]:
        """Held DOWNs whose hold ended and reconciliations that fell due, at ``now``."""
        out: list[Outcome] = []
        for key, (event, until) in list(self.held.items()):
            if until <= now:
                del self.held[key]
                parent = self._down_ancestor(key)
                out.append(Outcome(event, f"parent {parent[1]} down") if parent else self._send(key, event))
        for key, (at, why) in list(self.pending.items()):
            if at > now:
                continue
            del self.pending[key]
            out += self._reconcile(key, why, now)
        return out

    def next_due(self) -> float | None:
        times = [t for _, t in self.held.values()] + [t for t, _ in self.pending.values()]
        return min(times, default=None)

    def windows_changed(self, windows: WindowSet, now: float) -> None:
        """New window set (one added or ended at run time): reconcile anything no longer covered."""
        self.windows = windows
        for key, (at, why) in list(self.pending.items()):
            if why == "maintenance" and at > now and self.last.get(key) is not None:
                if self.windows.active(self.last[key].source, now) is None:
                    self.pending[key] = (now, why)

    # -- internals ------------------------------------------------------------------------------

    def _differs(self, key: Key, state: str) -> bool:
        told = self.announced.get(key, "up")  # never told anything = nothing is wrong
        return state != told

    def _send(self, key: Key, event: Event) -> Outcome:
        state = TRANSITIONS[event.type]
        self.announced[key] = state
        if state == "down":
            behind = len(self.graph.descendants(key))
            if behind:
                event = replace(event, data={**event.data, "behind": behind})
        return Outcome(event)

    def _down_ancestor(self, key: Key) -> Key | None:
        return next((a for a in self.graph.ancestors(key) if self.actual.get(a) == "down"), None)

    def _drop_held(self, key: Key, reason: str) -> list[Outcome]:
        held = self.held.pop(key, None)
        return [Outcome(held[0], reason)] if held else []

    def _parent_moved(self, key: Key, previous: str | None, state: str, now: float) -> list[Outcome]:
        """A parent went down: children held back are suppressed. A parent came up: its
        descendants are reconciled once they had time to be detected up."""
        if previous == state:
            return []
        out: list[Outcome] = []
        for child in self.graph.descendants(key):
            if state == "down":
                out += self._drop_held(child, f"parent {key[1]} down")
            elif child in self.last:
                at = now + self.graph.settle.get(child, 0.0)
                current = self.pending.get(child)
                self.pending[child] = (max(at, current[0]) if current else at, f"parent:{key[1]}")
        return out

    def _reconcile(self, key: Key, why: str, now: float) -> list[Outcome]:
        last = self.last.get(key)
        if last is None:
            return []
        window = self.windows.active(last.source, now)
        if window is not None:
            self.pending[key] = (window[1], "maintenance")
            return []
        if self._down_ancestor(key) is not None:
            return []  # the ancestor's return reconciles it
        state = self.actual.get(key)
        if state is None or not self._differs(key, state):
            return []
        kind, _, parent = why.partition(":")
        extra = {"reconciled": kind, "since": format_at(last.at), **({"parent": parent} if parent else {})}
        event = Event(last.type, last.source, {**last.data, **extra}, at=_at(now))
        return [self._send(key, event)]
