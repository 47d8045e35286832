"""``type: console`` — print one line per event to standard output (or stderr).

The line is the rendered message template when templates are available, otherwise a compact
summary. ``format: json`` prints the webhook JSON instead (handy to pipe into jq).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.events import Event
from monitor.notify import BaseNotifier, NotifierConfig


class ConsoleConfig(NotifierConfig):
    format: Literal["text", "json"] = "text"
    stream: Literal["stdout", "stderr"] = "stdout"
    timezone: str | None = None  # default: the config's top-level timezone


def summarize(event: Event, tz: ZoneInfo) -> str:
    at = event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    src = event.source
    where = f"{src.name} ({src.address})" if src.address else src.name
    keys = ("user", "name", "address", "mac", "caller_id", "loss", "reason", "error",
            "down_for_s", "uptime_s", "checks_failed")
    details = " ".join(f"{k}={event.data[k]}" for k in keys if event.data.get(k) not in (None, ""))
    return f"{at}  {event.type.upper():<15} {where}  {details}".rstrip()


class ConsoleNotifier(BaseNotifier):
    Config = ConsoleConfig
    config: ConsoleConfig

    def _tz(self) -> ZoneInfo:
        zone = self.config.timezone or getattr(self.context.settings, "timezone", None) or "UTC"
        return ZoneInfo(zone)

    async def send(self, event: Event, recipient: str | None = None) -> None:
        stream = sys.stdout if self.config.stream == "stdout" else sys.stderr
        line = event.to_json() if self.config.format == "json" else summarize(event, self._tz())
        stream.write(line + "\n")
        stream.flush()
        self.last_response = {"printed": True, "at": datetime.now().isoformat(timespec="seconds")}


NOTIFIER = ConsoleNotifier
