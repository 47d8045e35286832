"""The pantau command's smaller subcommands: --version, schema, test-notify, outbox."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import yaml
from fake_peers import Reply, generic_peer

from monitor import __version__
from monitor.cli.main import main
from monitor.delivery.outbox_store import OutboxStore
from monitor.events import Event, Source


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def test_version_via_module_and_console_script():
    """`python -m monitor --version` prints the package version and exits 0."""
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"pantau {__version__}"


def test_unknown_command_is_usage_error():
    """Bad usage exits 2 (argparse), like a bad config."""
    assert run_cli("frobnicate").returncode == 2


def test_published_schema_is_current(root, capsys):
    """docs/monitor.schema.json equals `pantau schema` output (regenerate with `pantau schema`)."""
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((root / "docs" / "monitor.schema.json").read_text())
    assert {"hosts", "routers", "notifiers", "routes"} <= set(printed["properties"])
    interval = printed["$defs"]["CheckDefaults"]["properties"]["interval"]
    assert any(v.get("type") == "string" for v in interval["anyOf"])  # editors accept "10s"


def write_config(tmp_path, url: str) -> str:
    cfg = {"notifiers": [{"name": "hook", "type": "webhook", "url": url, "secret": "tn-secret-4411"}],
           "routes": [{"events": ["host.*"], "notify": ["hook"]}],
           "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


async def test_test_notify_reports_success_and_provider_error(tmp_path):
    """test-notify sends a real sample through the notifier: exit 0 with the answer, then exit 1
    quoting the provider's own error text, never the secret."""
    async with generic_peer(Reply(200, json={"ok": True}), Reply(401, text="invalid signature key")) as peer:
        cfg = write_config(tmp_path, peer.url + "/in")
        ok = await asyncio.to_thread(run_cli, "test-notify", "hook", "-c", cfg)
        bad = await asyncio.to_thread(run_cli, "test-notify", "hook", "-c", cfg, "--event", "hotspot.login")
    assert ok.returncode == 0 and "hook: OK" in ok.stdout and "'status': 200" in ok.stdout
    assert [r.json["type"] for r in peer.received] == ["host.down", "hotspot.login"]
    assert bad.returncode == 1
    assert "FAILED (not retryable)" in bad.stdout and "HTTP 401: invalid signature key" in bad.stdout
    assert "tn-secret-4411" not in ok.stdout + ok.stderr + bad.stdout + bad.stderr


def test_test_notify_unknown_name_exits_2(tmp_path):
    """Naming a notifier the config does not have is a usage problem (2), listing the known ones."""
    proc = run_cli("test-notify", "nope", "-c", write_config(tmp_path, "http://127.0.0.1:9"))
    assert proc.returncode == 2 and "no notifier named 'nope' (notifiers: hook)" in proc.stderr


def test_outbox_list_and_retry(tmp_path):
    """`pantau outbox` shows pending and dead rows from the state file; `retry` requeues the dead."""
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    with OutboxStore(tmp_path / "state.db") as store:
        e1 = Event("host.down", Source("host", "olt-1", "127.0.0.9"), {"reason": "timeout"})
        e2 = Event("host.up", Source("host", "olt-1", "127.0.0.9"), {"down_for_s": 60.0})
        store.add(e1, [("hook", None)], now=1000.0)
        store.add(e2, [("hook", None)], now=1001.0)
        dead_id = store.list(status="pending")[0].id
        store.mark_dead([dead_id], error="HTTP 401: invalid key", now=1002.0)
    listed = run_cli("outbox", "-c", cfg)
    assert listed.returncode == 0
    assert "hook" in listed.stdout and "pending     1" in listed.stdout and "dead     1" in listed.stdout
    assert "error: HTTP 401: invalid key" in listed.stdout and "host.up" in listed.stdout
    retried = run_cli("outbox", "retry", "-c", cfg)
    assert retried.returncode == 0 and "requeued 1 dead message(s)" in retried.stdout
    with OutboxStore(tmp_path / "state.db") as store:
        assert store.counts()["dead"] == 0 and store.counts()["pending"] == 2


def test_relative_template_file_resolves_from_config_dir(tmp_path):
    """A `{file: …}` template relative to the config is found at run time whatever the cwd."""
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "down.j2").write_text("CUSTOM DOWN {{ source.name }}")
    cfg = {"notifiers": [{"name": "screen", "type": "console",
                          "templates": {"host.down": {"file": "tpl/down.j2"}}}],
           "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "monitor", "test-notify", "screen", "-c",
                           str(tmp_path / "monitor.yaml")], capture_output=True, text=True, timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert "CUSTOM DOWN server-kantor" in proc.stdout


async def test_import_netwatch_command_prints_hosts_yaml(tmp_path):
    """`pantau import-netwatch --router NAME` reads /tool/netwatch over the API and prints hosts:
    YAML; an unknown router name exits 2 and a refused connection exits 1 — no password shown."""
    from monitor.routeros.sim.simulator import RouterSimulator

    async with RouterSimulator(password="nw-pass-99") as sim:
        sim.add_netwatch("10.9.8.7", comment="Tower Timur", interval="30s", timeout="1s")
        cfg = {"routers": [{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                            "password": "nw-pass-99", "timeout": "2s"}],
               "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(cfg))
        ok = await asyncio.to_thread(run_cli, "import-netwatch", "--router", "core", "-c", str(path))
        unknown = await asyncio.to_thread(run_cli, "import-netwatch", "--router", "edge", "-c", str(path))
        sim.set_fault("refuse")
        await asyncio.sleep(0.1)
        refused = await asyncio.to_thread(run_cli, "import-netwatch", "--router", "core", "-c", str(path))
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(ok.stdout)["hosts"] == [
        {"name": "Tower Timur", "address": "10.9.8.7", "interval": "30s", "timeout": "1s"}]
    assert unknown.returncode == 2 and "no router named 'edge' (routers: core)" in unknown.stderr
    assert refused.returncode == 1 and "refused" in refused.stderr
    assert "nw-pass-99" not in ok.stdout + ok.stderr + refused.stderr


def test_events_doc_example_is_the_real_schema(root):
    """The JSON example in docs/events.md parses as an Event and serialises back to itself."""
    text = (root / "docs" / "events.md").read_text()
    block = text.split("```json", 1)[1].split("```", 1)[0]
    doc = json.loads(block)
    assert Event.from_dict(doc).to_dict() == doc
