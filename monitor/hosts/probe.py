"""The probe interface: one check of one address → a CheckResult. Engines live behind it."""

from __future__ import annotations

import statistics
from typing import NamedTuple, Protocol


class CheckResult(NamedTuple):
    """The outcome of one check (``sent`` echo requests). Immutable; a NamedTuple rather than a
    frozen dataclass because the ICMP engine builds one per host per check (4× cheaper).

    ``reason`` explains a failure the probe saw itself: ``timeout`` (no reply at all),
    ``unresolvable``, ``no_route``, ``unreachable``, ``ttl_exceeded``, ``send_error: …``.
    """

    address: str
    sent: int
    received: int
    rtts_ms: tuple[float, ...] = ()
    reason: str | None = None
    resolved: str | None = None  # the IP actually pinged, when address was a name

    @property
    def loss(self) -> float:
        return 1.0 if self.sent == 0 else (self.sent - self.received) / self.sent

    @property
    def rtt_min_ms(self) -> float | None:
        return min(self.rtts_ms) if self.rtts_ms else None

    @property
    def rtt_avg_ms(self) -> float | None:
        return sum(self.rtts_ms) / len(self.rtts_ms) if self.rtts_ms else None

    @property
    def rtt_max_ms(self) -> float | None:
        return max(self.rtts_ms) if self.rtts_ms else None

    @property
    def jitter_ms(self) -> float | None:
        """Mean absolute difference of consecutive RTTs (RFC 3550 style), None below two replies."""
        if len(self.rtts_ms) < 2:
            return None
        return statistics.fmean(abs(a - b) for a, b in zip(self.rtts_ms, self.rtts_ms[1:], strict=False))


class Probe(Protocol):
    """Checks addresses. Implementations must never raise for a per-host problem (bad name,
    no route): they return a CheckResult with ``received == 0`` and a ``reason``. They raise
    ``ProbeError`` only when they cannot work at all (no ICMP permission)."""

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        """Send ``count`` echoes ``interval`` seconds apart, wait ``timeout`` per echo."""
        ...

    async def aclose(self) -> None: ...
