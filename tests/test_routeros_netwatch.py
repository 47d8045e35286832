"""import-netwatch: /tool/netwatch of a (simulated) router becomes hosts: YAML pantau accepts."""

from __future__ import annotations

import yaml
from routeros_helpers import PASSWORD, router_config

from monitor.routeros.netwatch import import_netwatch
from monitor.routeros.sim.simulator import RouterSimulator


async def test_import_netwatch_yaml() -> None:
    """Names come from comments (first line), durations in every RouterOS form are converted,
    duplicates get distinct names, disabled entries are skipped with a note, UTF-8 survives."""
    async with RouterSimulator(password=PASSWORD) as sim:
        sim.add_netwatch("10.0.0.1", comment="AP Lantai 2 — Budi\nganti 2025", interval="1m", timeout="1s")
        sim.add_netwatch("10.0.0.2", comment="CCTV", interval="00:00:30", timeout="500ms")
        sim.add_netwatch("10.0.0.3", comment="CCTV", interval="1h2m")
        sim.add_netwatch("10.0.0.4", interval="10s")
        sim.add_netwatch("10.0.0.5", comment="lama", disabled=True)
        text = await import_netwatch(router_config(sim.port))
    doc = yaml.safe_load(text)
    assert doc["hosts"] == [
        {"name": "AP Lantai 2 — Budi", "address": "10.0.0.1", "interval": "1m", "timeout": "1s"},
        {"name": "CCTV", "address": "10.0.0.2", "interval": "30s", "timeout": "500ms"},
        {"name": "CCTV (2)", "address": "10.0.0.3", "interval": "1h2m", "timeout": "1s"},
        {"name": "10.0.0.4", "address": "10.0.0.4", "interval": "10s", "timeout": "1s"},
    ]
    assert "skipped disabled netwatch 'lama'" in text


async def test_imported_hosts_validate_as_pantau_host_config() -> None:
    """The produced entries are valid pantau HostConfig items (the lead's config model)."""
    from monitor.config.model import HostConfig

    async with RouterSimulator(password=PASSWORD) as sim:
        sim.add_netwatch("10.0.0.1", comment="gw", interval="2m", timeout="1s")
        doc = yaml.safe_load(await import_netwatch(router_config(sim.port)))
    host = HostConfig.model_validate(doc["hosts"][0])
    assert (host.name, host.interval, host.timeout) == ("gw", 120.0, 1.0)
