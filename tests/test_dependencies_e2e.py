"""A parent and its children through a real `pantau run` with netns test hosts: the parent and ten
children lose the network together → one message (the parent's DOWN, "10 hosts behind it");
children return, then the parent → its UP and one DOWN for each child still down. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys

import pytest
import yaml
from fake_peers import generic_peer
from nethost import netns_available, new_host

CHILDREN = 10


def start(config_path, tmp_path):
    out = open(tmp_path / "stdout.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config_path)], stdout=out,
                            stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1")), out


async def settle(peer, count, quiet=1.5, timeout=20.0):
    """Wait for ``count`` requests (or the timeout), then ``quiet`` seconds for any extra ones."""
    with contextlib.suppress(TimeoutError):
        await peer.wait_received(count, timeout=timeout)
    await asyncio.sleep(quiet)
    return [(r.json["type"], r.json["source"]["name"]) for r in peer.received]


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for netns test hosts")
async def test_pantau_run_parent_outage_is_one_message_then_the_children_still_down(tmp_path):
    async with generic_peer() as peer:
        with contextlib.ExitStack() as stack:
            olt = stack.enter_context(new_host())
            kids = [stack.enter_context(new_host()) for _ in range(CHILDREN)]
            cfg = {
                "defaults": {"interval": "200ms", "count": 1, "timeout": "150ms", "down_after": 2, "up_after": 2},
                "hosts": [{"name": "olt", "address": olt.address},
                          *({"name": f"cpe-{i}", "address": k.address, "parent": "olt"} for i, k in enumerate(kids))],
                "notifiers": [{"name": "hook", "type": "webhook", "url": peer.url + "/events"}],
                "routes": [{"events": ["host.*"], "notify": ["hook"]}],
                "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
            }
            path = tmp_path / "monitor.yaml"
            path.write_text(yaml.safe_dump(cfg))
            proc, out = start(path, tmp_path)
            try:
                await asyncio.sleep(2.0)  # all established UP, silently
                assert peer.received == []
                for h in [olt, *kids]:
                    h.down()
                got = await settle(peer, 1)
                assert got == [("host.down", "olt")], got
                assert peer.received[0].json["data"]["behind"] == CHILDREN
                for k in kids[3:]:
                    k.up()
                await asyncio.sleep(1.5)  # their UPs are suppressed: the parent is still down
                assert len(peer.received) == 1
                olt.up()
                got = await settle(peer, 5)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
                out.close()
    assert got[1] == ("host.up", "olt")
    assert sorted(got[2:]) == [("host.down", f"cpe-{i}") for i in range(3)]
    assert {r.json["data"]["reconciled"] for r in peer.received[2:]} == {"parent"}
