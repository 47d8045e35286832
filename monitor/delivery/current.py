"""A notifier's provider as it is *now*, for parts that send through a named notifier (the
registration page's codes, approvals and relay; the bot's WhatsApp replies).

A SIGHUP reload replaces a changed notifier's instance in the engine's ``notifiers`` map; holding
the provider taken at start-up would keep sending with the old URL, token or key. This looks the
notifier up at every call instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CurrentProvider:
    def __init__(self, notifiers: Mapping[str, Any], name: str):
        self._notifiers, self.name = notifiers, name

    def current(self) -> Any:
        notifier = self._notifiers.get(self.name)
        if notifier is None:  # a reload refuses to remove it while something sends through it
            raise LookupError(f"notifier {self.name!r} is not configured")
        return notifier.provider

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        return await self.current().send(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.current(), attr)
