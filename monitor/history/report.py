"""Uptime reports: a row per host and router for a period, the ``pantau report`` table and the
data of the scheduled ``report.summary`` event (rendered by the notifiers' id/en templates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..config.durations import format_duration
from ..events import Source, format_at
from ..suppression.windows import WindowSet
from .store import HistoryStore
from .uptime import Uptime


@dataclass(frozen=True, slots=True)
class ReportRow:
    source: Source
    uptime: Uptime


def config_sources(config: Any) -> list[Source]:
    """Every configured host and router as a Source (labels included, for maintenance matching)."""
    settings = config.settings
    out = [Source("host", h.name, h.address, dict(h.labels)) for h in settings.hosts]
    out += [Source("router", r.name, r.address, dict(r.labels)) for r in settings.routers]
    return out


def build_rows(store: HistoryStore, sources: Sequence[Source], windows: WindowSet, since: float,
               until: float) -> list[ReportRow]:
    """One row per source, worst uptime first (ties: most downtime, then name)."""
    rows = [ReportRow(s, store.uptime(s.kind, s.name, since, until, windows.intervals(s, since, until)))
            for s in sources]
    return sorted(rows, key=lambda r: (r.uptime.uptime if r.uptime.uptime is not None else 2.0,
                                       -r.uptime.down_s, r.source.kind, r.source.name))


def summary_data(rows: Sequence[ReportRow], peaks: dict[str, int], since: float, until: float, *,
                 period: str, worst: int = 5) -> dict[str, Any]:
    """The ``data`` of a ``report.summary`` event (docs/history.md)."""
    bad = [r for r in rows if r.uptime.down_s > 0][:worst]
    return {
        "period": period,
        "since": format_at(datetime.fromtimestamp(since, UTC)),
        "until": format_at(datetime.fromtimestamp(until, UTC)),
        "sources": len(rows),
        "outages": sum(r.uptime.outages for r in rows),
        "downtime_s": round(sum(r.uptime.down_s for r in rows), 3),
        "maintenance_s": round(max((r.uptime.excluded_s for r in rows), default=0.0), 3),
        "worst": [{"kind": r.source.kind, "name": r.source.name, "uptime": round(r.uptime.uptime or 0.0, 6),
                   "down_s": round(r.uptime.down_s, 3), "outages": r.uptime.outages} for r in bad],
        "sessions_peak": dict(peaks),
    }


def _percent(u: Uptime) -> str:
    value = u.uptime
    return "-" if value is None else f"{value * 100:.3f}%"


def format_table(rows: Sequence[ReportRow], since: float, until: float, tz: str,
                 peaks: dict[str, int] | None = None) -> str:
    """The ``pantau report`` table."""
    zone = ZoneInfo(tz)

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M")

    lines = [f"uptime {when(since)} → {when(until)} ({tz}); maintenance time is not counted"]
    header = f"{'SOURCE':<28} {'KIND':<7} {'UPTIME':>9} {'DOWN':>10} {'OUTAGES':>7} {'MAINT':>8}"
    lines += [header, "-" * len(header)]
    for r in rows:
        u = r.uptime
        lines.append(f"{r.source.name:<28} {r.source.kind:<7} {_percent(u):>9} "
                     f"{format_duration(u.down_s) if u.down_s else '0s':>10} {u.outages:>7} "
                     f"{format_duration(u.excluded_s) if u.excluded_s else '-':>8}")
    if not rows:
        lines.append("(no hosts or routers)")
    total = sum(r.uptime.down_s for r in rows)
    lines.append(f"total downtime {format_duration(total) if total else '0s'} in "
                 f"{sum(r.uptime.outages for r in rows)} outage(s)")
    for router, n in (peaks or {}).items():
        lines.append(f"sessions peak {router}: {n}")
    return "\n".join(lines)
