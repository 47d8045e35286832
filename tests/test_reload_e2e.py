"""SIGHUP through the real `pantau run`: hosts, routers and notifiers added, removed or kept
without a restart and without re-announcing anything; an invalid file is logged and ignored."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import yaml
from fake_peers import generic_peer
from nethost import netns_available, new_host
from test_restart_e2e import Pantau, wait_until

from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "reload-pw-1"


def write(path: Path, tmp: Path, *, sim_port: int, hosts: list[dict], notifiers: dict[str, str],
          routes: list[dict], interval: str = "200ms") -> None:
    cfg = {
        "defaults": {"interval": interval, "count": 1, "timeout": "150ms", "down_after": 2, "up_after": 2},
        "hosts": hosts,
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": PASSWORD, "mode": "poll", "poll_interval": "200ms", "timeout": "1s"}],
        "notifiers": [{"name": n, "type": "webhook", "url": url} for n, url in notifiers.items()],
        "routes": routes,
        "state": {"path": str(tmp / "state.db")},
        "log": {"level": "info", "format": "json"},
        "plugins_dir": None,
    }
    path.write_text(yaml.safe_dump(cfg))


def kinds(peer) -> list[tuple[str, str]]:
    out = []
    for r in peer.received:
        body = r.json
        out.append((body["type"], body["data"].get("user") or body["source"]["name"]))
    return out


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for netns test hosts")
async def test_sighup_adds_and_removes_hosts_and_notifiers_without_reannouncing(tmp_path):
    sim = RouterSimulator(username="pantau", password=PASSWORD)
    await sim.start()
    config = tmp_path / "monitor.yaml"
    try:
        async with generic_peer() as a, generic_peer() as b:
            with new_host() as h1, new_host() as h2:
                cpe1 = {"name": "cpe1", "address": h1.address}
                cpe2 = {"name": "cpe2", "address": h2.address}
                write(config, tmp_path, sim_port=sim.port, hosts=[cpe1], notifiers={"a": a.url},
                      routes=[{"events": ["*"], "notify": ["a"]}])
                run = Pantau(config, tmp_path / "run.log")
                try:
                    await run.wait_log("router_baseline", 2)
                    h1.down()
                    await wait_until(lambda: ("host.down", "cpe1") in kinds(a))
                    sim.hotspot_login("u1", "10.5.50.11", "AA:BB:CC:00:00:01")
                    await wait_until(lambda: ("hotspot.login", "u1") in kinds(a))
                    connections = sim.connections_accepted

                    # 1. add host cpe2 and notifier b (hotspot + host events go to both)
                    write(config, tmp_path, sim_port=sim.port, hosts=[cpe1, cpe2],
                          notifiers={"a": a.url, "b": b.url},
                          routes=[{"events": ["*"], "notify": ["a"]},
                                  {"events": ["hotspot.*", "host.*"], "notify": ["b"]}])
                    run.proc.send_signal(signal.SIGHUP)
                    await run.wait_log("reloaded", 1)
                    await asyncio.sleep(0.8)  # cpe2 becomes known UP (silently)
                    h2.down()
                    await wait_until(lambda: ("host.down", "cpe2") in kinds(b) and ("host.down", "cpe2") in kinds(a))
                    sim.hotspot_login("u2", "10.5.50.12", "AA:BB:CC:00:00:02")
                    await wait_until(lambda: ("hotspot.login", "u2") in kinds(b) and ("hotspot.login", "u2") in kinds(a))
                    assert sim.connections_accepted == connections  # the unchanged watcher kept its link

                    # 2. remove host cpe1 and notifier a
                    write(config, tmp_path, sim_port=sim.port, hosts=[cpe2], notifiers={"b": b.url},
                          routes=[{"events": ["hotspot.*", "host.*"], "notify": ["b"]}])
                    run.proc.send_signal(signal.SIGHUP)
                    await run.wait_log("reloaded", 2)
                    h1.up()  # no longer watched: no host.up anywhere
                    h2.up()
                    await wait_until(lambda: ("host.up", "cpe2") in kinds(b))
                    sim.hotspot_login("u3", "10.5.50.13", "AA:BB:CC:00:00:03")
                    await wait_until(lambda: ("hotspot.login", "u3") in kinds(b))

                    # 3. an invalid file: logged, and the running config keeps working
                    config.write_text(config.read_text().replace("interval: 200ms", "interval: ten", 1))
                    run.proc.send_signal(signal.SIGHUP)
                    await run.wait_log("reload_failed", 1)
                    sim.hotspot_login("u4", "10.5.50.14", "AA:BB:CC:00:00:04")
                    await wait_until(lambda: ("hotspot.login", "u4") in kinds(b))
                    await asyncio.sleep(1.0)  # nothing else may arrive
                    assert run.proc.poll() is None
                    run.proc.send_signal(signal.SIGTERM)
                    assert run.proc.wait(timeout=10) == 0
                finally:
                    run.ensure_dead()
    finally:
        await sim.stop()
    # each exactly once: the kept host cpe1 (down) was not re-announced, nor session u1, nor router.up
    assert sorted(kinds(a)) == sorted([("host.down", "cpe1"), ("hotspot.login", "u1"), ("host.down", "cpe2"),
                                       ("hotspot.login", "u2")])
    assert sorted(kinds(b)) == sorted([("host.down", "cpe2"), ("hotspot.login", "u2"), ("host.up", "cpe2"),
                                       ("hotspot.login", "u3"), ("hotspot.login", "u4")])
    lines = run.lines()
    failed = next(x for x in lines if x["event"] == "reload_failed")
    assert any(p.startswith("defaults.interval: invalid duration 'ten'") for p in failed["problems"])
    reloaded = [x for x in lines if x["event"] == "reloaded"]
    assert reloaded[0]["hosts"] == {"added": 1, "removed": 0, "changed": 0, "unchanged": 1}
    assert reloaded[0]["notifiers"] == {"added": 1, "removed": 0, "changed": 0, "unchanged": 1}
    assert reloaded[1]["hosts"] == {"added": 0, "removed": 1, "changed": 0, "unchanged": 1}
    assert reloaded[1]["routers"]["unchanged"] == 1
    assert "Traceback" not in run.log.read_text()
