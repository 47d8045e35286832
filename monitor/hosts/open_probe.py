"""Choosing the ICMP probe: the one-socket engine (many hosts) or icmplib (simple, per check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .icmp.icmplib_probe import IcmplibProbe, detect_privileged
from .probe import Probe

if TYPE_CHECKING:
    from ..config.model import IcmpConfig


async def open_probe(settings: IcmpConfig) -> Probe:
    """Open the configured probe; raises ProbeError (with how to fix it) when ICMP is not allowed."""
    if settings.engine == "icmplib":
        privileged = detect_privileged() if settings.privileged == "auto" else bool(settings.privileged)
        return IcmplibProbe(privileged=privileged)
    from .icmp.engine import open_icmp_engine

    # auto: the engine tries unprivileged datagram ICMP first and falls back to raw itself
    privileged = None if settings.privileged == "auto" else bool(settings.privileged)
    return await open_icmp_engine(privileged=privileged, pps=settings.pps)
