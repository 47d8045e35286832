"""The interval scheduler over the real engine and loopback hosts (127.0.0.0/8)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from monitor.hosts.icmp.scheduler import IcmpScheduler


async def test_each_host_is_checked_at_its_own_fixed_rate_from_a_random_offset(engine):
    """Every host gets one result per interval, first within its interval, and phases differ per host.

    Intervals of 0.5 s leave a busy machine room: phases are 0.125 s apart, checked to ±0.1 s."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    seen: dict[object, list[float]] = defaultdict(list)
    offsets = iter([0.0, 0.25, 0.5, 0.75] * 50)
    scheduler = IcmpScheduler(engine, lambda key, r: seen[key].append(loop.time() - start) if r.received else None,
                              tick=0.01, rng=lambda: next(offsets))
    for i in range(200):
        scheduler.add(i, f"127.2.0.{i + 1}", interval=0.5, timeout=2.0)
    await asyncio.sleep(1.6)
    await scheduler.aclose()
    assert len(seen) == 200
    firsts: dict[float, list[float]] = defaultdict(list)
    for key, times in seen.items():
        phase = [0.0, 0.25, 0.5, 0.75][key % 4] * 0.5
        firsts[phase].append(times[0])
        assert phase - 0.02 <= times[0] <= phase + 0.5, (key, times)  # first within its own interval
        assert 2 <= len(times) <= 4, (key, times)  # 3-4 normally; a stalled loop skips a slot
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(0.25 <= g <= 1.6 for g in gaps), (key, gaps)  # never twice a slot; skipped slots allowed
    for phase, group in firsts.items():  # the phases really differ: each group's median sits on its phase
        assert sorted(group)[len(group) // 2] == pytest.approx(phase, abs=0.1), (phase, sorted(group))


async def test_a_check_longer_than_the_interval_skips_slots_and_removed_hosts_go_quiet(engine):
    """A host still being checked is not checked again (no pile-up); a removed host reports no more."""
    results: dict[object, list] = defaultdict(list)
    scheduler = IcmpScheduler(engine, lambda key, r: results[key].append(r), tick=0.01)
    # three echoes 0.1 s apart take ≥0.2 s, the interval is 0.05 s
    scheduler.add("slow", "127.0.0.1", interval=0.05, count=3, echo_interval=0.1, first_in=0)
    scheduler.add("gone", "127.0.0.2", interval=0.05, first_in=0)
    await asyncio.sleep(0.12)
    scheduler.remove("gone")
    reported = len(results["gone"])
    await asyncio.sleep(0.35)
    await scheduler.aclose()
    assert 1 <= reported and len(results["gone"]) == reported
    assert 1 <= len(results["slow"]) <= 2 and scheduler.skipped >= 4
    assert all(r.sent == 3 and r.received == 3 for r in results["slow"])
    assert len(scheduler) == 0


async def test_a_raising_consumer_does_not_stop_the_schedule(engine):
    """on_result raising for one host leaves the other hosts' results flowing."""
    got: list[str] = []

    def on_result(key, result):
        if key == "bad":
            raise ValueError("consumer bug")
        got.append(key)

    scheduler = IcmpScheduler(engine, on_result, tick=0.01)
    scheduler.add("bad", "127.0.0.3", interval=0.05, first_in=0)
    scheduler.add("good", "127.0.0.4", interval=0.05, first_in=0)
    await asyncio.sleep(0.18)
    await scheduler.aclose()
    assert got.count("good") >= 3
