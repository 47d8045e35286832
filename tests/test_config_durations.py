"""Durations in the config accept every form RouterOS users write and print back in the shortest
form; `pantau import-netwatch` output goes through `pantau check` unchanged (round trip)."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
import yaml

from monitor.config.durations import format_duration, parse_duration
from monitor.config.model import parse_config
from monitor.errors import ConfigError
from monitor.routeros.sim.simulator import RouterSimulator


@pytest.mark.parametrize(("text", "seconds", "shortest"), [
    ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, "1w2d3h4m5s"),
    ("1m30s", 90, "1m30s"),
    ("90s", 90, "1m30s"),
    ("500ms", 0.5, "500ms"),
    ("00:01:00", 60, "1m"),
    ("1d 02:00:00", 93600, "1d2h"),
    ("1d2h", 93600, "1d2h"),
    ("10 s", 10, "10s"),
    ("1h 30m", 5400, "1h30m"),
    ("1.5s", 1.5, "1s500ms"),
    ("7d", 604800, "1w"),
    (30, 30, "30s"),
])
def test_routeros_forms_parse_and_print_back_shortest(text, seconds, shortest):
    assert parse_duration(text) == pytest.approx(seconds)
    assert format_duration(parse_duration(text)) == shortest
    assert parse_duration(shortest) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["ten", "5 minutes", "-1s", "", "1x", "12:3", "nan", float("nan"), True, "1m30"])
def test_garbage_durations_are_config_errors_by_path(text):
    with pytest.raises(ConfigError) as err:
        parse_config({"defaults": {"interval": text}}, env={}, registry=None)
    assert any(p.startswith("defaults.interval: invalid duration") for p in err.value.problems), err.value.problems


def test_every_duration_field_takes_routeros_forms():
    cfg = parse_config({"defaults": {"interval": "1m30s", "timeout": "00:00:02"},
                        "hosts": [{"name": "a", "address": "127.0.0.1", "interval": "1d 02:00:00",
                                   "max_rtt": "250ms"}], "plugins_dir": None}, env={})
    [host] = cfg.hosts
    assert (host.interval, host.timeout, host.max_rtt) == (93600, 2, 0.25)
    assert cfg.settings.defaults.interval == 90


async def test_import_netwatch_output_round_trips_through_check(tmp_path):
    """Netwatch entries in RouterOS's own forms → `pantau import-netwatch` → pasted into a config →
    `pantau check` says valid and shows the same durations."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", RTR_PW="netwatch-pw-9")
    async with RouterSimulator(password="netwatch-pw-9") as sim:
        sim.add_netwatch("10.0.0.1", comment="AP Lantai 2", interval="1m30s", timeout="1s")
        sim.add_netwatch("10.0.0.2", comment="CCTV", interval="00:02:00", timeout="500ms")
        sim.add_netwatch("10.0.0.3", comment="Tower", interval="1d02:00:00", timeout="1s500ms")
        base = {"routers": [{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                             "password": "${RTR_PW}"}],
                "notifiers": [{"name": "layar", "type": "console"}],
                "routes": [{"events": ["*"], "notify": ["layar"]}], "plugins_dir": None,
                "state": {"path": str(tmp_path / "p.db")}}
        cfg = tmp_path / "monitor.yaml"
        cfg.write_text(yaml.safe_dump(base))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "import-netwatch", "--router", "core", "-c", str(cfg),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    assert "interval: 1m30s" in stdout.decode()
    hosts = yaml.safe_load(stdout.decode())["hosts"]
    cfg.write_text(yaml.safe_dump({**base, "hosts": hosts}))
    check = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitor", "check", "-c", str(cfg),
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                 env=env)
    stdout, stderr = (b.decode() for b in await asyncio.wait_for(check.communicate(), 60))
    assert check.returncode == 0, stdout + stderr
    assert "every 1m30s" in stdout and "every 2m" in stdout and "every 1d2h" in stdout
    assert "3×1s500ms" in stdout
