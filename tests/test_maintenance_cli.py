"""``pantau maintenance add|list|end`` and ``pantau report`` on a state database, and the real
``pantau run`` honouring a window added and ended by the CLI while a netns host is down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import yaml
from fake_peers import generic_peer
from nethost import netns_available, new_host

from monitor.cli.main import main
from monitor.events import Event, Source
from monitor.history.store import HistoryStore
from monitor.suppression.store import MaintenanceStore


def write_config(tmp_path, hosts=None, url="http://127.0.0.1:9/x", **extra):
    cfg = {"hosts": hosts or [{"name": "olt", "address": "127.0.0.2", "labels": {"site": "utara"}},
                              {"name": "ap", "address": "127.0.0.3"}],
           "notifiers": [{"name": "hook", "type": "webhook", "url": url}],
           "routes": [{"events": ["host.*"], "notify": ["hook"]}],
           "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None, "timezone": "UTC", **extra}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_add_list_end(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert main(["maintenance", "add", "host:olt", "label:site=utara", "2h", "--reason", "ganti OLT", "-c", cfg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("window 1: host:olt, label:site=utara from ") and "(2h) — ganti OLT" in out
    assert main(["maintenance", "add", "host:ap", "30m", "--start", "2030-01-01 01:00", "-c", cfg]) == 0
    assert "from 2030-01-01 01:00 to 2030-01-01 01:30" in capsys.readouterr().out
    assert main(["maintenance", "list", "-c", cfg]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("1 ") and "(active, by cli)  ganti OLT" in listed[0]
    assert "(planned" in listed[1]
    assert main(["maintenance", "end", "1", "-c", cfg]) == 0
    assert "window 1 ended at" in capsys.readouterr().out
    assert main(["maintenance", "list", "-c", cfg]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # the ended one is gone...
    assert main(["maintenance", "list", "--all", "-c", cfg]) == 0
    assert "(over, by cli)" in capsys.readouterr().out  # ...but kept (reports exclude its time)
    with MaintenanceStore(tmp_path / "state.db") as store:
        [ended, planned] = store.list()
        assert ended.ended_at is not None and ended.end <= time.time() and planned.end > time.time()


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "host:ghost", "2h"], "host:ghost: unknown host 'ghost'"),
    (["add", "olt", "2h"], "invalid target 'olt'"),
    (["add", "host:olt", "soon"], "duration: invalid duration 'soon'"),
    (["add", "host:olt", "0s"], "duration: the duration must be greater than 0"),
    (["add", "host:olt", "1h", "--start", "tomorrow"], "--start: invalid time 'tomorrow'"),
    (["add", "2h"], "usage: pantau maintenance add"),
    (["end", "99"], "no maintenance window 99"),
    (["end", "x"], "usage: pantau maintenance end ID"),
])
def test_bad_maintenance_commands_exit_2_saying_why(tmp_path, capsys, argv, message):
    assert main(["maintenance", *argv, "-c", write_config(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_report_prints_a_table_from_the_history(tmp_path, capsys):
    cfg = write_config(tmp_path)
    now = time.time()
    store = HistoryStore(tmp_path / "state.db")
    olt = Source("host", "olt", "127.0.0.2")
    for type_, ago in (("host.down", 7200), ("host.up", 3600)):
        store.record(Event(type_, olt, {}, at=datetime.fromtimestamp(now - ago, UTC)))
    store.close()
    assert main(["report", "--since", "1d", "-c", cfg]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[3:5]}
    assert rows["olt"][1:5] == ["host", f"{(86400 - 3600) / 864:.3f}%", "1h", "1"]
    assert rows["ap"][1:5] == ["host", "100.000%", "0s", "0"]
    assert lines[-1] == "total downtime 1h in 1 outage(s)"
    assert main(["report", "--host", "ap", "-c", cfg]) == 0
    assert "olt" not in capsys.readouterr().out
    assert main(["report", "--host", "nope", "-c", cfg]) == 2
    assert "no host 'nope' in the config" in capsys.readouterr().err
    assert main(["report", "--since", "a while", "-c", cfg]) == 2
    assert "--since: invalid duration" in capsys.readouterr().err


async def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def _cli(cfg, *args):
    return subprocess.run([sys.executable, "-m", "monitor", "maintenance", *args, "-c", cfg], capture_output=True,
                          text=True, timeout=30)


def _run(cfg, tmp_path):
    out = open(tmp_path / "stdout.log", "wb")  # noqa: SIM115 - closed by the caller
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", cfg], stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1")), out


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for netns test hosts")
async def test_pantau_run_suppresses_in_a_cli_window_and_reconciles_when_it_ends(tmp_path):
    """A real `pantau run`: a window added with the CLI covers a netns host going down (nothing
    sent); `pantau maintenance end` makes the running process send one reconciled DOWN; the UP
    that follows closes it. Exactly two messages."""
    async with generic_peer() as peer:
        with new_host() as nh:
            cfg = write_config(tmp_path, [{"name": "cpe", "address": nh.address}], peer.url,
                               defaults={"interval": "200ms", "count": 1, "timeout": "150ms", "down_after": 2,
                                         "up_after": 2})
            added = _cli(cfg, "add", "host:cpe", "1h", "--reason", "upgrade")
            assert added.returncode == 0, added.stderr
            proc, out = _run(cfg, tmp_path)
            try:
                await asyncio.sleep(1.5)
                nh.down()
                await asyncio.sleep(2.0)
                assert peer.received == [], "a DOWN went out during the window"
                assert _cli(cfg, "end", "1").returncode == 0
                assert await _wait(lambda: len(peer.received) >= 1), "no reconciled DOWN after the window"
                nh.up()
                assert await _wait(lambda: len(peer.received) >= 2), "no UP after the reconciled DOWN"
                await asyncio.sleep(1.0)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
                out.close()
    bodies = [r.json for r in peer.received]
    assert [(b["type"], b["data"].get("reconciled")) for b in bodies] == [("host.down", "maintenance"),
                                                                          ("host.up", None)]
    logs = (tmp_path / "stdout.log").read_text()
    assert '"event.suppressed"' in logs and "maintenance 1 (host:cpe: upgrade)" in logs
