"""``/ping`` from a router over the API: one check of one address, as the router sees it.

The router streams one ``!re`` per echo (``time`` on a reply, ``status`` such as ``timeout`` on a
loss) with running totals; the last row's ``sent``/``received`` are the check's totals and every
``time`` is one RTT. The result is the same ``CheckResult`` the ICMP probe gives, so ``via:`` hosts
go through the same judge and detector as direct ones.

A problem with the *host* (no reply, unreachable, unknown name) is a result with ``received == 0``
and a ``reason``. A problem with the *router* (link broken, hung, !fatal) raises ``RouterError``:
that check says nothing about the host.
"""

from __future__ import annotations

from ..config.durations import parse_routeros_duration
from ..errors import RouterError, RouterTrap
from ..hosts.probe import CheckResult
from .client import RouterClient

#: RouterOS ``status`` words of a lost echo → the probe's reasons (see CheckResult).
_STATUS_REASONS = {
    "timeout": "timeout",
    "host unreachable": "unreachable",
    "net unreachable": "no_route",
    "no route to host": "no_route",
    "ttl exceeded": "ttl_exceeded",
    "time exceeded": "ttl_exceeded",
}


def _ms(text: str) -> float:
    return parse_routeros_duration(text) * 1000.0


def ping_result(address: str, rows: list[dict[str, str]]) -> CheckResult:
    """Fold the ``!re`` rows of one ``/ping`` into a CheckResult (pure; the conformance tests feed
    it recorded v6 and v7 rows)."""
    rtts: list[float] = []
    statuses: list[str] = []
    sent = received = 0
    for row in rows:
        if "time" in row and not row.get("status"):
            try:
                rtts.append(_ms(row["time"]))
            except ValueError:
                pass
        elif row.get("status"):
            statuses.append(row["status"])
        if row.get("sent", "").isdigit():
            sent = max(sent, int(row["sent"]))
        if row.get("received", "").isdigit():
            received = max(received, int(row["received"]))
    if not sent:  # a router that omits the totals: count the rows
        sent, received = len(rtts) + len(statuses), len(rtts)
    reason = None
    if received == 0:
        last = statuses[-1].strip().lower() if statuses else "timeout"
        reason = _STATUS_REASONS.get(last, f"router: {last}")
    return CheckResult(address, sent, received, tuple(rtts[:received]), reason=reason)


async def router_ping(client: RouterClient, address: str, *, count: int, interval: float,
                      size: int = 56) -> CheckResult:
    """Ping ``address`` ``count`` times from the router, ``interval`` seconds apart.

    Raises RouterError when the router link fails mid-ping (the partial rows are discarded:
    they would make a healthy host look lossy).
    """
    attrs = {"address": address, "count": str(count), "interval": _interval(interval), "size": str(size)}
    try:
        # each row comes about one interval after the last; a lost echo's row up to ~1 s later
        rows = await client.command("/ping", attrs, reply_timeout=client.timeout + interval + 1.0)
    except RouterTrap as exc:
        # e.g. a name the router cannot resolve, or an address it refuses: the host's problem
        text = str(exc).removeprefix("/ping: ")
        reason = "unresolvable" if "resolve" in text.lower() else f"router: {text}"
        return CheckResult(address, 0, 0, (), reason=reason)
    except RouterError:
        raise
    return ping_result(address, [r for r in rows if "sent" in r or "status" in r or "time" in r])


def _interval(seconds: float) -> str:
    """A RouterOS duration for the ``interval`` argument (milliseconds are accepted from 10ms)."""
    ms = max(10, int(round(seconds * 1000)))
    return f"{ms}ms"
