"""The pure core: one user's usage and what was already said → the warnings to send now.

Each user is in a *period*: the account as the router defines it now (its id, limits and validity
date). Renewing (a new date, new limits, or the user re-created) starts a new period; everything
else is the same period, however the counters move. Within a period pantau keeps the maximum
counters it has seen, so a router reboot that resets them neither hides a level (the maximum still
counts) nor repeats one (the levels already sent are remembered). Each level is sent once per
period; when several are crossed at once only the most urgent is sent and the others are marked.

Quota levels are fractions of ``limit-bytes-*`` (data) and ``limit-uptime`` (time online); time
levels are seconds before the validity date. Reaching a limit or the date is ``subscriber.expired``.
A user pantau sees for the first time already expired is recorded silently: starting pantau must
not announce every voucher that ran out last year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

QUOTA, EXPIRING, EXPIRED = "subscriber.quota", "subscriber.expiring", "subscriber.expired"


@dataclass(frozen=True)
class Usage:
    """A hotspot user or PPP secret as the router shows it now (counters include the running session;
    a PPP secret has none, only its validity)."""

    router: str
    user: str
    user_id: str
    uptime_s: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    limit_uptime_s: float | None = None
    limit_total: int | None = None
    limit_in: int | None = None
    limit_out: int | None = None
    expires_at: datetime | None = None
    profile: str = ""
    disabled: bool = False
    service: str = "hotspot"  # hotspot | ppp

    @property
    def period(self) -> str:
        expiry = self.expires_at.isoformat() if self.expires_at else "-"
        return "|".join(str(x) for x in (self.user_id, self.limit_uptime_s, self.limit_total, self.limit_in,
                                         self.limit_out, expiry))


@dataclass
class Record:
    """What pantau remembers of one user in its current period (persisted by ``store``)."""

    period: str
    max_uptime_s: float = 0.0
    max_in: int = 0
    max_out: int = 0
    sent: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Levels:
    quota: tuple[float, ...] = (0.80, 0.95)  # fractions of a limit
    time: tuple[float, ...] = (86400.0, 3600.0)  # seconds before the validity date


@dataclass(frozen=True)
class Warning:
    type: str
    data: dict[str, Any]


def evaluate(usage: Usage, record: Record | None, levels: Levels, now: datetime) -> tuple[Record, list[Warning]]:
    """The user's record after this observation, and the warnings to send (in order)."""
    first_sight = record is None
    if record is None or record.period != usage.period:
        record = Record(usage.period)
    record.max_uptime_s = max(record.max_uptime_s, usage.uptime_s)
    record.max_in = max(record.max_in, usage.bytes_in)
    record.max_out = max(record.max_out, usage.bytes_out)
    if usage.disabled:
        return record, []
    base = {"user": usage.user, "router": usage.router, "profile": usage.profile, "service": usage.service,
            "expires_at": usage.expires_at.isoformat() if usage.expires_at else None}
    out: list[Warning] = []
    expired: tuple[str, dict[str, Any]] | None = None
    for kind, used, limit in _quotas(usage, record):
        fraction = used / limit
        detail = {"kind": kind, "used": used, "limit": limit, "percent": round(100 * fraction, 1)}
        if fraction >= 1:
            expired = expired or (kind, detail)
            continue
        crossed = [level for level in levels.quota if fraction >= level]
        if crossed and _mark(record, [f"{kind}:{level:g}" for level in crossed]):
            out.append(Warning(QUOTA, {**base, **detail, "level": round(100 * max(crossed))}))
    if usage.expires_at is not None:
        remaining = (usage.expires_at - now).total_seconds()
        if remaining <= 0:
            expired = expired or ("validity", {"kind": "validity", "remaining_s": 0})
        else:
            crossed = [level for level in levels.time if remaining <= level]
            if crossed and _mark(record, [f"time:{level:g}" for level in crossed]):
                out.append(Warning(EXPIRING, {**base, "kind": "validity", "level_s": int(min(crossed)),
                                              "remaining_s": int(remaining)}))
    if expired is not None and _mark(record, ["expired"]) and not first_sight:
        out.append(Warning(EXPIRED, {**base, **expired[1], "reason": expired[0]}))
    return record, out


def _quotas(usage: Usage, record: Record) -> list[tuple[str, float, float]]:
    found: list[tuple[str, float, float]] = []
    if usage.limit_total:
        found.append(("data", record.max_in + record.max_out, usage.limit_total))
    else:  # separate limits: the one closer to its end speaks
        pairs = [(record.max_in, usage.limit_in), (record.max_out, usage.limit_out)]
        pairs = [(used, limit) for used, limit in pairs if limit]
        if pairs:
            used, limit = max(pairs, key=lambda p: p[0] / p[1])
            found.append(("data", used, limit))
    if usage.limit_uptime_s:
        found.append(("uptime", record.max_uptime_s, usage.limit_uptime_s))
    return found


def _mark(record: Record, keys: list[str]) -> bool:
    """Mark ``keys`` as sent; True when at least one was new (something to say)."""
    new = [k for k in keys if k not in record.sent]
    record.sent.update(keys)
    return bool(new)
