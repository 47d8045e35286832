"""The console notifier's three formats, as an operator reading stdout sees them."""

from __future__ import annotations

import json

from monitor.delivery.notify import NotifierContext
from monitor.delivery.templates.renderer import sample_events
from notifiers.console import ConsoleConfig, ConsoleNotifier


async def printed(capsys, fmt: str) -> str:
    down = next(e for e in sample_events() if e.type == "host.down")
    n = ConsoleNotifier(ConsoleConfig(name="s", type="console", format=fmt, timezone="Asia/Makassar"),
                        NotifierContext(http=None))
    await n.send(down)
    return capsys.readouterr().out


async def test_console_formats(capsys):
    """message = the rendered template, line = one summary line in the notifier's timezone,
    json = the schema v1 event."""
    message = await printed(capsys, "message")
    assert "HOST DOWN" in message and "Jam: 10:44:05 WITA" in message
    line = await printed(capsys, "line")
    assert line.count("\n") == 1
    assert line.startswith("2026-11-23 10:44:05 WITA  HOST.DOWN") and "reason=timeout" in line
    doc = json.loads(await printed(capsys, "json"))
    assert doc["type"] == "host.down" and doc["version"] == 1
