"""The supervisor: crashes are logged, restarted with backoff, crash loops reported; driven clock."""

from __future__ import annotations

import asyncio

import pytest

from monitor.supervisor import Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def _until(predicate, limit: int = 2000) -> None:
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_crash_is_restarted_with_doubling_backoff_and_reported_when_looping():
    clock = Clock()
    degraded: list[tuple[str, str, int]] = []
    sup = Supervisor(clock=clock, sleep=clock.sleep, backoff=1, max_backoff=8, crash_loop=5, window=300,
                     on_degraded=lambda name, error, n: degraded.append((name, error, n)))
    runs = []

    async def flaky() -> None:
        runs.append(clock.now)
        raise OSError("database is locked")

    sup.spawn("router:core", flaky)
    await _until(lambda: len(runs) >= 7)
    assert clock.sleeps[:6] == [1, 2, 4, 8, 8, 8]
    assert degraded == [("router:core", "OSError: database is locked", 5)]  # reported once
    health = sup.health()["router:core"]
    assert health.degraded and not health.healthy and health.restarts >= 6
    assert health.last_error == "OSError: database is locked"
    assert not sup.healthy
    await sup.aclose()
    assert sup.health()["router:core"].state == "stopped"


async def test_a_task_that_ran_long_starts_again_from_the_short_backoff_and_recovers():
    clock = Clock()
    sup = Supervisor(clock=clock, sleep=clock.sleep, backoff=1, stable_after=60, crash_loop=3, window=100)
    runs = []
    release = asyncio.Event()

    async def task() -> None:
        runs.append(clock.now)
        if len(runs) in (1, 2, 3):
            raise RuntimeError("boom")
        if len(runs) == 4:
            clock.now += 500  # ran a long time, then crashed once more
            raise RuntimeError("late")
        await release.wait()

    sup.spawn("emitter", task)
    await _until(lambda: len(runs) >= 5)
    assert clock.sleeps == [1, 2, 4, 1]
    health = sup.health()["emitter"]  # the three early crashes are outside the window now
    assert not health.degraded and health.state == "running" and health.healthy
    release.set()
    await _until(lambda: len(runs) >= 6)  # an unexpected return is restarted too
    assert sup.health()["emitter"].last_error == "returned"
    await sup.aclose()


async def test_cancel_and_names():
    sup = Supervisor()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    sup.spawn("host-state", forever)
    await started.wait()
    with pytest.raises(ValueError):
        sup.spawn("host-state", forever)
    assert sup.names() == ["host-state"] and sup.healthy
    await sup.cancel("host-state")
    assert sup.names() == [] and sup.health() == {}
    assert await sup.aclose() == []


async def test_a_task_that_ignores_cancellation_does_not_hold_the_stop():
    sup = Supervisor()
    started, done = asyncio.Event(), asyncio.Event()

    async def stubborn() -> None:
        started.set()
        while not done.is_set():
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue

    sup.spawn("stubborn", stubborn)
    await started.wait()
    assert await sup.aclose(grace=0.2) == ["stubborn"]
    done.set()  # let it end so the test's loop can close
