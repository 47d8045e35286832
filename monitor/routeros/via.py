"""Probing hosts *through* a router: ``hosts[].via: ROUTER`` pings from that router with ``/ping``.

One ``RouterPinger`` per router serves every ``via:`` host of it over one API connection (tagged
commands multiplex), at most ``ping_concurrency`` pings at a time so the router's CPU is respected.
It implements the ``Probe`` interface, so ``via:`` hosts run through the same ``HostMonitor``,
judge and detector as direct hosts.

When the router itself cannot be reached, ``check`` raises ``RouterError``: that says nothing about
the host, so the host loop skips the check (the host keeps its state; the router watcher reports
``router.down`` once). Reconnects back off exponentially (1 s doubling to 5 min) and are shared by
every host of the router: 500 hosts behind a dead router cause one connect attempt per backoff
step, not 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from ..errors import RouterError
from ..hosts.probe import CheckResult
from .backoff import BACKOFF_CAP, ConnectGate
from .client import RouterClient
from .config import RouterConfig
from .ping import router_ping

log = structlog.get_logger("pantau.routeros.via")

BACKOFF_FIRST = 1.0


class RouterPinger:
    """The ``Probe`` for the ``via:`` hosts of one router."""

    def __init__(self, router: RouterConfig, *, size: int = 56, clock: Callable[[], float] = time.monotonic):
        self.router = router
        self.size = size
        self._clock = clock
        self._limit = asyncio.Semaphore(router.ping_concurrency)
        self._client: RouterClient | None = None
        self._connecting = asyncio.Lock()
        self._gate = ConnectGate(first=BACKOFF_FIRST, cap=BACKOFF_CAP, clock=clock)
        self._log = log.bind(router=router.name)

    async def _connected(self) -> RouterClient:
        async with self._connecting:
            if self._client is not None and not self._client.closed:
                return self._client
            self._gate.check()  # backing off: this check is skipped without touching the router
            c = self.router
            try:
                self._client = await RouterClient.for_router(c)
            except RouterError as exc:
                delay, first = self._gate.failed(exc) or (0.0, False)
                if first:
                    self._log.warning("via.router_unreachable", error=str(exc), kind=exc.kind, retry_in_s=delay)
                raise
            if self._gate.succeeded():
                self._log.info("via.router_reachable")
            return self._client

    def router_back(self) -> None:
        """The router watcher saw the router come back: the next check connects at once."""
        self._gate.reopen()

    async def check(self, address: str, *, count: int, timeout: float, interval: float,
                    size: int | None = None) -> CheckResult:
        """Ping ``address`` from the router (``timeout`` is the router's own per-echo wait)."""
        client = await self._connected()
        async with self._limit:
            try:
                return await router_ping(client, address, count=count, interval=interval,
                                         size=size or self.size)
            except RouterError:
                if client.closed:
                    self._log.info("via.link_lost", address=address)
                raise

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class SizedProbe:
    """One host's view of a RouterPinger with that host's echo ``size``."""

    def __init__(self, pinger: RouterPinger, size: int):
        self.pinger, self.size = pinger, size

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        return await self.pinger.check(address, count=count, timeout=timeout, interval=interval, size=self.size)

    async def aclose(self) -> None:
        """The pinger is shared; its owner closes it."""
