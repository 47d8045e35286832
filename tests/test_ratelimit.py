"""Rate windows and rate parsing used by the outbox (driven by a fake clock, no sleeping)."""

from __future__ import annotations

import asyncio
import random

import pytest

from monitor.delivery.ratelimit import RateWindow, acquire, parse_rate, parse_rates, try_take


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


def test_window_burst_then_a_window_later_with_its_margin():
    """N may go at once; the next one when the first leaves the window, kept period + margin."""
    t = FakeTime()
    window = RateWindow(2, 10.0, t.clock)
    assert window.window == pytest.approx(10.5)  # 5 % of the period (at least 0.1 s)
    assert RateWindow(50, 1.0, t.clock).window == pytest.approx(1.1)  # at least 0.1 s
    assert window.wait_time() == 0 and window.is_idle()
    window.take()
    t.now += 1.0
    window.take()
    assert window.wait_time() == pytest.approx(9.5)
    t.now += 9.5
    assert window.wait_time() == 0
    window.take()
    assert window.wait_time() == pytest.approx(1.0)  # the second one leaves the window next
    assert not window.is_idle()
    t.now += 100.0
    assert window.is_idle()


def test_window_follows_a_clock_stepping_back():
    """A wall clock stepping backwards neither frees a slot nor stalls for the size of the step."""
    t = FakeTime()
    window = RateWindow(1, 5.0, t.clock)
    window.take()
    t.now -= 1000.0
    assert window.wait_time() == pytest.approx(5.25)
    assert try_take([window]) is False
    t.now += 5.25
    assert try_take([window]) is True


def _strict_bucket_peer(count: int, period: float):
    """A peer that answers 429 above ``count/period``: a token bucket of ``count``, starting full."""
    state = {"tokens": float(count), "at": None}

    def arrive(at: float) -> bool:
        if state["at"] is not None:
            state["tokens"] = min(count, state["tokens"] + (at - state["at"]) * count / period)
        state["at"] = at
        if state["tokens"] < 1.0:
            return False
        state["tokens"] -= 1.0
        return True
    return arrive


def _strict_window_peer(count: int, period: float):
    """A peer that answers 429 to the (count+1)-th request within any ``period``."""
    accepted: list[float] = []

    def arrive(at: float) -> bool:
        if len(accepted) >= count and at - accepted[-count] < period:
            return False
        accepted.append(at)
        return True
    return arrive


@pytest.mark.parametrize("count, period", [(50, 1.0), (1, 1.0), (1, 5.0), (20, 60.0), (3, 0.5)])
@pytest.mark.parametrize("peer", [_strict_bucket_peer, _strict_window_peer])
async def test_jittered_arrivals_never_exceed_a_strict_peer_at_the_same_rate(count, period, peer):
    """Requests leave when acquire() allows and reach the peer up to the margin later, one at a
    time (a lane waits for each answer): a peer enforcing the very same rate never refuses one."""
    rng = random.Random(count * 1000 + int(period * 10))
    t = FakeTime()
    window = RateWindow(count, period, t.clock)
    margin = window.window - period
    arrive, last, refused = peer(count, period), 0.0, 0
    for _ in range(20 * count + 50):
        await acquire([window], t.sleep)
        arrival = max(last, t.now + rng.uniform(0.0, margin))  # in order, each after the one before
        refused += not arrive(arrival)
        last = arrival
        t.now += rng.choice([0.0, 0.0, 0.001, rng.uniform(0, margin)])  # the answer, sometimes slow
    assert refused == 0


def test_without_margin_jitter_does_provoke_refusals():
    """The control for the test above: scheduling exactly at the limit is refused under jitter."""
    rng = random.Random(7)
    t = FakeTime()
    window = RateWindow(50, 1.0, t.clock, margin=False)
    arrive, last, refused = _strict_bucket_peer(50, 1.0), 0.0, 0
    for _ in range(1000):
        wait = window.wait_time()
        t.now += wait
        window.take()
        arrival = max(last, t.now + rng.uniform(0.0, 0.05))
        refused += not arrive(arrival)
        last = arrival
    assert refused > 0


async def test_acquire_respects_every_window_and_rate():
    """Acquiring over several windows waits for the strictest and keeps the long-run rate of each."""
    t = FakeTime()
    per_recipient = RateWindow(1, 1.0, t.clock)
    per_notifier = RateWindow(3, 10.0, t.clock)
    times = []
    for _ in range(9):
        await acquire([per_recipient, per_notifier], t.sleep)
        times.append(t.now)
    # the 3/10s window allows a burst of 3 (paced 1.1 s apart by the other), then 3 per 10.5 s
    assert times[2] - times[0] == pytest.approx(2.2, abs=0.01)
    assert times[3] - times[0] == pytest.approx(10.5, abs=0.01)
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= 3 + (times[j] - times[i]) * 0.3 + 1e-3
            assert j - i + 1 <= 1 + (times[j] - times[i]) * 1.0 + 1e-3


async def test_acquire_without_buckets_is_immediate():
    """No limits configured: no waiting at all."""
    t = FakeTime()
    assert await acquire([], t.sleep) == 0.0
    assert t.slept == []
