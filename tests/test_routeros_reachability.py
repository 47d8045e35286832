"""Router reachability: faults give one router.down and no false logouts; recovery diffs correctly."""

from __future__ import annotations

import asyncio

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD, identity="gw-kos")
    await simulator.start()
    yield simulator
    await simulator.stop()


def _start_sessions(sim: RouterSimulator) -> None:
    for i in range(3):
        sim.hotspot_login(f"user{i}", f"10.5.50.{i + 2}", f"AA:AA:AA:AA:AA:0{i}")
    sim.ppp_connect("pelanggan-1", caller_id="AA:BB:CC:00:00:01", address="10.9.0.2")


def _break(sim: RouterSimulator, fault: str) -> None:
    if fault == "wrong_password":
        sim.password = "changed-on-router"
        sim.drop_connections()
    else:
        sim.set_fault(fault)


def _heal(sim: RouterSimulator, fault: str) -> None:
    if fault == "wrong_password":
        sim.password = PASSWORD
    else:
        sim.clear_fault()


@pytest.mark.parametrize("mode", ["poll", "listen"])
@pytest.mark.parametrize("fault", ["drop", "hang", "refuse", "wrong_password", "fatal"])
async def test_outage_gives_one_down_no_logouts_and_quiet_recovery(sim: RouterSimulator, fault: str,
                                                                  mode: str) -> None:
    """Under each fault the router is declared down exactly once, no session event is emitted while
    it is unreachable, and recovery with unchanged sessions gives one router.up and nothing else."""
    _start_sessions(sim)
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode=mode), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == 3 and len(watcher.sessions("ppp")) == 1)
        _break(sim, fault)
        [down] = await rec.wait_for("router.down", timeout=4)
        await asyncio.sleep(0.5)  # several more failed polls
        _heal(sim, fault)
        [up] = await rec.wait_for("router.up", timeout=4)
        await asyncio.sleep(0.4)  # listen reconnects and resyncs
    assert [e.type for e in rec.events] == ["router.down", "router.up"]
    assert down.source.name == "core" and down.source.identity == "gw-kos" and down.data["error"]
    assert PASSWORD not in down.data["error"]
    assert up.data["down_for_s"] >= 0.5 and up.data["error"] is None
    assert len(watcher.sessions("hotspot")) == 3


@pytest.mark.parametrize("mode", ["poll", "listen"])
async def test_recovery_diff_reports_changes_while_unreachable(sim: RouterSimulator, mode: str) -> None:
    """Sessions that ended during the outage are logged out with reason while_unreachable after
    router.up; sessions that started meanwhile are logged in; unchanged ones produce nothing."""
    _start_sessions(sim)
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode=mode), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == 3)
        sim.set_fault("refuse")
        await rec.wait_for("router.down", timeout=4)
        sim.hotspot_logout("user1")
        sim.ppp_disconnect("pelanggan-1")
        sim.hotspot_login("new", "10.5.50.50", "AA:AA:AA:AA:AA:50")
        sim.clear_fault()
        await rec.wait_for("hotspot.login", timeout=4)
        await asyncio.sleep(0.3)
    types = [e.type for e in rec.events]
    assert types[:2] == ["router.down", "router.up"]
    rest = sorted((e.type, e.data.get("user") or e.data.get("name"), e.data.get("reason")) for e in rec.events[2:])
    assert rest == [("hotspot.login", "new", None), ("hotspot.logout", "user1", "while_unreachable"),
                    ("ppp.disconnect", "pelanggan-1", "while_unreachable")]
    (logout,) = rec.of("hotspot.logout")  # ended unseen: final counters unknown, last seen given as such
    assert (logout.data["bytes_in"], logout.data["bytes_out"]) == (None, None)
    assert "bytes_in_last_seen" in logout.data and "bytes_out_last_seen" in logout.data


@pytest.mark.parametrize("mode", ["poll", "listen"])
async def test_trap_on_print_is_one_router_down_and_no_logout(sim: RouterSimulator, mode: str) -> None:
    """A !trap (no permission) on /ip/hotspot/active: logged, one router.down naming the trap, zero
    logouts; when the permission is back, router.up and — sessions unchanged — nothing else."""
    _start_sessions(sim)
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode=mode), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == 3)
        sim.set_fault("trap", menu="/ip/hotspot/active")
        if mode == "listen":  # a running listen keeps streaming; the trap shows at the next
            sim.drop_connections()  # reconnect or resync, which this cut brings forward
        [down] = await rec.wait_for("router.down", timeout=4)
        await asyncio.sleep(0.4)
        sim.clear_fault()
        await rec.wait_for("router.up", timeout=4)
        await asyncio.sleep(0.4)
    assert [e.type for e in rec.events] == ["router.down", "router.up"]
    assert "!trap on /ip/hotspot/active" in down.data["error"] and "permission" in down.data["error"]
    assert len(watcher.sessions("hotspot")) == 3


async def test_no_session_events_while_down_even_if_router_changes(sim: RouterSimulator) -> None:
    """While the router is down nothing but router.down is emitted, however the sessions change."""
    _start_sessions(sim)
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="listen"), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == 3)
        sim.set_fault("hang")
        await rec.wait_for("router.down", timeout=4)
        for i in range(3):
            sim.hotspot_logout(f"user{i}")
        await asyncio.sleep(0.5)
    assert [e.type for e in rec.events] == ["router.down"]
