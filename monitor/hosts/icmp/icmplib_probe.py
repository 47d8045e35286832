"""A per-check probe on icmplib's ``async_ping``: simple, one socket per check.

Good for tens of hosts; the one-socket engine in this package carries thousands. Both follow
``monitor.probe.Probe``. icmplib errors are translated here: a name that does not resolve or a
send error is a failed CheckResult with a ``reason``; no ICMP permission is a ProbeError.
"""

from __future__ import annotations

import icmplib

from ...errors import ProbeError
from ..probe import CheckResult

FIX_HINT = ("allow unprivileged ICMP with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, "
            "or give pantau CAP_NET_RAW (`setcap cap_net_raw+ep`, or `docker run --cap-add NET_RAW`)")


def detect_privileged() -> bool:
    """True when only raw sockets work, False for unprivileged datagram ICMP; ProbeError if neither."""
    import socket

    for privileged, kind in ((False, socket.SOCK_DGRAM), (True, socket.SOCK_RAW)):
        try:
            socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
            return privileged
        except PermissionError:
            continue
        except OSError:
            continue
    raise ProbeError(f"cannot open an ICMP socket: {FIX_HINT}")


class IcmplibProbe:
    def __init__(self, *, privileged: bool | None = None):
        self.privileged = detect_privileged() if privileged is None else privileged

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        try:
            host = await icmplib.async_ping(address, count=count, interval=interval, timeout=timeout,
                                            privileged=self.privileged)
        except icmplib.NameLookupError:
            return CheckResult(address, sent=count, received=0, reason="unresolvable")
        except icmplib.SocketPermissionError:
            raise ProbeError(f"no permission for ICMP sockets: {FIX_HINT}") from None
        except icmplib.ICMPSocketError as exc:
            return CheckResult(address, sent=count, received=0, reason=f"send_error: {exc}")
        except icmplib.ICMPLibError as exc:
            return CheckResult(address, sent=count, received=0, reason=f"icmp_error: {type(exc).__name__}")
        except OSError as exc:
            return CheckResult(address, sent=count, received=0, reason=_os_reason(exc))
        reason = None if host.packets_received else "timeout"
        return CheckResult(address, sent=host.packets_sent or count, received=host.packets_received,
                           rtts_ms=tuple(host.rtts), reason=reason, resolved=host.address)

    async def aclose(self) -> None:
        return None


def _os_reason(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "no_route"
    return f"send_error: {exc.strerror or exc}"
