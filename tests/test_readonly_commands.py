"""Read-only commands (`outbox`, `check`) find the database the config names, never create one, and
do not need the secrets they do not use."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from monitor.delivery.outbox_store import OutboxStore
from monitor.events import Event, Source


def run(cwd, *args, env=None):
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=60)


def write(dirpath, state_path):
    dirpath.mkdir(parents=True, exist_ok=True)
    cfg = {"hosts": [{"name": "gw", "address": "127.0.0.1"}],
           "notifiers": [{"name": "tg", "type": "telegram", "token": "${TG_TOKEN_NOT_SET_ANYWHERE}", "chat_id": 1}],
           "routes": [{"events": ["*"], "notify": ["tg"]}], "state": {"path": state_path}, "plugins_dir": None}
    (dirpath / "monitor.yaml").write_text(yaml.safe_dump(cfg))
    return dirpath / "monitor.yaml"


def test_outbox_from_another_directory_finds_the_db_next_to_the_config_without_secrets(tmp_path):
    etc = tmp_path / "etc"
    cfg = write(etc, "./pantau.db")
    with OutboxStore(etc / "pantau.db") as store:
        store.add(Event("host.down", Source("host", "gw", "127.0.0.1"), {}), [("tg", None)], now=1.0)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    proc = run(elsewhere, "outbox", "-c", str(cfg))  # TG_TOKEN_NOT_SET_ANYWHERE is not set
    assert proc.returncode == 0, proc.stderr
    assert "tg" in proc.stdout and "pending     1" in proc.stdout
    assert not (elsewhere / "pantau.db").exists()


def test_outbox_without_a_db_says_so_and_creates_nothing(tmp_path):
    cfg = write(tmp_path / "etc", str(tmp_path / "var" / "pantau.db"))
    (tmp_path / "var").mkdir()
    for action in ("list", "retry"):
        proc = run(tmp_path, "outbox", action, "-c", str(cfg))
        assert proc.returncode == 1 and "no state database at" in proc.stderr and "empty" not in proc.stdout
    assert list((tmp_path / "var").iterdir()) == []


def test_outbox_reports_a_bad_state_section_by_path(tmp_path):
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("state: {path: [1, 2]}\n")
    proc = run(tmp_path, "outbox", "-c", str(cfg))
    assert proc.returncode == 2 and "state.path" in proc.stderr and "Traceback" not in proc.stderr


def test_check_never_creates_the_db(tmp_path):
    cfg = write(tmp_path / "etc", str(tmp_path / "var" / "pantau.db"))
    (tmp_path / "var").mkdir()
    proc = run(tmp_path, "check", "-c", str(cfg), env={"TG_TOKEN_NOT_SET_ANYWHERE": "42:abc"})
    assert proc.returncode == 0, proc.stderr
    assert "(not created yet)" in proc.stdout
    assert list((tmp_path / "var").iterdir()) == []


def test_check_needs_no_secrets_but_says_which_are_unset(tmp_path):
    cfg = tmp_path / "monitor.yaml"
    base = {"hosts": [{"name": "gw", "address": "127.0.0.1"}],
            "notifiers": [{"name": "tg", "type": "telegram", "token": "${PANTAU_T_TOKEN}", "chat_id": -100123},
                          {"name": "hook", "type": "webhook", "url": "${PANTAU_T_URL}", "secret": "${PANTAU_T_KEY}"}],
            "routes": [{"events": ["*"], "notify": ["tg", "hook"]}], "plugins_dir": None,
            "state": {"path": str(tmp_path / "s.db")}}
    cfg.write_text(yaml.safe_dump(base))
    proc = run(tmp_path, "check", "-c", str(cfg))
    assert proc.returncode == 0, proc.stderr
    unset = [line for line in proc.stdout.splitlines() if "is not set here" in line]
    assert sorted(line.split(":")[1].strip() for line in unset) == ["notifiers[0].token", "notifiers[1].secret",
                                                                     "notifiers[1].url"]
    assert run(tmp_path, "check", "--strict", "-c", str(cfg)).returncode == 1
    # the config's own mistakes are still errors, and the stand-in values never appear in them
    base["notifiers"][0]["chat_id"] = "not-a-chat"
    base["hosts"][0]["interval"] = "ten"
    cfg.write_text(yaml.safe_dump(base))
    bad = run(tmp_path, "check", "-c", str(cfg))
    assert bad.returncode == 2
    assert "hosts[0].interval: invalid duration 'ten'" in bad.stderr and "unset.invalid" not in bad.stderr
    # with the secrets set there is nothing to warn about
    base["notifiers"][0]["chat_id"] = -100123
    del base["hosts"][0]["interval"]
    cfg.write_text(yaml.safe_dump(base))
    good = run(tmp_path, "check", "--strict", "-c", str(cfg),
               env={"PANTAU_T_TOKEN": "42:real", "PANTAU_T_URL": "http://127.0.0.1:9/e", "PANTAU_T_KEY": "k3y-real"})
    assert good.returncode == 0 and "warning" not in good.stdout, good.stdout
