"""The status page reads the history wing: recent events (sent and suppressed), 24 h strips from
stored transitions (not just the engine's last 1,000 events) and the maintenance windows in force."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

from monitor.events import Event, Source
from monitor.history.store import HistoryStore
from monitor.hosts.detector import State
from monitor.suppression.windows import Window, WindowSet, parse_selector
from monitor.web.status_source import HistoryStatusSource


def _event(kind: str, name: str, at: float) -> Event:
    return Event(kind, Source(kind="host", name=name), {}, at=datetime.fromtimestamp(at, UTC))


def test_strips_events_and_windows_come_from_history(tmp_path):
    now = time.time()
    store = HistoryStore(tmp_path / "state.db")
    store.record(_event("host.down", "ap-1", now - 19.8 * 3600))
    store.record(_event("host.up", "ap-1", now - 19.6 * 3600), suppressed="maintenance")
    store.record(_event("host.down", "ap-1", now - 1800))
    store.flush()
    windows = WindowSet([Window("0", (parse_selector("host:ap-*"),), "ganti kabel", now - 600, now + 3000)])
    monitors = {name: SimpleNamespace(detector=SimpleNamespace(state=state))
                for name, state in (("ap-1", State.DOWN), ("ap-2", State.UP))}
    engine = SimpleNamespace(monitors=monitors, emitted=[])
    source = HistoryStatusSource(engine, SimpleNamespace(store=store, windows=windows))

    strips = source.host_strips(["ap-1", "ap-2"], now)
    assert len(strips["ap-1"]) == 24 and strips["ap-2"] == ["up"] * 24  # never announced: up all day
    assert strips["ap-1"][3] == "up" and strips["ap-1"][4] == "mixed" and strips["ap-1"][10] == "up" and strips["ap-1"][-1] == "mixed"
    recent = source.recent_events(10)
    assert [e.type for e in recent] == ["host.down", "host.up", "host.down"]  # newest first, suppressed too
    [window] = source.maintenance()
    assert (window.target, window.reason) == ("host:ap-*", "ganti kabel") and window.end == now + 3000
    store.close()
