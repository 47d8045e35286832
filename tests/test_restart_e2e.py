"""Restart safety of the real `pantau run` process against the RouterOS simulator and a webhook
receiver: a stop or a kill -9 neither replays sessions nor loses or duplicates deliveries."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from fake_peers import Reply, answer, generic_peer

from monitor.delivery.outbox_store import OutboxStore
from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "rst-pw-1"


class Pantau:
    """One `pantau run` process whose JSON log lines we can wait for."""

    def __init__(self, config: Path, log: Path):
        self.log = log
        out = open(log, "ab")  # noqa: SIM115 - handed to the child, closed with it
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        out.close()

    def lines(self) -> list[dict]:
        return [json.loads(x) for x in self.log.read_text().splitlines() if x.startswith("{")]

    async def wait_log(self, event: str, count: int = 1, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for x in self.lines() if x.get("event") == event) >= count:
                return
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {count}× {event} in time:\n{self.log.read_text()[-3000:]}")

    def stop(self, how: str) -> None:
        if how == "kill":
            self.proc.send_signal(signal.SIGKILL)
        else:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_config(tmp_path: Path, sim_port: int, hook_url: str) -> Path:
    cfg = {
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": PASSWORD, "mode": "poll", "poll_interval": "200ms", "timeout": "1s",
                     "down_after": 2}],
        "notifiers": [{"name": "hook", "type": "webhook", "url": hook_url}],
        "routes": [{"events": ["*"], "notify": ["hook"]}],
        "state": {"path": str(tmp_path / "state.db")},
        "log": {"level": "info", "format": "json"},
        "plugins_dir": None,
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_sessions_changed_while_stopped_are_reported_exactly(tmp_path, how):
    """50 sessions; pantau stopped (SIGTERM) or killed (-9); 3 end and 2 start meanwhile; on the
    next start exactly 3 logouts/disconnects (reason while_stopped) and 2 logins are delivered."""
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer() as hook:
        for i in range(45):
            sim.hotspot_login(f"{1000 + i}", f"10.5.50.{i + 2}", f"AA:BB:CC:00:01:{i:02X}", uptime=600)
        for i in range(5):
            sim.ppp_connect(f"pel-{i}", caller_id=f"AA:BB:CC:00:02:{i:02X}", address=f"10.20.0.{i + 2}")
        config = write_config(tmp_path, sim.port, hook.url)
        first = Pantau(config, tmp_path / "run1.log")
        try:
            await first.wait_log("router_baseline", 2)
            await asyncio.sleep(0.5)  # a few quiet polls: nothing to report
            first.stop(how)
        finally:
            first.ensure_dead()
        assert hook.received == []  # 50 sessions at first start: no replay

        sim.hotspot_logout("1003")
        sim.hotspot_logout("1040")
        sim.ppp_disconnect("pel-2")
        sim.hotspot_login("yes", "10.5.50.200", "AA:BB:CC:00:03:01")
        sim.hotspot_login("0123", "10.5.50.201", "AA:BB:CC:00:03:02")

        second = Pantau(config, tmp_path / "run2.log")
        try:
            await wait_until(lambda: len(hook.received) >= 5)
            await asyncio.sleep(1.0)  # nothing more may come
            second.stop("stop")
        finally:
            second.ensure_dead()
    events = [r.json for r in hook.received]
    got = sorted((e["type"], e["data"].get("user") or e["data"].get("name"), e["data"].get("reason")) for e in events)
    assert got == [("hotspot.login", "0123", None), ("hotspot.login", "yes", None),
                   ("hotspot.logout", "1003", "while_stopped"), ("hotspot.logout", "1040", "while_stopped"),
                   ("ppp.disconnect", "pel-2", "while_stopped")]


async def test_kill9_with_pending_messages_loses_and_duplicates_nothing(tmp_path):
    """The gateway fails while 5 logins wait in the outbox; pantau is killed -9; after the restart
    (gateway healthy) each of the 5 events is accepted exactly once, in order."""
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer(default=Reply(500, text="gateway down")) as hook:
        config = write_config(tmp_path, sim.port, hook.url)
        first = Pantau(config, tmp_path / "run1.log")
        try:
            await first.wait_log("router_baseline", 2)
            for i in range(5):
                sim.hotspot_login(f"v{i}", f"10.5.50.{i + 2}", f"AA:BB:CC:00:04:{i:02X}")
                await asyncio.sleep(0.05)
            await wait_until(lambda: len(hook.received) >= 2)  # deliveries are failing and retried
            await asyncio.sleep(0.6)  # the session state is committed after the emit
            first.stop("kill")
        finally:
            first.ensure_dead()
        with OutboxStore(tmp_path / "state.db") as store:
            assert store.counts()["pending"] == 5

        failed_before = len(hook.received)
        hook.default = answer(Reply(200, json={"ok": True}))
        second = Pantau(config, tmp_path / "run2.log")
        try:
            await wait_until(lambda: len(hook.received) >= failed_before + 5, timeout=20)
            await asyncio.sleep(1.0)
            second.stop("stop")
        finally:
            second.ensure_dead()
        with OutboxStore(tmp_path / "state.db") as store:
            assert store.counts()["pending"] == 0
    accepted = [r.json for r in hook.received[failed_before:]]
    assert [e["data"]["user"] for e in accepted] == [f"v{i}" for i in range(5)]
    assert max(Counter(e["id"] for e in accepted).values()) == 1
    assert all(e["type"] == "hotspot.login" for e in accepted)
