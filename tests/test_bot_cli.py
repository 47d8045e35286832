"""``pantau ctl`` (the bot's commands from the shell, as admin) and ``pantau audit``, as subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import yaml

from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_config(tmp_path, port: int, **bot) -> str:
    cfg = {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
           "routers": [{"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau",
                        "password": READ_PW, "timeout": 2,
                        "manage": {"username": "pantau-manage", "password": MANAGE_PW}}]}
    if bot:
        cfg["bot"] = bot
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


async def pantau(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitor", *args, env=env,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_ctl_reads_and_manages_with_confirmation_and_audit(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", profile="1jam")
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        config = write_config(tmp_path, sim.port)
        code, out, err = await pantau("ctl", "-c", config, "hotspot", "budi")
        assert code == 0, err
        assert "Profil: 1jam" in out and "Online: 10.5.50.2" in out
        # without -y and without a terminal, an account change is cancelled, not run
        code, out, _ = await pantau("ctl", "-c", config, "hotspot", "disable", "budi")
        assert code == 1 and "Dibatalkan" in out
        assert sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "false"
        code, out, err = await pantau("ctl", "-c", config, "-y", "hotspot", "disable", "budi")
        assert code == 0, err
        assert "nonaktif" in out and sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "true"
        assert sim.active() == []
        code, out, _ = await pantau("ctl", "-c", config, "-y", "hotspot", "password", "budi", "rahasia-baru")
        assert code == 0
        code, out, _ = await pantau("audit", "-c", config, "--since", "1h")
        assert code == 0
        assert "/hotspot budi  → ok" in out and "/hotspot disable budi  → cancelled" in out
        assert "rahasia-baru" not in out and "/hotspot password budi ***" in out
        code, out, _ = await pantau("audit", "-c", config, "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert {r["identity"] for r in rows} == {"ctl"} and {r["role"] for r in rows} == {"admin"}
        code, _, err = await pantau("audit", "-c", config, "--since", "kemarin")
        assert code == 2 and "--since" in err


async def test_ctl_router_down_exits_1(tmp_path):
    async with make_sim() as sim:
        port = sim.port
    code, out, _ = await pantau("ctl", "-c", write_config(tmp_path, port), "status")
    assert code == 1 and "tidak dapat dihubungi" in out
