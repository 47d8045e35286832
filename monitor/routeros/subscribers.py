"""Who a session belongs to: the subscriber's phone from /ip/hotspot/user or /ppp/secret, cached."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from ..errors import RouterError, RouterTrap
from .client import RouterClient
from .config import SubscriberConfig
from .sessions import MenuSpec

log = structlog.get_logger("pantau.routeros")


class SubscriberDirectory:
    """name → phone per secrets menu. Refreshed in full every ``refresh``; an unknown name is looked
    up on its own (a voucher created a moment ago) at most once per ``refresh``."""

    def __init__(self, config: SubscriberConfig, router: str, *, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.router = router
        self._clock = clock
        self._entries: dict[str, dict[str, tuple[str | None, str | None]]] = {}  # path → name → (phone, comment)
        self._loaded_at: dict[str, float] = {}
        self._missed_at: dict[tuple[str, str], float] = {}

    def due(self, spec: MenuSpec) -> bool:
        loaded = self._loaded_at.get(spec.secrets_path)
        return loaded is None or self._clock() - loaded >= self.config.refresh

    async def refresh(self, client: RouterClient, spec: MenuSpec) -> None:
        """Reload every name's phone. A trap (no permission) is logged and leaves phones unknown."""
        path = spec.secrets_path
        try:
            rows = await client.print(path, proplist=self._proplist())
        except RouterTrap as exc:
            log.warning("subscriber_lookup_trap", router=self.router, menu=path, error=str(exc))
            self._loaded_at[path] = self._clock()
            return
        self._entries[path] = {r.get("name", ""): self._entry(r) for r in rows}
        self._loaded_at[path] = self._clock()
        self._missed_at = {k: v for k, v in self._missed_at.items() if k[0] != path}

    def _proplist(self) -> list[str]:
        return list(dict.fromkeys(["name", "comment", self.config.field]))

    def _entry(self, row: dict[str, str]) -> tuple[str | None, str | None]:
        return self.config.phone_from(row.get(self.config.field)), row.get("comment")

    async def lookup(self, client: RouterClient | None, spec: MenuSpec,
                     name: str) -> tuple[dict[str, str] | None, str | None]:
        """(``{"phone": "628…"}`` or None, the user's/secret's comment or None).

        Asks the router about a name it has not seen yet (rate-limited per name).
        """
        path = spec.secrets_path
        entries = self._entries.setdefault(path, {})
        if name not in entries and client is not None:
            missed = self._missed_at.get((path, name))
            if missed is None or self._clock() - missed >= self.config.refresh:
                try:
                    rows = await client.print(path, proplist=self._proplist(), queries=[f"?name={name}"])
                except RouterTrap as exc:
                    log.warning("subscriber_lookup_trap", router=self.router, menu=path, error=str(exc))
                    rows = []
                except RouterError as exc:
                    log.warning("subscriber_lookup_failed", router=self.router, user=name, error=str(exc))
                    return None, None
                if rows:
                    entries[name] = self._entry(rows[0])
                else:
                    self._missed_at[(path, name)] = self._clock()
        phone, comment = entries.get(name, (None, None))
        return ({"phone": phone} if phone else None), comment
