"""Uptime from transitions, exactly: scripted sequences on a driven clock, window boundaries, a
source down across the window start, maintenance time excluded; the history store's transitions,
strip and retention; the schedules of recurring windows and reports in a timezone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.events import Event, Source
from monitor.history.store import HistoryStore
from monitor.history.uptime import uptime
from monitor.suppression.schedule import parse_at, parse_span

DAY = 86400.0
T0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC


def test_no_transition_is_fully_up():
    u = uptime(None, [], T0, T0 + DAY)
    assert (u.up_s, u.down_s, u.outages, u.uptime) == (DAY, 0.0, 0, 1.0)


def test_scripted_sequence_is_exact():
    """down 01:00–01:30, down 12:00–12:00:10: 1810 s down, 2 outages, uptime exact."""
    moves = [(T0 + 3600, "down"), (T0 + 5400, "up"), (T0 + 43200, "down"), (T0 + 43210, "up")]
    u = uptime("up", moves, T0, T0 + DAY)
    assert u.down_s == 1810.0 and u.up_s == DAY - 1810.0 and u.outages == 2
    assert u.uptime == (DAY - 1810.0) / DAY


def test_down_across_the_window_start_counts_from_the_start():
    """Down since the day before, up at 02:00: 7200 s down inside the window, one outage."""
    u = uptime("down", [(T0 + 7200, "up")], T0, T0 + DAY)
    assert (u.down_s, u.outages) == (7200.0, 1)


def test_unknown_start_is_inferred_from_the_first_transition():
    """No history before the window and the first transition is an UP: it was down before."""
    assert uptime(None, [(T0 + 60, "up")], T0, T0 + DAY).down_s == 60.0
    assert uptime(None, [(T0 + 60, "down")], T0, T0 + DAY).down_s == DAY - 60.0


def test_window_boundaries_are_half_open():
    """A transition exactly at the window end is outside; one exactly at the start is inside."""
    assert uptime("up", [(T0 + DAY, "down")], T0, T0 + DAY).down_s == 0.0
    u = uptime("up", [(T0, "down"), (T0 + 10, "up")], T0, T0 + DAY)
    assert (u.down_s, u.outages) == (10.0, 1)


def test_still_down_at_the_end_counts_to_the_end():
    u = uptime("up", [(T0 + DAY - 100, "down")], T0, T0 + DAY)
    assert (u.down_s, u.outages) == (100.0, 1)


def test_maintenance_time_is_excluded_from_both_sides():
    """Down 01:00–03:00 with maintenance 01:00–02:00: 3600 s down, 3600 s excluded, uptime over 23 h."""
    moves = [(T0 + 3600, "down"), (T0 + 3 * 3600, "up")]
    u = uptime("up", moves, T0, T0 + DAY, excluded=[(T0 + 3600, T0 + 7200)])
    assert (u.down_s, u.excluded_s, u.up_s) == (3600.0, 3600.0, DAY - 7200.0)
    assert u.uptime == (DAY - 7200.0) / (DAY - 3600.0)
    whole = uptime("up", moves, T0, T0 + DAY, excluded=[(T0 + 3000, T0 + 4 * 3600)])
    assert (whole.down_s, whole.outages) == (0.0, 0)


def _event(kind, name, type_, at):
    return Event(type_, Source(kind, name, "127.0.0.1"), {}, at=datetime.fromtimestamp(at, UTC))


def test_store_transitions_uptime_strip_and_prune(tmp_path):
    store = HistoryStore(tmp_path / "s.db")
    store.record(_event("host", "a", "host.down", T0 - 600))  # down across the start
    store.record(_event("host", "a", "host.up", T0 + 600))
    store.record(_event("router", "a", "router.down", T0 + 100))  # same name, other kind
    store.record(_event("host", "a", "hotspot.login", T0 + 700))  # not a transition
    store.record(_event("host", "a", "host.down", T0 + 3000), suppressed="maintenance config[0]")
    store.record(_event("host", "a", "host.up", T0 + 3600), suppressed="maintenance config[0]")
    store.flush()
    before, moves = store.transitions("host", "a", T0, T0 + DAY)
    assert before == "down" and moves == [(T0 + 600, "up"), (T0 + 3000, "down"), (T0 + 3600, "up")]
    u = store.uptime("host", "a", T0, T0 + DAY, excluded=[(T0 + 3000, T0 + 3600)])
    assert (u.down_s, u.excluded_s, u.outages) == (600.0, 600.0, 1)
    strip = store.strip("host", "a", T0, T0 + 7200, buckets=4)  # 30-minute cells
    assert [c.state for c in strip] == ["partial", "partial", "up", "up"]
    assert strip[0].down_s == 600.0 and strip[1].down_s == 600.0 and strip[2].up_s == 1800.0
    last, announced = store.last_transitions()
    assert last[("host", "a")].type == "host.up" and announced == {("host", "a"): "up", ("router", "a"): "down"}
    recent = store.recent(3)
    assert [e.event.type for e in recent] == ["host.up", "host.down", "hotspot.login"]
    assert recent[0].suppressed == "maintenance config[0]" and not recent[0].sent
    assert store.prune(T0) == 1 and store.count() == 5
    store.close()


def test_report_and_window_schedules_in_the_timezone():
    jakarta = "Asia/Jakarta"  # UTC+7
    daily = parse_at("daily 07:00")
    monday = datetime(2026, 11, 2, 7, 0, tzinfo=ZoneInfo(jakarta)).timestamp()
    assert daily.next_after(monday - 1, jakarta) == monday
    assert daily.next_after(monday, jakarta) == monday + DAY
    assert daily.last_at_or_before(monday, jakarta) == monday
    assert parse_at("MON 07:00").next_after(monday, jakarta) == monday + 7 * DAY
    span = parse_span("sun 23:00-01:00")  # wraps past midnight
    sunday = datetime(2026, 11, 8, 23, 0, tzinfo=ZoneInfo(jakarta)).timestamp()
    assert span.active_at(sunday + 3599, jakarta) == (sunday, sunday + 7200)
    assert span.active_at(sunday + 7200, jakarta) is None and span.active_at(sunday - 1, jakarta) is None
    assert span.occurrences(sunday - 7 * DAY, sunday + 1, jakarta) == [
        (sunday - 7 * DAY, sunday - 7 * DAY + 7200), (sunday, sunday + 7200)]
    for bad in ("daily 7am", "someday 01:00", "sun 25:00"):
        with pytest.raises(ValueError):
            parse_at(bad)
    for bad in ("sun 01:00", "sun 01:00-3", "mon-fri 01:00-02:00"):
        with pytest.raises(ValueError):
            parse_span(bad)


def test_sessions_peak_per_router_in_a_period(tmp_path):
    store = HistoryStore(tmp_path / "s.db")
    store.sample_sessions(T0 - 60, {"core": 999})  # before the period
    store.sample_sessions(T0 + 60, {"core": 120, "edge": 7})
    store.sample_sessions(T0 + 120, {"core": 153, "edge": 5})
    assert store.sessions_peak(T0, T0 + DAY) == {"core": 153, "edge": 7}
    store.close()
