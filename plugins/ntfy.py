"""Example drop-in plugin: push notifications through ntfy (https://ntfy.sh or a self-hosted server).

Copy this file as a starting point for your own notifier: a Config model (validated with
path-qualified errors like any built-in), a class with ``async send(event, recipient=None)`` that
raises ``NotifyError(retryable=...)``, and ``NOTIFIER`` naming the class. ``TYPE`` is the name
used in ``type:`` (default: the file name).

    notifiers:
      - name: phone
        type: ntfy
        url: https://ntfy.sh          # or your own server
        topic: pantau-rtrw-net-7f3a
        token: ${NTFY_TOKEN}          # optional access token
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor import BaseNotifier, Event, HttpUrlSecret, NotifierConfig, Secret, SecretUrl, post_checked

TYPE = "ntfy"

_PRIORITY = {"host.down": "high", "router.down": "urgent", "host.up": "default", "router.up": "default"}
_TAGS = {"host.down": "red_circle", "router.down": "rotating_light", "host.up": "green_circle",
         "router.up": "white_check_mark", "hotspot.login": "inbox_tray", "hotspot.logout": "outbox_tray",
         "ppp.connect": "electric_plug", "ppp.disconnect": "x"}


class NtfyConfig(NotifierConfig):
    type: Literal["ntfy"] = "ntfy"
    url: HttpUrlSecret = SecretUrl("https://ntfy.sh")  # may carry user:password@
    topic: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    token: Secret | None = None


def render(event: Event) -> tuple[str, str]:
    """Title and body for one event: short enough for a lock screen."""
    src, d = event.source, event.data
    title = f"{event.type.upper()} {src.name}"
    lines = [f"{src.name} ({src.address})" if src.address else src.name]
    for key in ("user", "name", "address", "mac", "reason", "error", "loss"):
        if d.get(key) not in (None, ""):
            lines.append(f"{key}: {d[key]}")
    if d.get("down_for_s") is not None:
        lines.append(f"down for {round(d['down_for_s'])} s")
    return title, "\n".join(lines)


class NtfyNotifier(BaseNotifier):
    Config = NtfyConfig
    config: NtfyConfig

    async def send(self, event: Event, recipient: str | None = None) -> None:
        title, body = render(event)
        headers = {"Title": title, "Priority": _PRIORITY.get(event.type, "default"),
                   "Tags": _TAGS.get(event.type, "bell"), "X-Pantau-Id": event.id}
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        url = f"{self.config.url.get_secret_value().rstrip('/')}/{self.config.topic}"
        status, _ = await post_checked(self.http, url, data=body.encode("utf-8"), headers=headers,
                                       timeout=self.config.timeout, what=f"ntfy {self.name}")
        self.last_response = {"status": status}


NOTIFIER = NtfyNotifier
