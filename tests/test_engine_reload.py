"""Engine.reload in-process for what the SIGHUP end-to-end test does not change: a host whose
settings change keeps its state, a notifier whose URL changes delivers to the new one, a router
whose settings change resumes without replaying its sessions."""

from __future__ import annotations

import asyncio

from fake_peers import generic_peer
from test_restart_e2e import wait_until

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.hosts.detector import State
from monitor.hosts.probe import CheckResult
from monitor.routeros.sim.simulator import RouterSimulator


class SwitchProbe:
    """Answers (or not) per address, as a test says."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        await asyncio.sleep(0.01)
        ok = address not in self.down
        return CheckResult(address, count, count if ok else 0, (1.0,) * count if ok else (),
                           None if ok else "timeout")

    async def aclose(self) -> None:
        return None


def cfg(tmp_path, url: str, sim_port: int, *, interval: str = "50ms", poll: str = "100ms"):
    return parse_config({
        "defaults": {"interval": interval, "count": 1, "timeout": "20ms", "down_after": 2, "up_after": 2},
        "hosts": [{"name": "cpe", "address": "127.0.0.9"}],
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "u",
                     "password": "rel-pw-9", "mode": "poll", "poll_interval": poll, "timeout": "1s"}],
        "notifiers": [{"name": "hook", "type": "webhook", "url": url}],
        "routes": [{"events": ["*"], "notify": ["hook"]}],
        "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}, env={})


def types(peer) -> list[tuple[str, str]]:
    return [(r.json["type"], r.json["data"].get("user") or r.json["source"]["name"]) for r in peer.received]


async def test_changed_host_notifier_and_router_keep_state_and_move_on(tmp_path):
    sim = RouterSimulator(username="u", password="rel-pw-9")
    await sim.start()
    probe = SwitchProbe()
    try:
        async with generic_peer() as old_hook, generic_peer() as new_hook:
            engine = Engine(cfg(tmp_path, old_hook.url, sim.port), probe=probe)
            await engine.start()
            try:
                sim.hotspot_login("s1", "10.5.50.2", "AA:BB:CC:00:00:02")  # before the baseline: silent
                await wait_until(lambda: engine.monitors["cpe"].detector.state is State.UP)
                probe.down.add("127.0.0.9")
                await wait_until(lambda: ("host.down", "cpe") in types(old_hook))
                sim.hotspot_login("s2", "10.5.50.3", "AA:BB:CC:00:00:03")
                await wait_until(lambda: ("hotspot.login", "s2") in types(old_hook))

                plan = await engine.reload(cfg(tmp_path, new_hook.url, sim.port, interval="60ms", poll="120ms"))
                assert (plan.hosts.changed, plan.notifiers.changed, plan.routers.changed) == (["cpe"], ["hook"], ["core"])
                assert engine.monitors["cpe"].detector.state is State.DOWN  # kept: no second host.down
                sim.hotspot_login("s3", "10.5.50.4", "AA:BB:CC:00:00:04")
                await wait_until(lambda: ("hotspot.login", "s3") in types(new_hook))
                probe.down.clear()
                await wait_until(lambda: ("host.up", "cpe") in types(new_hook))
                await asyncio.sleep(0.5)  # nothing else may arrive
            finally:
                await engine.stop(grace=0.5)
    finally:
        await sim.stop()
    assert types(old_hook) == [("host.down", "cpe"), ("hotspot.login", "s2")]
    assert types(new_hook) == [("hotspot.login", "s3"), ("host.up", "cpe")]  # no replay of s1/s2
