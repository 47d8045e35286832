"""No silent drop: the pace is sized from the hosts, and every skipped or late check is counted
and reported (issue 13, item 1)."""

from __future__ import annotations

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from monitor.config.model import parse_config
from monitor.errors import ConfigError, ProbeError
from monitor.hosts.icmp.scheduler import IcmpScheduler
from monitor.hosts.open_probe import open_probe
from monitor.hosts.pace import check_duration, echoes_per_second, pace_warning, sized_pps


class _H:
    def __init__(self, interval: float, count: int):
        self.interval, self.count = interval, count


def test_the_shipped_defaults_keep_10k_hosts_on_time():
    hosts = [_H(10.0, 3)] * 10_000
    assert echoes_per_second(hosts) == pytest.approx(3000)
    assert sized_pps("auto", hosts) == 3750  # need × 1.25 headroom
    assert sized_pps("auto", [_H(10.0, 1)] * 10) == 2000  # never below the old default
    assert sized_pps(500, hosts) == 500  # an explicit pace is respected ...
    warning = pace_warning(2000, hosts)  # ... and reported with the numbers
    assert warning is not None and "2000 echoes/s allowed" in warning and "3,000/s" in warning
    assert "at least 3750" in warning
    assert pace_warning("auto", hosts) is None and pace_warning(3000, hosts) is None


def test_check_duration():
    assert check_duration(10.0, 3, 1.0) == pytest.approx(1.4)
    assert check_duration(1.0, 1, 1.0) == 1.0


@pytest.mark.parametrize(("host", "message"), [
    ({"interval": "1s", "timeout": "1s", "count": 1}, "not less than the interval (1s)"),
    ({"interval": "5s", "timeout": "4s", "count": 6}, "a check takes up to 5s"),
])
def test_a_check_as_long_as_its_interval_is_rejected(host, message):
    with pytest.raises(ConfigError) as err:
        parse_config({"hosts": [{"name": "a", "address": "127.0.0.1", **host}]}, env={})
    assert any(p.startswith("hosts[0]: ") and message in p for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("value", [0, -5, "fast", True, 1.5])
def test_bad_pps(value):
    with pytest.raises(ConfigError) as err:
        parse_config({"icmp": {"pps": value}}, env={})
    assert any(p.startswith("icmp.pps: must be auto or a whole number") for p in err.value.problems)


class _HeldEngine:
    """An engine whose checks never finish: every later slot of that host finds it busy."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, address, *, count, timeout, interval, on_done) -> None:
        self.submitted.append(address)


async def _until(predicate, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_busy_slots_are_counted_and_logged_at_most_once_a_minute():
    engine = _HeldEngine()
    with capture_logs() as logs:
        scheduler = IcmpScheduler(engine, lambda key, result: None, tick=0.005)  # type: ignore[arg-type]
        scheduler.add("slow", "127.0.0.1", interval=0.01, first_in=0)
        await _until(lambda: scheduler.skipped >= 10)
        await scheduler.aclose()
    assert engine.submitted == ["127.0.0.1"] and scheduler.stats["scheduled"] == 1
    lines = [entry for entry in logs if entry["event"] == "icmp.checks_skipped"]
    assert len(lines) == 1 and lines[0]["log_level"] == "warning" and lines[0]["skipped"] >= 1


async def test_a_stalled_loop_counts_the_missed_slots_as_late():
    got: list[object] = []
    engine = _HeldEngine()
    scheduler = IcmpScheduler(engine, lambda key, result: got.append(key), tick=0.005)  # type: ignore[arg-type]
    scheduler.add("h", "127.0.0.1", interval=0.01, first_in=0)
    await _until(lambda: engine.submitted)
    time.sleep(0.2)  # noqa: ASYNC251 - the loop is blocked: this is the stall being tested
    await _until(lambda: scheduler.late + scheduler.skipped >= 15)
    await scheduler.aclose()
    assert scheduler.late >= 10


async def test_an_explicit_pace_below_the_need_is_logged_at_start(engine):
    """Through open_probe, as `pantau run` opens it: the numbers are in the warning line."""
    from monitor.config.model import IcmpConfig

    hosts = parse_config({"hosts": [{"name": f"h{i}", "address": f"127.0.3.{i + 1}", "interval": "1s",
                                     "timeout": "500ms", "count": 3} for i in range(10)]}, env={}).hosts
    with capture_logs() as logs:
        try:
            probe = await open_probe(IcmpConfig(pps=20), hosts)
        except ProbeError as exc:
            pytest.skip(f"no ICMP permission here: {exc}")
        await probe.aclose()
    line = next(entry for entry in logs if entry["event"] == "icmp.pace_too_low")
    assert line["needed"] == 30 and line["allowed"] == 20
    with capture_logs() as logs:
        probe = await open_probe(IcmpConfig(), hosts)
        assert probe.pps == 2000  # auto
        await probe.aclose()
    assert not [entry for entry in logs if entry["event"] == "icmp.pace_too_low"]
