"""Calm reboots: notice that a router rebooted, and hold its subscribers' sessions for a while.

A reboot drops every hotspot/PPP session at once; most subscribers are back within a minute or
two with new ``.id``s. Reporting that as N logouts and N logins is noise (42 messages for 21
users). Instead, while a ``SettleWindow`` is open, sessions that were online before the reboot are
*held* (not ended); one that comes back (same user + MAC, or PPP name + caller-id) is re-attached
silently. When the window closes, the ones still missing end with ``reason: router_rebooted`` and
unknown counters, and one ``router.rebooted`` summary goes to the admins.

A reboot is recognised from ``/system/resource`` uptime read at every connect: the uptime went
backwards, or is shorter than the time since pantau last saw the router (a reboot during a long
outage). Both with a few seconds' tolerance for the uptime's 1 s granularity and clock jitter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config.durations import parse_routeros_duration


@dataclass(frozen=True)
class RebootInfo:
    old_uptime_s: float  # the last uptime seen before the reboot
    uptime_s: float  # the uptime now
    old_version: str | None
    version: str | None


class UptimeTracker:
    """Feed it every uptime seen; it says when one proves a reboot happened."""

    def __init__(self, *, tolerance_s: float = 5.0):
        self.tolerance_s = tolerance_s
        self._last: tuple[float, float, str | None] | None = None  # (uptime, seen at, version)

    def observe(self, resource_row: dict[str, str], now: float) -> RebootInfo | None:
        try:
            uptime = parse_routeros_duration(resource_row["uptime"])
        except (KeyError, ValueError):
            return None
        version = resource_row.get("version") or None
        last, self._last = self._last, (uptime, now, version)
        if last is None:
            return None
        old_uptime, seen_at, old_version = last
        elapsed = max(0.0, now - seen_at)
        # went backwards, or booted after we last saw it (a reboot during a long outage)
        if uptime + self.tolerance_s < old_uptime or uptime + self.tolerance_s < elapsed:
            return RebootInfo(old_uptime_s=old_uptime, uptime_s=uptime, old_version=old_version, version=version)
        return None


def identity(key: str) -> str:
    """A session key without its ``.id`` (``*3|budi|AA:…`` → ``budi|AA:…``): ``.id``s restart on reboot."""
    return key.split("|", 1)[1] if "|" in key else key


@dataclass
class SettleWindow:
    info: RebootInfo
    opened_at: float
    until: float
    held: dict[str, dict[str, dict[str, Any]]]  # menu path → session key → record, online before the reboot
    returned: int = 0
    sessions_before: int = field(init=False)
    # menu path → identity → held keys with it, in held's order: after a reboot nearly every session
    # comes back under a new .id, and a scan of the held sessions for each would be quadratic
    _by_identity: dict[str, dict[str, list[str]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sessions_before = sum(len(v) for v in self.held.values())
        self._by_identity = {}
        for path, keys in self.held.items():
            index: dict[str, list[str]] = {}
            for key in keys:
                index.setdefault(identity(key), []).append(key)
            self._by_identity[path] = index

    def is_held(self, path: str, key: str) -> bool:
        return key in self.held.get(path, {})

    def mark_back(self, path: str, key: str) -> None:
        """A held session is on the router again under the same key (same ``.id`` by chance)."""
        if self.held.get(path, {}).pop(key, None) is not None:
            self.returned += 1

    def take_returning(self, path: str, key: str) -> str | None:
        """The held key this new session continues (and stop holding it), or None for a new subscriber."""
        held = self.held.get(path, {})
        candidates = self._by_identity.get(path, {}).get(identity(key))
        while candidates:
            old = candidates.pop(0)
            if old in held:  # not taken back already (mark_back)
                del held[old]
                self.returned += 1
                return old
        return None

    def remaining(self) -> dict[str, list[str]]:
        return {path: list(keys) for path, keys in self.held.items()}

    def summary(self, ended: int) -> dict[str, Any]:
        i = self.info
        return {"old_uptime_s": round(i.old_uptime_s), "uptime_s": round(i.uptime_s),
                "old_version": i.old_version, "version": i.version, "sessions_before": self.sessions_before,
                "sessions_back": self.returned, "sessions_ended": ended,
                "settle_s": round(self.until - self.opened_at, 3)}
