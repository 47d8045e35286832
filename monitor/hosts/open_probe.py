"""Choosing the ICMP probe: the one-socket engine (many hosts) or icmplib (simple, per check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from .icmp.icmplib_probe import IcmplibProbe, detect_privileged
from .pace import echoes_per_second, pace_warning, sized_pps
from .probe import Probe

log = structlog.get_logger("pantau.icmp")

if TYPE_CHECKING:
    from ..config.model import HostCheck, IcmpConfig


async def open_probe(settings: IcmpConfig, hosts: Sequence[HostCheck] = ()) -> Probe:
    """Open the configured probe, paced for ``hosts`` (``icmp.pps: auto``); raises ProbeError (with
    how to fix it) when ICMP is not allowed."""
    if settings.engine == "icmplib":
        privileged = detect_privileged() if settings.privileged == "auto" else bool(settings.privileged)
        return IcmplibProbe(privileged=privileged)
    from .icmp.engine import open_icmp_engine

    # auto: the engine tries unprivileged datagram ICMP first and falls back to raw itself
    privileged = None if settings.privileged == "auto" else bool(settings.privileged)
    warning = pace_warning(settings.pps, list(hosts))
    if warning:
        log.warning("icmp.pace_too_low", message=warning, needed=round(echoes_per_second(hosts)),
                    allowed=settings.pps)
    return await open_icmp_engine(privileged=privileged, pps=sized_pps(settings.pps, hosts))
