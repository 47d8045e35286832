"""Router health: debounced interface links, thresholds, and netwatch follow — pure cores with driven
time, then the watcher against the simulator (v6 and v7)."""

from __future__ import annotations

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.config.model import parse_config
from monitor.errors import ConfigError
from monitor.routeros.config import HealthConfig
from monitor.routeros.health import LinkDebouncer, ThresholdJudge, readings
from monitor.routeros.router_health import RouterHealthWatcher
from monitor.routeros.sim.simulator import RouterSimulator


def test_link_debouncer_ignores_flaps_shorter_than_hold() -> None:
    d = LinkDebouncer(["ether1"], hold=5.0)
    assert d.observe("ether1", True, 100.0) is None  # baseline, silent
    assert d.observe("ether2", False, 100.0) is None  # not watched
    for t in (101.0, 102.0, 103.0):  # down/up within the hold: nothing
        assert d.observe("ether1", False, t) is None
        assert d.observe("ether1", True, t + 1.0) is None
    assert d.due(200.0) == []
    assert d.observe("ether1", False, 210.0) is None
    assert d.next_due() == 215.0
    assert d.due(214.9) == []
    (down,) = d.due(215.0)
    assert (down.interface, down.running, down.at) == ("ether1", False, 210.0)
    assert d.observe("ether1", True, 300.0) is None
    (up,) = d.due(305.0)
    assert up.running and up.duration_in_previous == 90.0


def test_threshold_judge_debounces_each_limit() -> None:
    judge = ThresholdJudge(HealthConfig(after=2, cpu_load=90, free_memory=1000, voltage_min=11.0))
    assert judge.observe({"cpu_load": 95, "free_memory": 5000, "voltage": 24}, 0.0) == []
    (bad,) = judge.observe({"cpu_load": 97, "free_memory": 5000, "voltage": 24}, 30.0)
    assert (bad.metric, bad.state, bad.value, bad.limit) == ("cpu_load", "bad", 97, 90.0)
    assert judge.observe({"cpu_load": 99}, 60.0) == []
    assert judge.observe({"cpu_load": 10}, 90.0) == []
    (ok,) = judge.observe({"cpu_load": 12}, 120.0)
    assert ok.state == "ok" and ok.bad_for_s == 90.0
    changes = [judge.observe({"free_memory": 10, "voltage": 9.5}, t) for t in (150.0, 180.0)]
    assert sorted(c.metric for c in changes[1]) == ["free_memory", "voltage"]


def test_readings_from_v6_and_v7_health() -> None:
    resource = {"cpu-load": "12", "free-memory": "912261120"}
    v6 = readings(resource, [{"temperature": "41", "voltage": "24.1"}])
    v7 = readings(resource, [{"name": "temperature", "value": "41", "type": "C"},
                             {"name": "voltage", "value": "24.1", "type": "V"}])
    assert v6 == v7 == {"cpu_load": 12.0, "free_memory": 912261120.0, "temperature": 41.0, "voltage": 24.1}
    assert readings({}, []) == {}


@pytest.fixture(params=["6.49.10 (long-term)", "7.18.2 (stable)"], ids=["v6", "v7"])
async def sim(request):
    simulator = RouterSimulator(password=PASSWORD, version=request.param, empty_reply=request.param >= "7.18")
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_interface_flaps_are_debounced_and_a_real_outage_is_one_event(sim: RouterSimulator) -> None:
    sim.add_interface("ether1-uplink")
    sim.add_interface("ether2")
    rec = Recorder()
    watcher = RouterHealthWatcher(router_config(sim.port, interfaces=["ether1-uplink"], interface_hold=0.4), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: "ether1-uplink" in watcher.links.announced)
        for _ in range(5):  # flaps: down and straight back up
            sim.set_link("ether1-uplink", False)
            sim.set_link("ether1-uplink", True)
        sim.set_link("ether2", False)  # not configured
        sim.set_link("ether1-uplink", False)
        await rec.wait_for("router.interface_down")
        sim.set_link("ether1-uplink", True)
        await rec.wait_for("router.interface_up")
    assert [e.type for e in rec.events] == ["router.interface_down", "router.interface_up"]
    assert rec.events[0].data == {"interface": "ether1-uplink", "down_for_s": None}
    assert rec.events[1].data["down_for_s"] >= 0.4


async def test_health_thresholds_against_the_simulator(sim: RouterSimulator) -> None:
    sim.health.update({"temperature": "45", "voltage": "24.0"})
    rec = Recorder()
    cfg = router_config(sim.port, health={"interval": 0.05, "after": 2, "temperature": 70, "cpu_load": 90})
    watcher = RouterHealthWatcher(cfg, emit=rec)
    async with Running(watcher):
        sim.health["temperature"] = "78"
        await rec.wait_for("router.health")
        sim.health["temperature"] = "50"
        sim.resource["cpu-load"] = "99"
        await rec.wait_for("router.health", count=3)
    got = sorted((e.data["metric"], e.data["state"]) for e in rec.events)
    assert got == [("cpu_load", "bad"), ("temperature", "bad"), ("temperature", "ok")]
    assert rec.events[0].data["value"] == 78.0


async def test_netwatch_follow_turns_status_changes_into_host_events(sim: RouterSimulator) -> None:
    sim.add_netwatch("172.16.3.1", comment="Router Desa Sukamaju\nhubungi Pak RT")
    sim.add_netwatch("172.16.3.2", comment="AP Balai Desa")
    sim.set_netwatch_status("172.16.3.2", "down")  # down before pantau starts: announced
    rec = Recorder()
    watcher = RouterHealthWatcher(router_config(sim.port, netwatch="follow"), emit=rec)
    async with Running(watcher):
        await rec.wait_for("host.down")
        sim.set_netwatch_status("172.16.3.1", "down")
        await rec.wait_for("host.down", count=2)
        sim.set_netwatch_status("172.16.3.1", "up")
        sim.set_netwatch_status("172.16.3.2", "up")
        await rec.wait_for("host.up", count=2)
    assert [(e.type, e.source.name, e.source.address) for e in rec.events] == [
        ("host.down", "AP Balai Desa", "172.16.3.2"),
        ("host.down", "Router Desa Sukamaju", "172.16.3.1"),
        ("host.up", "Router Desa Sukamaju", "172.16.3.1"),
        ("host.up", "AP Balai Desa", "172.16.3.2"),
    ]
    assert rec.events[0].data["reason"] == "netwatch" and rec.events[0].source.labels["router"] == "core"
    assert rec.events[2].data["down_for_s"] is not None


@pytest.mark.parametrize(("router", "problem"), [
    ({"interfaces": "ether1"}, "routers[0].interfaces:"),
    ({"interface_hold": "-1s"}, "routers[0].interface_hold:"),
    ({"health": {"cpu_load": 101}}, "routers[0].health.cpu_load:"),
    ({"health": {"interval": "0s"}}, "routers[0].health.interval:"),
    ({"health": {"bogus": 1}}, "routers[0].health.bogus: unknown key"),
    ({"netwatch": "yes"}, "routers[0].netwatch:"),
    ({"reboot_settle": "soon"}, "routers[0].reboot_settle:"),
])
def test_bad_health_config_is_reported_by_path(router: dict, problem: str) -> None:
    data = {"plugins_dir": None,
            "routers": [{"name": "core", "address": "127.0.0.1", "username": "u", "password": "p", **router}]}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems
