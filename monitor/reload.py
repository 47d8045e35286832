"""What a config reload (SIGHUP) changes: a pure diff of the running and the new config.

``plan_reload(old, new)`` compares hosts, routers and notifiers by name. Whatever is equal is left
running untouched — a host keeps its detector state and schedule, a router watcher its connection
and sessions, a notifier its rate-limit buckets — so a reload announces nothing that did not
change. ``Engine.reload`` applies the plan: also the subscription pollers (per router), the
history's dependency graph, configured maintenance windows and reports, and each notifier's own
supervised task. Settings that only take effect at start-up (``state``, ``icmp``, ``http``, ``log``,
``bot``, ``registration``) are kept as they are and named in ``restart_needed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config.model import Config

__all__ = ["Changes", "ReloadPlan", "RESTART_ONLY", "plan_reload"]

#: Taken at start-up only: the state file and the ICMP socket are opened once; the HTTP server's
#: routes freeze when it starts (the bot's webhooks live there); the registration page's listener
#: and its approval buttons go through the bot.
RESTART_ONLY = ("state", "icmp", "http", "log", "bot", "registration")


@dataclass(frozen=True)
class Changes:
    """Names added, removed, changed (same name, different settings) and unchanged."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
                "unchanged": len(self.unchanged)}


@dataclass(frozen=True)
class ReloadPlan:
    hosts: Changes
    routers: Changes
    notifiers: Changes
    routes_changed: bool
    restart_needed: list[str]  # top-level settings whose change waits for a restart
    history_changed: list[str] = field(default_factory=list)  # dependencies, maintenance, reports, …

    def log_fields(self) -> dict[str, Any]:
        return {"hosts": self.hosts.summary(), "routers": self.routers.summary(),
                "notifiers": self.notifiers.summary(), "routes_changed": self.routes_changed,
                "history_changed": self.history_changed}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> Changes:
    changes = Changes()
    for name, value in new.items():
        if name not in old:
            changes.added.append(name)
        elif old[name] == value:
            changes.unchanged.append(name)
        else:
            changes.changed.append(name)
    changes.removed.extend(name for name in old if name not in new)
    return changes


def _by_name(items: Iterable[Any]) -> dict[str, Any]:
    return {item.name: item for item in items}


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    s_old, s_new = old.settings, new.settings
    return ReloadPlan(
        hosts=diff(_by_name(old.hosts), _by_name(new.hosts)),
        routers=diff(_by_name(s_old.routers), _by_name(s_new.routers)),
        notifiers=diff(_by_name(old.notifiers), _by_name(new.notifiers)),
        routes_changed=old.routes != new.routes,
        restart_needed=[key for key in RESTART_ONLY if getattr(s_old, key) != getattr(s_new, key)],
        history_changed=history_changes(old, new),
    )


def _parents(config: Config) -> dict[str, tuple[Any, Any]]:
    return {h.name: (getattr(h, "parent", None), h.via) for h in config.settings.hosts}


def history_changes(old: Config, new: Config) -> list[str]:
    """What the history service must re-read: ``dependencies`` (parents, or the timings that set
    how long a child's DOWN waits for its parent), ``maintenance``, ``reports``, ``history``,
    ``timezone``."""
    s_old, s_new = old.settings, new.settings
    out = [key for key in ("maintenance", "reports", "history", "timezone") if getattr(s_old, key) != getattr(s_new, key)]
    if (_parents(old), old.hosts, s_old.routers) != (_parents(new), new.hosts, s_new.routers):
        out.insert(0, "dependencies")
    return out
