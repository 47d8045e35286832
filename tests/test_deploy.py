"""The first hour's install paths: README's two commands are what CI runs, the compose file and the
systemd unit are well-formed and carry what they promise, and the healthcheck really checks pantau."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", readme, re.S)[:2]]


def test_readme_commands_use_a_venv_and_ci_runs_the_test_command_exactly():
    demo, tests = readme_commands()
    assert demo.startswith("python3 -m venv .venv && ") and demo.endswith(".venv/bin/pantau demo")
    assert tests.startswith("python3 -m venv .venv && ") and '.venv/bin/pip install -e ".[test]"' in tests
    assert tests.endswith(".venv/bin/python -m pytest -q")
    for command in (demo, tests):  # no pip outside the venv: Debian/Ubuntu refuse it (PEP 668)
        assert re.findall(r"(?<![/\w])pip3? install", command) == [], command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, "`.ci/run` must run README's test command exactly"
    assert ".venv/bin/python -m ruff check ." in ci
    assert any("PANTAU_ICMP_LOAD=" in line for line in ci)  # the ICMP tests beside foreign traffic


def test_compose_runs_pantau_with_waha_healthcheck_state_volume_and_net_raw():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    pantau, waha = compose["services"]["pantau"], compose["services"]["waha"]
    assert "waha" in waha["image"] and pantau["depends_on"] == ["waha"]
    assert "NET_RAW" in pantau["cap_add"]
    assert any(v.endswith(":/var/lib/pantau") and v.split(":")[0] in compose["volumes"] for v in pantau["volumes"])
    assert "/healthz" in " ".join(pantau["healthcheck"]["test"])
    assert pantau["environment"]["PANTAU_HTTP_LISTEN"].endswith(":8080")
    monitor = yaml.safe_load((ROOT / "monitor.yaml").read_text())
    assert "PANTAU_HTTP_LISTEN" in monitor["http"]["listen"]  # the healthcheck's server is configured


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_compose_healthcheck_command_passes_against_a_running_pantau(tmp_path):
    """Run `pantau run` with an HTTP listener and execute the compose healthcheck's own command at it."""
    port = _free_port()
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({"http": {"listen": f"127.0.0.1:{port}"}, "state": {"path": str(tmp_path / "s.db")},
                                   "plugins_dir": None}))
    test = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["pantau"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    command = [sys.executable, *[arg.replace(":8080/", f":{port}/") for arg in test[2:]]]
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitor", "run", "-c", str(cfg),
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:
            check = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.DEVNULL)
            if await check.wait() == 0:
                break
            assert loop.time() < deadline, "the healthcheck never passed"
            await asyncio.sleep(0.2)
    finally:
        proc.terminate()
        await proc.wait()
    stopped = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.DEVNULL)
    assert await stopped.wait() != 0  # and it fails when pantau is gone: it really checks


def test_systemd_unit_has_capability_state_dynamic_user_and_reload(tmp_path):
    text = (ROOT / "deploy" / "pantau.service").read_text()
    keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert keys["AmbientCapabilities"] == "CAP_NET_RAW" and keys["CapabilityBoundingSet"] == "CAP_NET_RAW"
    assert keys["StateDirectory"] == "pantau" and keys["DynamicUser"] == "yes"
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert keys["ExecStart"].endswith("pantau run -c /etc/pantau/monitor.yaml")
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs systemd)")
    unit = tmp_path / "pantau.service"
    unit.write_text(text.replace("/opt/pantau/bin/pantau", "/bin/true"))  # no install here
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr
