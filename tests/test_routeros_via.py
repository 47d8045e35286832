"""``hosts[].via``: hosts pinged from a (simulated) router through ``/ping`` over the API."""

from __future__ import annotations

import asyncio

import pytest
from routeros_helpers import PASSWORD, Recorder, router_config, wait_until

from monitor.config.model import HostCheck, parse_config
from monitor.errors import ConfigError, RouterError
from monitor.hosts.loop import HostMonitor
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.via import BACKOFF_CAP, RouterPinger


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD, version="6.49.10 (long-term)", empty_reply=False)
    await simulator.start()
    yield simulator
    await simulator.stop()


def via_host(**kw) -> HostCheck:
    base = dict(name="ap-lantai2", address="172.16.5.2", interval=0.05, count=4, timeout=0.3, down_after=2,
                up_after=2, max_loss=0.25, max_rtt=None, labels={"site": "kos"}, via="core")
    base.update(kw)
    return HostCheck(**base)


async def _run_checks(pinger: RouterPinger, mon: HostMonitor, times: list[float]) -> list:
    results = []
    for now in times:
        h = mon.host
        result = await pinger.check(h.address, count=h.count, timeout=h.timeout, interval=0.005)
        results.append(result)
        await mon.handle(result, now)
    return results


async def test_loss_patterns_go_through_the_same_detector_as_direct_hosts(sim: RouterSimulator) -> None:
    """25 % loss passes max_loss 25 %; 50 % fails twice → host.down; clean again twice → host.up. A
    direct host fed the very same CheckResults announces exactly the same events."""
    pinger = RouterPinger(router_config(sim.port))
    via_rec, direct_rec = Recorder(), Recorder()
    mon = HostMonitor(via_host(), pinger, via_rec)
    direct = HostMonitor(via_host(via=None), None, direct_rec)
    try:
        sim.pings.set("172.16.5.2", pattern="!!!.", rtt_ms=4.0)
        results = await _run_checks(pinger, mon, [100.0, 101.0])
        sim.pings.set("172.16.5.2", pattern="!.", rtt_ms=4.0)
        results += await _run_checks(pinger, mon, [102.0, 103.0])
        sim.pings.set("172.16.5.2", pattern="!", rtt_ms=4.0)
        results += await _run_checks(pinger, mon, [104.0, 105.0])
    finally:
        await pinger.aclose()
    assert [r.loss for r in results] == [0.25, 0.25, 0.5, 0.5, 0.0, 0.0]
    assert [e.type for e in via_rec.events] == ["host.down", "host.up"]
    down, up = via_rec.events
    assert down.data["reason"] == "loss 50% > 25%" and down.data["loss"] == 0.5 and down.data["rtt_avg_ms"] == 4.0
    assert up.data["down_for_s"] == pytest.approx(2.0)
    for result, now in zip(results, [100.0, 101.0, 102.0, 103.0, 104.0, 105.0], strict=True):
        await direct.handle(result, now)
    assert [(e.type, e.data) for e in direct_rec.events] == [(e.type, e.data) for e in via_rec.events]


async def test_router_dropping_mid_ping_skips_the_check_and_recovers(sim: RouterSimulator) -> None:
    """The router's link drops in the middle of a ping: no verdict on the host (no host.down even with
    down_after 1), and the next check reconnects and pings again."""
    sim.pings.set("172.16.5.2", pattern="!")
    pinger = RouterPinger(router_config(sim.port))
    rec = Recorder()
    mon = HostMonitor(via_host(down_after=1, up_after=1, count=20), pinger, rec, rng=lambda: 0.0)
    task = asyncio.create_task(mon.run())
    try:
        await wait_until(lambda: mon.detector.state.value == "up")
        for _ in range(3):  # three drops, each in the middle of a 20-echo ping
            seen = sim.pings.echoes
            await wait_until(lambda seen=seen: sim.pings.echoes >= seen + 2 and sim.pings.running > 0)
            sim.drop_connections()
        started = sim.pings.started
        await wait_until(lambda: sim.pings.started > started + 1)  # pinging again after the drops
        sim.pings.set_down("172.16.5.2")  # a real failure is still seen afterwards
        await rec.wait_for("host.down")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pinger.aclose()
    assert [e.type for e in rec.events] == ["host.down"]
    assert rec.events[0].data["reason"] == "timeout"
    assert sim.connections_accepted >= 4


async def test_concurrency_limit_is_respected_on_the_router(sim: RouterSimulator) -> None:
    """Twelve hosts checked at once through a router limited to 3 concurrent pings: never more than 3."""
    pinger = RouterPinger(router_config(sim.port, ping_concurrency=3))
    addresses = [f"172.16.9.{i}" for i in range(1, 13)]
    for a in addresses:
        sim.pings.set(a)
    try:
        results = await asyncio.gather(*(pinger.check(a, count=3, timeout=0.3, interval=0.01) for a in addresses))
    finally:
        await pinger.aclose()
    assert all(r.received == 3 for r in results)
    assert sim.pings.max_running == 3
    assert sim.connections_accepted == 1  # one shared API connection for all hosts of the router


async def test_unreachable_router_is_retried_with_shared_exponential_backoff(sim: RouterSimulator) -> None:
    """While the router drops every connection, 50 hosts' checks cause one connect per backoff step."""
    now = [1000.0]
    pinger = RouterPinger(router_config(sim.port), clock=lambda: now[0])
    sim.set_fault("drop")

    async def burst() -> None:
        for _ in range(50):
            with pytest.raises(RouterError):
                await pinger.check("172.16.5.2", count=1, timeout=0.3, interval=0.01)

    try:
        await burst()
        assert sim.connections_accepted == 1
        attempts = [sim.connections_accepted]
        for wait in (1.0, 2.0, 4.0, 8.0):
            now[0] += wait - 0.01  # just before the retry is due: still nothing sent to the router
            await burst()
            assert sim.connections_accepted == attempts[-1]
            now[0] += 0.02
            await burst()
            attempts.append(sim.connections_accepted)
        assert attempts == [1, 2, 3, 4, 5]
        now[0] += BACKOFF_CAP * 10
        sim.clear_fault()
        sim.pings.set("172.16.5.2")
        result = await pinger.check("172.16.5.2", count=1, timeout=0.3, interval=0.01)
        assert result.received == 1
    finally:
        await pinger.aclose()


def _config(hosts: list[dict], **router) -> dict:
    return {"hosts": hosts, "plugins_dir": None,
            "routers": [{"name": "core", "address": "127.0.0.1", "username": "u", "password": "p", **router}]}


@pytest.mark.parametrize(("hosts", "router", "problem"), [
    ([{"name": "a", "address": "10.0.0.1", "via": "edge"}], {}, "hosts[0].via: unknown router 'edge'"),
    ([{"name": "a", "address": "10.0.0.1", "size": 100}], {}, "hosts[0].size: applies to via: hosts only"),
    ([{"name": "a", "address": "10.0.0.1", "via": "core", "size": 10}], {}, "hosts[0].size:"),
    ([{"name": "a", "address": "10.0.0.1", "via": ""}], {}, "hosts[0].via:"),
    ([], {"ping_concurrency": 0}, "routers[0].ping_concurrency:"),
    ([], {"ping_concurrency": "many"}, "routers[0].ping_concurrency:"),
])
def test_bad_via_config_is_reported_by_path(hosts: list[dict], router: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config(hosts, **router), env={})
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems


def test_via_host_config_is_carried_to_the_check() -> None:
    cfg = parse_config(_config([{"name": "a", "address": "172.16.0.9", "via": "core", "size": 1400},
                                {"name": "b", "address": "127.0.0.1"}], ping_concurrency=2), env={})
    a, b = cfg.hosts
    assert (a.via, a.size, b.via, b.size) == ("core", 1400, None, 56)
    assert cfg.settings.routers[0].ping_concurrency == 2
