"""`pantau test-notify`: marked as a test in its language, at the current time, never to the
subscriber or a sample number unless --to NUMBER; --event covers every event type."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from fake_peers import form_peer

from monitor.cli.main import main
from monitor.events import EVENT_TYPES


def config(tmp_path, notifier) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"notifiers": [notifier], "routes": [{"events": ["*"], "notify": [notifier["name"]]}],
                                    "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}))
    return str(path)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize(("language", "marker"), [("id", "[TES] "), ("en", "[TEST] ")])
def test_every_event_type_is_marked_and_dated_now(tmp_path, capsys, event_type, language, marker):
    cfg = config(tmp_path, {"name": "layar", "type": "console", "language": language})
    before = datetime.now(ZoneInfo("Asia/Jakarta"))
    assert main(["test-notify", "layar", "--event", event_type, "-c", cfg]) == 0
    after = datetime.now(ZoneInfo("Asia/Jakarta"))
    out = capsys.readouterr().out
    assert out.startswith(marker), out
    fmt = "%d/%m/%Y" if language == "id" else "%Y-%m-%d"
    # the current time, not the sample's fixed 23/11/2026 09:44:05
    assert any(t.strftime(fmt) in out and t.strftime("%H:%M") in out for t in (before, after)), out


def test_unknown_event_type_is_a_usage_error(tmp_path, capsys):
    cfg = config(tmp_path, {"name": "layar", "type": "console"})
    assert main(["test-notify", "layar", "--event", "host.sideways", "-c", cfg]) == 2


async def test_whatsapp_test_goes_to_the_admin_only_never_the_subscriber(tmp_path, capsys):
    async with form_peer() as peer:
        cfg = config(tmp_path, {"name": "wa", "type": "whatsapp", "provider": "form",
                                "url": f"{peer.url}/send-message", "to": ["0857-1111-2222", "subscriber"]})
        for event_type in ("hotspot.login", "hotspot.logout", "host.down"):
            assert await asyncio.to_thread(main, ["test-notify", "wa", "--event", event_type, "-c", cfg]) == 0
        numbers = [r.form["number"] for r in peer.received]
        assert numbers == ["6285711112222"] * 3  # never 6285712345678, the sample subscriber
        assert all(r.form["message"].startswith("[TES] ") for r in peer.received)
        assert "subscriber` skipped" in capsys.readouterr().out

        assert await asyncio.to_thread(main, ["test-notify", "wa", "--event", "hotspot.login", "--to",
                                              "0812-9876-5432", "-c", cfg]) == 0
        assert [r.form["number"] for r in peer.received[3:]] == ["6281298765432"]


def test_to_on_a_notifier_without_recipients_is_a_usage_error(tmp_path, capsys):
    cfg = config(tmp_path, {"name": "layar", "type": "console"})
    assert main(["test-notify", "layar", "--to", "08123456789", "-c", cfg]) == 2
    assert "--to applies to" in capsys.readouterr().err
