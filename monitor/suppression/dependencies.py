"""Dependencies between sources (pure): ``parent:`` on hosts and the implicit parent of a host
``via:`` a router. A key is ``(kind, name)`` with kind ``host`` or ``router``.

``dependency_problems`` validates a config (unknown parents, ambiguous names, cycles) and reports
each problem by its path; :class:`DependencyGraph` answers ancestors/descendants and the time a
parent needs to be detected (how long a child's DOWN is held back waiting for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

Key = tuple[str, str]


def _parent_ref(host: Any) -> tuple[str | None, str]:
    """(reference text, field name) of a host's parent: ``parent`` wins over ``via``."""
    parent = getattr(host, "parent", None)
    if parent:
        return str(parent), "parent"
    via = getattr(host, "via", None)  # set by hosts behind a router (routers' `via:` field)
    return (f"router:{via}" if via else None), "via"


def _resolve(ref: str, hosts: set[str], routers: set[str]) -> tuple[Key | None, str | None]:
    kind, sep, name = ref.partition(":")
    if sep and kind in ("host", "router"):
        known = hosts if kind == "host" else routers
        return ((kind, name), None) if name in known else (None, f"unknown {kind} {name!r}")
    if ref in hosts and ref in routers:
        return None, f"{ref!r} is both a host and a router: write host:{ref} or router:{ref}"
    if ref in hosts:
        return ("host", ref), None
    if ref in routers:
        return ("router", ref), None
    return None, f"unknown parent {ref!r} (no host or router of that name)"


def resolve_parents(hosts: Sequence[Any], routers: Sequence[Any]) -> tuple[dict[Key, Key], list[str]]:
    """Each host's parent key, and the problems found (by config path)."""
    host_names = {h.name for h in hosts}
    router_names = {r.name for r in routers}
    parents: dict[Key, Key] = {}
    problems: list[str] = []
    for i, host in enumerate(hosts):
        ref, field = _parent_ref(host)
        if ref is None:
            continue
        key, problem = _resolve(ref, host_names, router_names)
        if problem and field == "via":
            continue  # an unknown via: router is reported by the via: check itself
        if problem:
            problems.append(f"hosts[{i}].{field}: {problem}")
        elif key == ("host", host.name):
            problems.append(f"hosts[{i}].{field}: a host cannot be its own parent")
        elif key is not None:
            parents[("host", host.name)] = key
    index: dict[str, int] = {}  # name → position, built only when a cycle is reported
    reported: set[Key] = set()
    for start in parents:
        path, seen = [start], {start}
        node = start
        while node in parents:
            node = parents[node]
            if node in seen:
                cycle = path[path.index(node):] + [node]
                if not reported & set(cycle):
                    index = index or {h.name: i for i, h in enumerate(hosts)}
                    names = " → ".join(n for _, n in cycle)
                    problems.append(f"hosts[{index[node[1]]}].{_parent_ref(hosts[index[node[1]]])[1]}: "
                                    f"dependency cycle {names}")
                    reported.update(cycle)
                break
            path.append(node)
            seen.add(node)
    return parents, problems


def dependency_problems(hosts: Sequence[Any], routers: Sequence[Any]) -> list[str]:
    return resolve_parents(hosts, routers)[1]


@dataclass(frozen=True)
class DependencyGraph:
    """``parents`` maps a child to its parent; ``hold`` is how long to wait for a parent to be
    detected DOWN (per parent), ``settle`` how long a source needs to be detected UP again."""

    parents: Mapping[Key, Key]
    hold: Mapping[Key, float]
    settle: Mapping[Key, float]

    @classmethod
    def empty(cls) -> DependencyGraph:
        return cls({}, {}, {})

    def ancestors(self, key: Key) -> list[Key]:
        out: list[Key] = []
        node = key
        while node in self.parents and len(out) <= len(self.parents):
            node = self.parents[node]
            out.append(node)
        return out

    @cached_property
    def children(self) -> dict[Key, list[Key]]:
        out: dict[Key, list[Key]] = {}
        for child, parent in self.parents.items():
            out.setdefault(parent, []).append(child)
        return out

    def descendants(self, key: Key) -> list[Key]:
        """Every host behind ``key``, breadth first (an index, so a mass outage stays linear)."""
        out: list[Key] = []
        seen = {key}
        queue = [key]
        while queue:
            for child in self.children.get(queue.pop(0), ()):
                if child not in seen:
                    seen.add(child)
                    out.append(child)
                    queue.append(child)
        return out

    def hold_for(self, key: Key) -> float:
        """How long a DOWN of ``key`` waits for its ancestors to be detected (the longest)."""
        return max((self.hold.get(a, 0.0) for a in self.ancestors(key)), default=0.0)


def build_graph(hosts: Sequence[Any], routers: Sequence[Any], checks: Sequence[Any]) -> DependencyGraph:
    """The graph of a validated config: ``hosts`` are the raw host configs (``parent``/``via``),
    ``checks`` the hosts with defaults applied (interval, count, timeout, down_after, up_after)."""
    parents, _ = resolve_parents(hosts, routers)
    hold: dict[Key, float] = {}
    settle: dict[Key, float] = {}
    for h in checks:
        hold[("host", h.name)] = h.interval * h.down_after + h.count * h.timeout
        settle[("host", h.name)] = h.interval * (h.up_after + 1) + h.count * h.timeout
    for r in routers:
        hold[("router", r.name)] = r.poll_interval * r.down_after + r.timeout
        settle[("router", r.name)] = r.poll_interval + r.timeout
    return DependencyGraph(parents, hold, settle)
