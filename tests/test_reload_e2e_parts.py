"""SIGHUP through the real `pantau run` for what the first reload left out: `subscriptions:` added
and its levels changed (each warning once), a maintenance window added and removed in the file
(suppresses, then reconciles), a parent added (the next transition follows it), and an
Alertmanager notifier moved to another URL (the old re-posting task stops). Hosts are pinged
`via:` the RouterOS simulator, which decides which addresses answer."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from fake_peers import generic_peer
from pantau_proc import Pantau, wait_until

from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "reload-pw-2"
MB = 1024 * 1024
AP, SW = "127.0.0.21", "127.0.0.22"


def write(path: Path, tmp: Path, *, sim_port: int, hook: str, am: str, subscriptions: dict | None = None,
          maintenance: list | None = None, ap_parent: str | None = None) -> None:
    ap = {"name": "ap", "address": AP, "via": "core", **({"parent": ap_parent} if ap_parent else {})}
    cfg = {
        "defaults": {"interval": "200ms", "count": 1, "timeout": "150ms", "down_after": 2, "up_after": 2},
        "hosts": [ap, {"name": "sw", "address": SW, "via": "core"}],
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": PASSWORD, "mode": "poll", "poll_interval": "300ms", "timeout": "2s",
                     "watch": ["hotspot"]}],
        "notifiers": [{"name": "hook", "type": "webhook", "url": hook},
                      {"name": "am", "type": "alertmanager", "urls": [am], "repost_interval": "300ms"}],
        "routes": [{"events": ["*"], "notify": ["hook"]}, {"events": ["host.*"], "notify": ["am"]}],
        "state": {"path": str(tmp / "state.db")}, "timezone": "UTC",
        "log": {"level": "info", "format": "json"}, "plugins_dir": None,
    }
    if subscriptions is not None:
        cfg["subscriptions"] = subscriptions
    if maintenance:
        cfg["maintenance"] = maintenance
    path.write_text(yaml.safe_dump(cfg))


def kinds(peer) -> list[tuple]:
    out = []
    for r in peer.received:
        body = r.json
        out.append((body["type"], body["data"].get("user") or body["source"]["name"], body["data"].get("level"),
                    body["data"].get("reconciled")))
    return out


async def test_sighup_applies_subscriptions_windows_parents_and_notifier_tasks(tmp_path):
    config = tmp_path / "monitor.yaml"
    now = datetime.now(UTC)
    window = {"match": ["host:ap"], "start": (now - timedelta(hours=1)).isoformat(),
              "end": (now + timedelta(hours=1)).isoformat(), "reason": "ganti kabel"}
    async with RouterSimulator(username="pantau", password=PASSWORD) as sim, generic_peer() as hook, \
            generic_peer() as am1, generic_peer() as am2:
        sim.pings.set(AP)
        sim.pings.set(SW)
        andi = sim.add_hotspot_user("andi", comment="0857 1111 2222")
        users = sim.menus["/ip/hotspot/user"]
        users.set(andi, {"limit-bytes-total": str(100 * MB), "bytes-out": str(85 * MB)})
        common = {"sim_port": sim.port, "hook": hook.url}
        write(config, tmp_path, am=am1.url, **common)
        run = Pantau(config, tmp_path / "run.log")
        try:
            await run.wait_log("router_baseline", 1)
            await asyncio.sleep(1.0)  # ap and sw become known UP (silently)
            sim.pings.set_down(AP)
            await wait_until(lambda: len(am1.received) >= 3, what="ap's alert and its re-posts on am1")

            # 1. subscriptions added, a window over ap added, Alertmanager moved to am2
            subs = {"check_every": "300ms", "quota_levels": ["80%"]}
            write(config, tmp_path, am=am2.url, subscriptions=subs, maintenance=[window], **common)
            run.proc.send_signal(signal.SIGHUP)
            await run.wait_log("reloaded", 1)
            seen_am1 = len(am1.received)
            await wait_until(lambda: ("subscriber.quota", "andi", 80, None) in kinds(hook), what="quota 80")
            await wait_until(lambda: len(am2.received) >= 3, what="re-posts on am2")
            sim.pings.set(AP)  # ap back inside the window: said nothing
            await run.wait_log("event.suppressed", 1)
            assert len(am1.received) == seen_am1  # no task kept posting with the old URL

            # 2. the window removed (ap is told it is up), another level, ap now behind sw
            write(config, tmp_path, am=am2.url, subscriptions={**subs, "quota_levels": ["80%", "90%"]},
                  ap_parent="sw", **common)
            run.proc.send_signal(signal.SIGHUP)
            await run.wait_log("reloaded", 2)
            await wait_until(lambda: ("host.up", "ap", None, "maintenance") in kinds(hook), what="reconciled up")
            users.set(andi, {"bytes-out": str(92 * MB)})
            await wait_until(lambda: ("subscriber.quota", "andi", 90, None) in kinds(hook), what="quota 90")
            sim.pings.set_down(SW)
            await wait_until(lambda: ("host.down", "sw", None, None) in kinds(hook), what="sw down")
            sim.pings.set_down(AP)  # behind sw now: suppressed
            await run.wait_log("event.suppressed", 1, reason="parent sw down")
            await asyncio.sleep(1.0)  # nothing else may arrive
            assert run.proc.poll() is None
            run.proc.send_signal(signal.SIGTERM)
            assert run.proc.wait(timeout=10) == 0
        finally:
            run.ensure_dead()
    assert kinds(hook) == [("host.down", "ap", None, None), ("subscriber.quota", "andi", 80, None),
                           ("host.up", "ap", None, "maintenance"), ("subscriber.quota", "andi", 90, None),
                           ("host.down", "sw", None, None)]
    assert am2.received[-1].json[0]["labels"] == {**am2.received[-1].json[0]["labels"], "host": "sw"}
    lines = run.lines()
    reloaded = [x for x in lines if x["event"] == "reloaded"]
    assert reloaded[0]["history_changed"] == ["maintenance"] and reloaded[0]["subscriptions"] == ["core"]
    assert reloaded[1]["history_changed"] == ["dependencies", "maintenance"]
    assert reloaded[0]["notifiers"]["changed"] == 1
    assert not [x for x in lines if x["event"] in ("task_crashed", "reload_needs_restart")]
    assert "Traceback" not in run.log.read_text()
    assert yaml.safe_load(config.read_text())["hosts"][0]["parent"] == "sw"
