"""How fast the ICMP engine must send so that every host is checked on time.

Each host needs ``count`` echoes every ``interval`` seconds; the engine sends at most ``pps``
echoes a second. When the hosts need more than that, checks wait in the send queue, the next slot
finds the host still busy and is skipped: 10,000 hosts × 3 echoes / 10 s need 3,000/s, and at the
old fixed 2,000/s every host was checked about every 15 s instead of 10 — silently. ``icmp.pps:
auto`` (the default) sizes the pace from the configuration with headroom; an explicit ``pps``
below the need is reported with the numbers at ``pantau check`` and at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

MIN_AUTO_PPS = 2000
HEADROOM = 1.25


class _Check(Protocol):
    interval: float
    count: int


def echo_spacing(interval: float) -> float:
    """Spacing of the echoes within one check: short, and well inside the interval."""
    return min(0.2, interval / 10)


def check_duration(interval: float, count: int, timeout: float) -> float:
    """The longest one check can take: its echoes ``echo_spacing`` apart, then ``timeout``."""
    return (count - 1) * echo_spacing(interval) + timeout


def echoes_per_second(hosts: Iterable[_Check]) -> float:
    return sum(h.count / h.interval for h in hosts)


def sized_pps(configured: int | str, hosts: Iterable[_Check]) -> int:
    """The pace to run at: ``auto`` → the need plus headroom (at least MIN_AUTO_PPS); a number as is."""
    if configured != "auto":
        return int(configured)
    return max(MIN_AUTO_PPS, math.ceil(round(echoes_per_second(hosts) * HEADROOM, 6)))


def pace_warning(configured: int | str, hosts: list[_Check]) -> str | None:
    """A sentence with the numbers when an explicit ``icmp.pps`` cannot keep every host on time."""
    if configured == "auto" or not hosts:
        return None
    needed = round(echoes_per_second(hosts), 6)
    if needed <= int(configured):
        return None
    return (f"icmp.pps: {int(configured)} echoes/s allowed but the hosts need {needed:,.0f}/s "
            f"({len(hosts)} hosts × count / interval): checks would be skipped; raise icmp.pps to at "
            f"least {math.ceil(round(needed * HEADROOM, 6))} or set it to auto")
