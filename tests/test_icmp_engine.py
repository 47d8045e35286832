"""The one-socket ICMP engine against real loopback peers (127.0.0.0/8 and ::1 answer on Linux)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from monitor.errors import ProbeError
from monitor.hosts.icmp.engine import open_icmp_engine
from monitor.hosts.icmp.sockets import ping_group_allows


def loopback_hosts(n: int) -> list[str]:
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


async def test_sweep_of_2000_loopback_hosts_finds_all_alive(engine):
    """2,000 hosts checked in one batch over one socket: every one answers, none is a false down."""
    hosts = loopback_hosts(2000)
    results = await engine.check_many(hosts, count=1, timeout=2.0)
    assert [r.address for r in results] == hosts
    down = [r for r in results if r.received != 1]
    assert down == []
    assert all(r.reason is None and r.rtt_avg_ms is not None and r.rtt_avg_ms >= 0 for r in results)
    assert engine.stats["sent"] == 2000 and engine.stats["replies"] == 2000


async def test_count_interval_and_ipv6(engine):
    """``count`` echoes go ``interval`` apart, each RTT is kept; ::1 works over the IPv6 socket."""
    if socket.AF_INET6 not in engine.families:
        pytest.skip("no IPv6 on this host")
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await engine.check("127.0.0.1", count=3, timeout=1.0, interval=0.05)
    assert loop.time() - start >= 0.1  # the third echo leaves two intervals after the first
    assert (result.sent, result.received, len(result.rtts_ms), result.reason) == (3, 3, 3, None)
    v6 = await engine.check("::1", count=2, timeout=1.0, interval=0.01)
    assert (v6.sent, v6.received, v6.reason) == (2, 2, None)


async def test_unresolvable_name_fails_alone_in_its_batch(engine):
    """A name under .invalid is a failed check with reason ``unresolvable``; its batch mates are fine."""
    hosts = loopback_hosts(50)
    batch = hosts[:25] + ["no-such-host.invalid"] + hosts[25:] + ["localhost"]
    results = await engine.check_many(batch, count=1, timeout=1.0)
    bad = results[25]
    assert (bad.address, bad.sent, bad.received, bad.reason) == ("no-such-host.invalid", 0, 0, "unresolvable")
    assert all(r.received == 1 for i, r in enumerate(results) if i != 25)
    assert results[-1].resolved in ("127.0.0.1", "::1")
    single = await engine.check("other.invalid", count=2, timeout=0.5, interval=0.1)
    assert single.reason == "unresolvable" and single.received == 0


async def test_sequence_and_token_wrap_around(engine):
    """Crossing 65535→0 (sequence) and 2³²→0 (token) mid-batch loses nothing and mismatches nothing."""
    engine._counter = 0xFFFFFFFF - 100
    hosts = loopback_hosts(300)
    results = await engine.check_many(hosts, count=1, timeout=2.0)
    assert all(r.received == 1 for r in results)
    assert engine._counter == 199  # it really wrapped
    # every one of our 300 replies matched its own check (a foreign reply — another process pinging
    # on this machine reaches a raw socket too — is ignored, and may be counted there)
    assert engine.stats["replies"] == 300 and engine.stats["timeouts"] == 0


async def test_a_failing_callback_does_not_stop_the_engine(engine):
    """A consumer whose on_done raises is logged; other checks keep completing."""
    def boom(result):
        raise RuntimeError("consumer bug")

    engine.submit("127.0.0.1", count=1, timeout=1.0, interval=1.0, on_done=boom)
    assert (await engine.check("127.0.0.2", count=1, timeout=1.0, interval=1.0)).received == 1


async def test_unprivileged_mode_is_refused_with_the_fix_when_not_allowed():
    """Without ping_group_range and without raw fallback, opening fails with ProbeError naming the sysctl."""
    if ping_group_allows():
        pytest.skip("unprivileged ICMP is allowed here")
    with pytest.raises(ProbeError, match="ping_group_range"):
        await open_icmp_engine(privileged=False)


async def test_closing_completes_running_checks_instead_of_leaving_callers_hanging():
    """aclose() ends checks in flight (and ones whose next echo is still due) with a reason."""
    engine = await open_icmp_engine(pps=1000)
    running = asyncio.ensure_future(engine.check("127.0.0.1", count=5, timeout=5.0, interval=1.0))
    await _until(lambda: engine.stats["replies"] >= 1)  # the first echo is answered (however busy)
    for s in engine._sockets.values():  # stop reading: the next echo stays in flight
        engine._loop.remove_reader(s.sock.fileno())
    engine._readers.clear()
    unanswered = asyncio.ensure_future(engine.check("127.0.0.2", count=1, timeout=5.0, interval=1.0))
    await _until(lambda: any(echo[0].address == "127.0.0.2" for echo in engine._pending.values()))
    await engine.aclose()
    first = await asyncio.wait_for(running, 1.0)
    assert (first.sent, first.received, first.reason) == (1, 1, None)  # one echo answered before the close
    second = await asyncio.wait_for(unanswered, 1.0)
    assert (second.sent, second.received, second.reason) == (1, 0, "send_error: engine closed")
    after = await asyncio.wait_for(engine.check("127.0.0.1", count=1, timeout=1.0, interval=1.0), 1.0)
    assert (after.received, after.reason) == (0, "send_error: engine closed")


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
