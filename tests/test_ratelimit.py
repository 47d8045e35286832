"""Token buckets and rate parsing used by the outbox (driven by a fake clock, no sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from monitor.delivery.ratelimit import TokenBucket, acquire, parse_rate, parse_rates


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.parametrize("text, expected", [
    ("1/5s", (1, 5.0)), ("20/1m", (20, 60.0)), ("1/s", (1, 1.0)), (" 3 / 500ms ", (3, 0.5)),
    ("100/1h", (100, 3600.0)),
])
def test_parse_rate_accepts_config_forms(text, expected):
    """The documented "N/period" forms parse to (messages, seconds)."""
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "5", "0/1s", "1/0s", "x/1s", "1/5 parsecs", "-1/1s", "1/5s/2"])
def test_parse_rate_rejects_garbage_naming_it(text):
    """Malformed rates are ValueErrors that quote the offending text."""
    with pytest.raises(ValueError) as info:
        parse_rate(text)
    assert repr(text) in str(info.value)


def test_parse_rates_none_empty_off():
    """None/[] mean "notifier default", ["off"] means unlimited, and "off" cannot be mixed."""
    assert parse_rates(None) is None
    assert parse_rates([]) is None
    assert parse_rates(["off"]) == []
    assert parse_rates(["1/s", "20/1m"]) == [(1, 1.0), (20, 60.0)]
    with pytest.raises(ValueError):
        parse_rates(["off", "1/s"])


def test_bucket_burst_then_steady_rate():
    """A full bucket allows a burst of N, then one token per period/N."""
    t = FakeTime()
    bucket = TokenBucket(2, 10.0, t.clock)
    assert bucket.wait_time() == 0
    bucket.take()
    bucket.take()
    assert bucket.wait_time() == pytest.approx(5.0)
    t.now += 4.0
    assert bucket.wait_time() == pytest.approx(1.0)
    t.now += 1.0
    assert bucket.wait_time() == 0
    assert not bucket.is_full()
    t.now += 100.0
    assert bucket.is_full()


def test_bucket_ignores_clock_stepping_back():
    """A wall clock stepping backwards never creates tokens."""
    t = FakeTime()
    bucket = TokenBucket(1, 5.0, t.clock)
    bucket.take()
    t.now -= 1000.0
    assert bucket.wait_time() == pytest.approx(5.0)


async def test_acquire_respects_every_bucket_and_rate():
    """Acquiring over several buckets waits for the strictest and keeps the long-run rate of each."""
    t = FakeTime()
    per_recipient = TokenBucket(1, 1.0, t.clock)
    per_notifier = TokenBucket(3, 10.0, t.clock)
    times = []
    for _ in range(9):
        await acquire([per_recipient, per_notifier], t.sleep)
        times.append(t.now)
    # the 3/10s bucket allows a burst of 3 (paced 1/s by the other), then one per 3.33 s
    assert times[2] - times[0] == pytest.approx(2.0, abs=0.01)
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= 3 + (times[j] - times[i]) * 0.3 + 1e-3
            assert j - i + 1 <= 1 + (times[j] - times[i]) * 1.0 + 1e-3


async def test_acquire_without_buckets_is_immediate():
    """No limits configured: no waiting at all."""
    t = FakeTime()
    assert await acquire([], t.sleep) == 0.0
    assert t.slept == []
