"""``pantau report``: uptime per host and router from the history (maintenance time not counted)."""

from __future__ import annotations

import sys
import time

from ..config.durations import parse_duration
from ..config.model import Config
from ..history.report import build_rows, config_sources, format_table
from ..history.store import HistoryStore
from ..suppression.store import MaintenanceStore
from ..suppression.windows import WindowSet


def report_command(config: Config, *, since: str = "7d", host: str | None = None, router: str | None = None,
                   now: float | None = None) -> int:
    try:
        span = parse_duration(since)
    except ValueError as exc:
        print(f"pantau: --since: {exc} (write e.g. 24h, 7d, 30d)", file=sys.stderr)
        return 2
    if span <= 0:
        print("pantau: --since: must be greater than 0", file=sys.stderr)
        return 2
    sources = config_sources(config)
    if host is not None or router is not None:
        sources = [s for s in sources if (s.kind, s.name) in {("host", host), ("router", router)}]
        if not sources:
            which = f"host {host!r}" if host is not None else f"router {router!r}"
            print(f"pantau: no {which} in the config", file=sys.stderr)
            return 2
    until = time.time() if now is None else now
    begin = until - span
    s = config.settings
    path = s.state.path
    with MaintenanceStore(path) as maintenance:
        stored = [w.window() for w in maintenance.list(since=begin)]
    windows = WindowSet([w.window(i, s.timezone) for i, w in enumerate(s.maintenance)] + stored, s.timezone)
    store = HistoryStore(path)
    try:
        rows = build_rows(store, sources, windows, begin, until)
        peaks = store.sessions_peak(begin, until) if host is None else {}
    finally:
        store.close()
    print(format_table(rows, begin, until, s.timezone, peaks))
    return 0
