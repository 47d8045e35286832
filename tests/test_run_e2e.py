"""`pantau run` as a real process: a netns test host goes down and up, a webhook receiver gets
exactly one signed host.down and one host.up per the schema; SIGTERM stops it cleanly in < 5 s."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from fake_peers import generic_peer
from nethost import netns_available, new_host

SECRET = "e2e-hmac-secret-77"


def write_config(tmp_path, hosts, url, **extra):
    cfg = {
        "defaults": {"interval": "500ms", "count": 1, "timeout": "400ms", "down_after": 2, "up_after": 2},
        "hosts": hosts,
        "notifiers": [{"name": "hook", "type": "webhook", "url": url, "secret": "${HOOK_SECRET}"}],
        "routes": [{"events": ["host.*"], "notify": ["hook"]}],
        "state": {"path": str(tmp_path / "state.db")},
        "log": {"level": "info", "format": "auto"},
        "plugins_dir": None,
        **extra,
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start(config_path, tmp_path):
    env = dict(os.environ, HOOK_SECRET=SECRET, PYTHONUNBUFFERED="1")
    out = open(tmp_path / "stdout.log", "wb")  # noqa: SIM115 - closed by the caller via proc
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config_path)],
                            stdout=out, stderr=subprocess.STDOUT, env=env)


async def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def _up_hosts(tmp_path) -> set[str]:
    up = set()
    for line in (tmp_path / "stdout.log").read_text().splitlines():
        if line.startswith("{") and line.endswith("}"):  # a line still being written is skipped
            entry = json.loads(line)
            if entry.get("event") == "transition" and entry.get("state") == "up":
                up.add(entry.get("host"))
    return up


def stop(proc) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=10)
    return rc, time.monotonic() - started


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for netns test hosts")
@pytest.mark.parametrize("engine", ["socket", "icmplib"])
async def test_run_reports_netns_host_down_and_up_once_signed(tmp_path, engine):
    """The whole path: ICMP → detector → event → route → outbox → signed webhook, once each —
    with the one-socket engine and its scheduler, and with the per-check icmplib probe."""
    async with generic_peer() as peer:
        with new_host() as nh:
            cfg = write_config(tmp_path, [{"name": "cpe-7", "address": nh.address, "labels": {"site": "ns"}},
                                          {"name": "loopback", "address": "127.0.0.1"}], peer.url + "/events",
                               icmp={"engine": engine})
            proc = start(cfg, tmp_path)
            try:
                # both hosts established UP (silently), however long a busy machine takes
                assert await wait_for(lambda: {"cpe-7", "loopback"} <= _up_hosts(tmp_path), 30)
                assert peer.received == []
                nh.down()
                assert await wait_for(lambda: len(peer.received) >= 1), "no host.down delivered"
                nh.up()
                assert await wait_for(lambda: len(peer.received) >= 2), "no host.up delivered"
                await asyncio.sleep(1.0)  # nothing more may arrive
                rc, took = stop(proc)
            finally:
                if proc.poll() is None:
                    proc.kill()
    assert rc == 0 and took < 5.0
    bodies = [r.json for r in peer.received]
    assert [(b["type"], b["source"]["name"]) for b in bodies] == [("host.down", "cpe-7"), ("host.up", "cpe-7")]
    for req, body in zip(peer.received, bodies, strict=True):
        sig = "sha256=" + hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
        assert req.headers["X-Pantau-Signature"] == sig
        assert set(body) == {"version", "id", "type", "at", "source", "data"} and body["version"] == 1
        assert body["at"].endswith("Z") and req.headers["X-Pantau-Id"] == body["id"]
    assert bodies[0]["data"]["checks_failed"] == 2 and bodies[0]["data"]["loss"] == 1.0
    assert bodies[1]["data"]["down_for_s"] > 0
    logs = [json.loads(line) for line in (tmp_path / "stdout.log").read_text().splitlines() if line.startswith("{")]
    transitions = [entry for entry in logs if entry["event"] == "transition" and entry.get("announce")]
    assert [(t["host"], t["state"]) for t in transitions] == [("cpe-7", "down"), ("cpe-7", "up")]
    assert SECRET not in (tmp_path / "stdout.log").read_text()


async def test_sigterm_stops_quickly_and_cleanly(tmp_path):
    """With a host loop and the outbox running, SIGTERM exits 0 within 5 s."""
    async with generic_peer() as peer:
        cfg = write_config(tmp_path, [{"name": "lo", "address": "127.0.0.1"}], peer.url)
        proc = start(cfg, tmp_path)
        try:  # started (signal handlers in place) however long a busy machine takes to import
            assert await wait_for(lambda: '"event": "started"' in (tmp_path / "stdout.log").read_text(), 30)
            await asyncio.sleep(0.5)  # the host loop and the outbox are running
            assert proc.poll() is None, (tmp_path / "stdout.log").read_text()
            rc, took = stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rc == 0 and took < 5.0
    logs = (tmp_path / "stdout.log").read_text()
    assert '"event": "stopped"' in logs


def test_invalid_config_exits_2_naming_the_path(tmp_path):
    """`pantau run` with a wrong duration exits 2 and names hosts[0].interval, no traceback."""
    cfg = write_config(tmp_path, [{"name": "lo", "address": "127.0.0.1", "interval": "ten"}], "http://127.0.0.1:9")
    proc = subprocess.run([sys.executable, "-m", "monitor", "run", "-c", str(cfg)], capture_output=True,
                          text=True, env=dict(os.environ, HOOK_SECRET=SECRET), timeout=30)
    assert proc.returncode == 2
    assert "hosts[0].interval: invalid duration 'ten'" in proc.stderr and "Traceback" not in proc.stderr


def _can_drop_net_raw() -> bool:
    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    low, high = (int(x) for x in open("/proc/sys/net/ipv4/ping_group_range").read().split())
    return not low <= os.getegid() <= high  # unprivileged ICMP must be closed to us too


@pytest.mark.skipif(not _can_drop_net_raw(), reason="needs root, setpriv and a closed ping_group_range")
def test_no_icmp_permission_exits_2_saying_how_to_fix(tmp_path):
    """Without CAP_NET_RAW and outside ping_group_range, `pantau run` exits 2 at start-up with
    both fixes in the message — not a traceback, not a crash loop."""
    cfg = write_config(tmp_path, [{"name": "lo", "address": "127.0.0.1"}], "http://127.0.0.1:9")
    proc = subprocess.run(["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", sys.executable,
                           "-m", "monitor", "run", "-c", str(cfg)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, HOOK_SECRET=SECRET))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ping_group_range" in proc.stderr and "NET_RAW" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plugin_that_cannot_start_exits_2_naming_it(tmp_path):
    """A plugin whose constructor raises stops start-up with exit 2 naming the notifier and file."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken.py").write_text(
        "from monitor import BaseNotifier\n"
        "class Broken(BaseNotifier):\n"
        "    def __init__(self, config, context):\n"
        "        raise RuntimeError('needs a license file')\n"
        "    async def send(self, event, recipient=None):\n"
        "        pass\n"
        "NOTIFIER = Broken\n")
    cfg = {"notifiers": [{"name": "b", "type": "broken"}], "routes": [{"events": ["*"], "notify": ["b"]}],
           "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": str(plugins)}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "monitor", "run", "-c", str(path)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2
    assert "notifier b (plugin file" in proc.stderr and "RuntimeError: needs a license file" in proc.stderr
    assert "Traceback" not in proc.stderr
