"""A probe the test steers: every check answers at once, lost when its address is in ``down``."""

from __future__ import annotations

import asyncio

from monitor.hosts.probe import CheckResult


class SteerableProbe:
    def __init__(self, rtt_ms: float = 1.0) -> None:
        self.down: set[str] = set()
        self.rtt_ms = rtt_ms

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        await asyncio.sleep(0)
        if address in self.down:
            return CheckResult(address, count, 0, (), "timeout")
        return CheckResult(address, count, count, (self.rtt_ms,) * count)

    async def aclose(self) -> None:
        pass
