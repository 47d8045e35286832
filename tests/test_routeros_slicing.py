"""Large deltas are applied in slices (issue 13 item 4): a burst of listen updates or a big poll
snapshot hands the event loop back every few rows, keeps the router's order and delivers every
change exactly once, and another router's change is applied before the burst is over. Polls start
on a fixed grid. Driven by counting event-loop iterations and by order, never by wall time."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until
from structlog.testing import capture_logs

from monitor.events import Event
from monitor.routeros.known import KnownSessions
from monitor.routeros.pacing import FixedRate
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher

BURST = 600


class LoopTicks:
    """Counts event-loop iterations: a task that yields once per iteration."""

    def __init__(self) -> None:
        self.n = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.n += 1

    async def __aenter__(self) -> LoopTicks:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


class TickRecorder(Recorder):
    """A Recorder that also notes the loop iteration each event was emitted in."""

    def __init__(self, ticks: LoopTicks) -> None:
        super().__init__()
        self.ticks = ticks
        self.at: list[int] = []

    async def __call__(self, event: Event) -> None:
        self.at.append(self.ticks.n)
        await super().__call__(event)


def longest_run(values: list[int]) -> int:
    return max((len(list(group)) for _, group in itertools.groupby(values)), default=0)


def login_many(sim: RouterSimulator, n: int, prefix: str = "u") -> list[str]:
    users = [f"{prefix}{i}" for i in range(n)]
    for i, user in enumerate(users):
        sim.hotspot_login(user, f"10.7.{i >> 8}.{i & 255}", f"02:00:00:00:{i >> 8:02X}:{i & 255:02X}")
    return users


@pytest.fixture
async def bulk():
    simulator = RouterSimulator(password=PASSWORD, identity="bulk")
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def probe():
    simulator = RouterSimulator(password=PASSWORD, identity="probe")
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_a_listen_burst_is_applied_in_slices_in_order_and_complete(bulk: RouterSimulator) -> None:
    users = login_many(bulk, BURST)
    async with LoopTicks() as ticks:
        rec = TickRecorder(ticks)
        watcher = RouterWatcher(router_config(bulk.port, mode="listen", poll_interval=5), emit=rec)
        watcher.slice_rows, watcher.slice_budget = 10, float("inf")  # slices by count only: deterministic
        async with Running(watcher):
            await wait_until(lambda: watcher._listening["/ip/hotspot/active"] and watcher.session_count("hotspot") == BURST)
            for user in users:  # one synchronous step: the whole burst is on the wire at once
                assert bulk.hotspot_logout(user)
            await rec.wait_for("hotspot.logout", BURST, timeout=30)
            await asyncio.sleep(0.05)
            assert watcher.session_count("hotspot") == 0
    logouts = rec.of("hotspot.logout")
    assert [e.data["user"] for e in logouts] == users  # the router's order, each exactly once
    assert len(rec.events) == BURST
    # never more than one slice of the burst between two iterations of the event loop
    assert longest_run(rec.at) <= 10
    assert len(set(rec.at)) >= BURST // 10


async def test_another_routers_login_is_applied_before_the_burst_is_over(bulk: RouterSimulator,
                                                                          probe: RouterSimulator) -> None:
    users = login_many(bulk, BURST)
    rec = Recorder()
    watchers = [RouterWatcher(router_config(sim.port, name=name, mode="listen", poll_interval=5), emit=rec)
                for name, sim in (("bulk", bulk), ("probe", probe))]
    for w in watchers:
        w.slice_rows, w.slice_budget = 10, float("inf")
    async with Running(watchers[0]), Running(watchers[1]):
        await wait_until(lambda: all(w._listening["/ip/hotspot/active"] for w in watchers)
                         and watchers[0].session_count("hotspot") == BURST)
        for user in users:  # the burst goes out first, the probe's login right behind it
            bulk.hotspot_logout(user)
        probe.hotspot_login("tamu", "10.9.0.1", "02:AA:00:00:00:01")
        await rec.wait_for("hotspot.logout", BURST, timeout=30)
        await rec.wait_for("hotspot.login", 1)
    order = [e.source.name for e in rec.events]
    where = order.index("probe")
    assert where < BURST // 2, f"the probe's login waited for {where} of the {BURST} burst events"
    assert [e.data["user"] for e in rec.of("hotspot.logout")] == users


async def test_a_large_poll_snapshot_is_applied_in_slices(bulk: RouterSimulator) -> None:
    users = login_many(bulk, 300)
    async with LoopTicks() as ticks:
        rec = TickRecorder(ticks)
        watcher = RouterWatcher(router_config(bulk.port, mode="poll", poll_interval=0.1), emit=rec)
        watcher.slice_rows, watcher.slice_budget = 7, float("inf")
        async with Running(watcher):
            await wait_until(lambda: watcher.session_count("hotspot") == 300)
            for user in users[:150]:
                bulk.hotspot_logout(user)
            login_many(bulk, 150, prefix="new")
            await rec.wait_for("hotspot.logout", 150, timeout=10)
            await rec.wait_for("hotspot.login", 150, timeout=10)
    assert [e.data["user"] for e in rec.of("hotspot.logout")] == users[:150]
    assert sorted(e.data["user"] for e in rec.of("hotspot.login")) == sorted(f"new{i}" for i in range(150))
    assert longest_run(rec.at) <= 7


def test_fixed_rate_polls_start_on_a_grid_and_count_overruns() -> None:
    pace = FixedRate(5.0, now=100.0)
    assert pace.delay(101.5) == 3.5  # the cycle took 1.5 s: the next starts at 105, not at 106.5
    assert pace.delay(107.0) == 3.0  # started 105, took 2 s
    assert pace.late == 0 and not pace.report(107.0)
    assert pace.delay(116.0) == 0.0  # started 110, took 6 s: the next starts at once, the grid moves
    assert pace.late == 1 and pace.report(116.0) and not pace.report(117.0)
    assert pace.delay(117.0) == 4.0  # started 116
    assert pace.delay(130.0) == 0.0 and pace.late == 2
    assert not pace.report(130.0)  # reported less than a minute ago
    assert pace.report(176.0) and not pace.report(300.0)  # nothing new since


async def test_the_poll_loop_sleeps_until_the_next_slot_not_a_full_interval(bulk: RouterSimulator) -> None:
    """Injected clock: each cycle takes COST seconds; the loop must ask for interval - COST."""
    interval, cost = 5.0, 1.25
    now = [1000.0]
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        now[0] += seconds + (interval + 2 if len(asked) == 4 else cost)  # the 5th cycle overruns
        await asyncio.sleep(0.01)

    rec = Recorder()
    watcher = RouterWatcher(router_config(bulk.port, mode="poll", poll_interval=interval), emit=rec,
                            monotonic=lambda: now[0], sleep=sleep)
    with capture_logs() as logs:
        async with Running(watcher):
            await wait_until(lambda: len(asked) >= 6, timeout=5)
    assert asked[0] == interval  # the first cycle took no (fake) time
    assert asked[1:4] == [interval - cost] * 3
    assert asked[4] == 0.0  # overran by 2 s: started at once, the grid moved there
    assert asked[5] == interval - cost
    overruns = [e for e in logs if e["event"] == "router_poll_overrun"]
    assert len(overruns) == 1 and overruns[0]["late"] == 1


def test_known_sessions_index_follows_every_change() -> None:
    known = KnownSessions({"*1|a|m": {"id": "*1"}, "*2|b|m": {"id": "*2"}})
    known["*1|c|m"] = {"id": "*1"}  # .id reused by another user (before the old one is ended)
    assert known.with_id("*1") == ["*1|a|m", "*1|c|m"] and known.with_id("*2") == ["*2|b|m"]
    known["*1|a|m"] = {"id": "*1", "uptime_s": 5}  # an update of a known key changes nothing
    assert known.with_id("*1") == ["*1|a|m", "*1|c|m"]
    del known["*1|a|m"]
    assert known.pop("*2|b|m")["id"] == "*2" and known.pop("nope", None) is None
    assert known.with_id("*1") == ["*1|c|m"] and known.with_id("*2") == [] and known.with_id(None) == []
    assert dict(known) == {"*1|c|m": {"id": "*1"}}
    with pytest.raises(TypeError):
        known.update({"x": {"id": "*9"}})
