"""Secrets sweep: a config with a secret in every field that can carry one, and peers that echo
every credential back (Bearer header, URL query, userinfo, path). Then every CLI output —
check, test-notify, run logs, outbox — and the state database files are searched for each secret
and each fragment of it: none may appear."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from fake_peers import FakePeer, Received, Reply
from test_restart_e2e import Pantau, wait_until

from monitor.routeros.sim.simulator import RouterSimulator

S = {  # every secret, and the fragments a peer may echo on their own
    "hook_user_pw": "HookPass-77aa", "hook_path": "PathToken0123456789", "hook_query": "QueryKey-5566",
    "hmac": "HmacSecret-9988", "bearer": "BearerTok-1122334455", "header_key": "HeaderKey-6677",
    "tg_token": "TgSecretTokenABCDEF", "tg_api_key": "TgApiKey-4455", "wa_form_key": "WaFormKey-3344",
    "waha": "WahaKey-2233", "fonnte": "FonnteTok-1199", "cloud": "CloudTok-8877", "router": "RouterPw-5544",
}


def echo(r: Received) -> Reply:
    """A peer that refuses and repeats back everything it was sent, credentials included."""
    text = (f"refused {r.method} {r.path}?{'&'.join(f'{k}={v}' for k, v in r.query.items())} "
            f"auth={r.headers.get('Authorization')} key={r.headers.get('X-Api-Key')} "
            f"sig={r.headers.get('X-Pantau-Signature')} body={r.body[:200]!r}")
    return Reply(status=500, json={"ok": False, "status": False, "error_code": 500, "description": text,
                                   "message": text, "reason": text, "error": text})


def config(tmp: Path, peer: str, sim_port: int) -> Path:
    host = peer.removeprefix("http://")
    wa = {"type": "whatsapp", "to": ["081234567890"], "digest": {"enabled": False}}
    cfg = {
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": S["router"], "mode": "poll", "poll_interval": "200ms", "timeout": "1s"}],
        "notifiers": [
            {"name": "hook", "type": "webhook", "url": f"{peer}/in/{S['hook_path']}?api_key={S['hook_query']}",
             "secret": S["hmac"], "headers": {"Authorization": f"Bearer {S['bearer']}", "X-Api-Key": S["header_key"]}},
            {"name": "basic", "type": "webhook", "url": f"http://hookuser:{S['hook_user_pw']}@{host}/b"},
            {"name": "tg", "type": "telegram", "token": f"987654321:{S['tg_token']}", "chat_id": 42,
             "api_url": f"{peer}/tg?key={S['tg_api_key']}"},
            {"name": "form", "provider": "form", "url": f"{peer}/send?api_key={S['wa_form_key']}", **wa},
            {"name": "waha", "provider": "waha", "url": peer, "api_key": S["waha"], **wa},
            {"name": "fonnte", "provider": "fonnte", "url": peer, "token": S["fonnte"], **wa},
            {"name": "cloud", "provider": "cloud", "url": peer, "token": S["cloud"], "phone_number_id": "1234", **wa},
        ],
        "routes": [{"events": ["*"], "notify": ["hook", "basic", "tg", "form", "waha", "fonnte", "cloud"]}],
        "state": {"path": str(tmp / "state.db")}, "log": {"level": "debug", "format": "json"},
        "plugins_dir": None,
    }
    for n in cfg["notifiers"][3:]:
        n.setdefault("type", "whatsapp")
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def needles() -> dict[str, str]:
    out = dict(S)
    out["basic_userinfo"] = base64.b64encode(f"hookuser:{S['hook_user_pw']}".encode()).decode()
    out["bearer_header"] = f"Bearer {S['bearer']}"
    return out


def cli(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


async def test_no_secret_or_fragment_in_any_output_or_the_database(tmp_path):
    sim = RouterSimulator(username="pantau", password=S["router"])
    await sim.start()
    peer = FakePeer(echo)
    await peer.start()
    outputs: dict[str, str] = {}
    try:
        path = config(tmp_path, peer.url, sim.port)
        outputs["check"] = await asyncio.to_thread(cli, "check", "-c", str(path))
        assert "is valid" in outputs["check"], outputs["check"]
        for name in ("hook", "basic", "tg", "form", "waha", "fonnte", "cloud"):
            outputs[f"test-notify {name}"] = await asyncio.to_thread(cli, "test-notify", name, "-c", str(path))
            assert "FAILED" in outputs[f"test-notify {name}"], outputs[f"test-notify {name}"]
        received = len(peer.received)
        run = Pantau(path, tmp_path / "run.log")
        try:
            await run.wait_log("router_baseline", 2)
            sim.hotspot_login("budi", "10.5.50.2", "AA:BB:CC:00:00:02")
            await wait_until(lambda: len(peer.received) >= received + 7)
            await run.wait_log("delivery.failed", 7)
            run.proc.send_signal(signal.SIGTERM)
            assert run.proc.wait(timeout=10) == 0
        finally:
            run.ensure_dead()
        outputs["run"] = run.log.read_text()
        outputs["outbox"] = await asyncio.to_thread(cli, "outbox", "-c", str(path))
        assert "error:" in outputs["outbox"], outputs["outbox"]
    finally:
        await peer.close()
        await sim.stop()
    # the peers did see (and echo) the secrets: the sweep below is not vacuous
    echoed = " ".join(str(r.headers) + r.path + str(r.query) for r in peer.received)
    assert S["bearer"] in echoed and S["hook_query"] in echoed and S["wa_form_key"] in echoed
    for db in tmp_path.glob("state.db*"):
        outputs[db.name] = db.read_bytes().decode("latin-1")
    assert "state.db" in outputs
    leaks = [f"{name} ({what}) in {where}" for where, text in outputs.items()
             for what, name in ((w, n) for w, n in needles().items()) if name in text]
    assert not leaks, "\n".join(leaks)
    assert "***" in outputs["run"] and "***" in outputs["outbox"]
