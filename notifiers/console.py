"""``type: console`` — print each event to standard output (or stderr).

``format: message`` (default) prints the rendered message template — the same words a WhatsApp or
Telegram recipient reads (``language: id | en``); ``line`` prints a compact one-line summary;
``json`` prints the webhook JSON (handy to pipe into jq).
"""

from __future__ import annotations

import sys
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.delivery.notify import BaseNotifier, NotifierContext
from monitor.delivery.templates.renderer import MessageConfig, TemplateRenderer
from monitor.events import Event


class ConsoleConfig(MessageConfig):
    format: Literal["message", "line", "json"] = "message"
    stream: Literal["stdout", "stderr"] = "stdout"


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

    def __init__(self, config: ConsoleConfig, context: NotifierContext):
        super().__init__(config, context)
        self.renderer = TemplateRenderer.from_config(config, "text", base_dir=context.config_dir)

    def _text(self, event: Event) -> str:
        if self.config.format == "json":
            return event.to_json()
        if self.config.format == "line":
            return summarize(event, ZoneInfo(self.config.timezone))
        return self.renderer.render(event) + "\n"

    async def send(self, event: Event, recipient: str | None = None) -> None:
        stream = sys.stdout if self.config.stream == "stdout" else sys.stderr
        stream.write(self._text(event) + "\n")
        stream.flush()
        self.last_response = {"printed": self.config.stream}

    async def send_digest(self, events: list[Event], recipient: str | None = None) -> None:
        if self.config.format != "message":
            for event in events:
                await self.send(event, recipient)
            return
        stream = sys.stdout if self.config.stream == "stdout" else sys.stderr
        stream.write(self.renderer.render_digest(events) + "\n\n")
        stream.flush()


NOTIFIER = ConsoleNotifier
