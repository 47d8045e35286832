"""``/ping`` and ``/system/resource`` over the API: the simulator's side and pantau's client side."""

from __future__ import annotations

import asyncio

import pytest
from routeros_helpers import PASSWORD, RawApi, wait_until

from monitor.errors import RouterError
from monitor.routeros.client import RouterClient
from monitor.routeros.ping import ping_result, router_ping
from monitor.routeros.resource import parse_version, read_resource
from monitor.routeros.sim.ping import format_ping_time
from monitor.routeros.sim.simulator import RouterSimulator


@pytest.fixture(params=["6.49.10 (long-term)", "7.18.2 (stable)"], ids=["v6", "v7"])
async def sim(request):
    simulator = RouterSimulator(password=PASSWORD, version=request.param, empty_reply=request.param.startswith("7"))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _client(sim: RouterSimulator) -> RouterClient:
    return await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, timeout=1.0)


async def test_reachable_host_answers_every_echo_with_its_rtt(sim: RouterSimulator) -> None:
    """A host the router reaches: every echo answered, RTTs as the router measured them (v6 whole ms)."""
    sim.pings.set("10.20.0.5", rtt_ms=3.0)
    client = await _client(sim)
    try:
        result = await router_ping(client, "10.20.0.5", count=3, interval=0.01)
    finally:
        await client.close()
    assert (result.sent, result.received, result.reason) == (3, 3, None)
    assert result.rtts_ms == pytest.approx((3.0, 3.0, 3.0))
    assert sim.pings.echoes == 3


async def test_loss_pattern_becomes_partial_loss(sim: RouterSimulator) -> None:
    """Pattern '!.' answers every other echo: 4 echoes → 2 received, loss 50 %, RTT only of the answered."""
    sim.pings.set("10.20.0.6", pattern="!.", rtt_ms=1.25)
    client = await _client(sim)
    try:
        result = await router_ping(client, "10.20.0.6", count=4, interval=0.01)
    finally:
        await client.close()
    assert (result.sent, result.received) == (4, 2)
    assert result.loss == pytest.approx(0.5)
    expected = 1.0 if sim.version.startswith("6") else 1.25  # v6 prints whole milliseconds
    assert result.rtts_ms == pytest.approx((expected, expected))


async def test_unknown_host_times_out(sim: RouterSimulator) -> None:
    """An address the simulated router cannot reach: all lost, reason 'timeout' (the router's status)."""
    client = await _client(sim)
    try:
        result = await router_ping(client, "10.20.0.99", count=2, interval=0.01)
    finally:
        await client.close()
    assert (result.sent, result.received, result.reason) == (2, 0, "timeout")


async def test_router_dropping_mid_ping_raises_router_error(sim: RouterSimulator) -> None:
    """The link dies after the first echo: a RouterError (the router's problem), not a lossy host."""
    sim.pings.set("10.20.0.7")
    client = await _client(sim)
    try:
        task = asyncio.create_task(router_ping(client, "10.20.0.7", count=50, interval=0.05))
        await wait_until(lambda: sim.pings.echoes >= 1)
        sim.drop_connections()
        with pytest.raises(RouterError) as info:
            await task
        assert info.value.kind in ("broken", "fatal")
    finally:
        await client.close()
    await wait_until(lambda: sim.pings.running == 0)


async def test_bad_arguments_are_a_trap_reported_as_the_hosts_reason(sim: RouterSimulator) -> None:
    """RouterOS refuses a ping without an address with !trap; the link stays usable."""
    client = await _client(sim)
    try:
        result = await router_ping(client, "", count=1, interval=0.01)
        assert result.received == 0 and result.reason.startswith("router: missing value")
        assert (await read_resource(client)).version == sim.version
    finally:
        await client.close()


async def test_cancel_stops_a_running_ping_in_documented_order(sim: RouterSimulator) -> None:
    """/cancel of a running ping, in the API docs' order (as main's simulator does for listen): the ping's
    !trap 'interrupted' (category 2), /cancel's own !done, then the ping's !done."""
    sim.pings.set("10.20.0.8")
    api = await RawApi.open(sim.port)
    try:
        api.send("/ping", "=address=10.20.0.8", "=count=1000", "=interval=20ms", ".tag=p")
        first = await api.read()
        assert first[0] == "!re" and "=host=10.20.0.8" in first and ".tag=p" in first
        api.send("/cancel", "=tag=p", ".tag=c")
        replies = await api.read_until_done("c")
        replies.append(await api.read())
        tail = [s for s in replies if s[0] != "!re"]
        assert tail == [["!trap", "=category=2", "=message=interrupted", ".tag=p"], ["!done", ".tag=c"],
                        ["!done", ".tag=p"]]
    finally:
        api.close()
    await wait_until(lambda: sim.pings.running == 0)
    assert sim.pings.echoes < 1000


async def test_system_resource_reads_version_uptime_and_load(sim: RouterSimulator) -> None:
    """read_resource parses version (v6/v7), uptime, cpu-load and memory the simulator reports."""
    sim.resource.update({"cpu-load": "37", "free-memory": "1000", "board-name": "RB4011iGS+"})
    client = await _client(sim)
    try:
        res = await read_resource(client)
    finally:
        await client.close()
    assert res.major == (6 if sim.version.startswith("6") else 7)
    assert (res.cpu_load, res.free_memory, res.total_memory, res.board_name) == (37, 1000, 1073741824, "RB4011iGS+")
    assert 0 <= res.uptime_s < 60


def test_recorded_v7_ping_rows_fold_into_a_result() -> None:
    """Rows as RouterOS 7 prints them (µs RTTs, a timeout row without time) give the right totals."""
    rows = [
        {".section": "0", "seq": "0", "host": "10.0.0.1", "size": "56", "ttl": "64", "time": "1ms432us",
         "sent": "1", "received": "1", "packet-loss": "0", "min-rtt": "1ms432us", "avg-rtt": "1ms432us",
         "max-rtt": "1ms432us"},
        {".section": "1", "seq": "1", "host": "10.0.0.1", "size": "56", "status": "timeout", "sent": "2",
         "received": "1", "packet-loss": "50", "min-rtt": "1ms432us", "avg-rtt": "1ms432us", "max-rtt": "1ms432us"},
        {".section": "2", "seq": "2", "host": "10.0.0.1", "size": "56", "ttl": "64", "time": "325us",
         "sent": "3", "received": "2", "packet-loss": "33", "min-rtt": "325us", "avg-rtt": "878us",
         "max-rtt": "1ms432us"},
    ]
    result = ping_result("10.0.0.1", rows)
    assert (result.sent, result.received) == (3, 2)
    assert result.rtts_ms == pytest.approx((1.432, 0.325))


def test_unreachable_status_becomes_the_probe_reason() -> None:
    """'host unreachable' from the router maps to the probe's 'unreachable' reason."""
    rows = [{"seq": "0", "host": "10.0.0.2", "status": "host unreachable", "sent": "1", "received": "0",
             "packet-loss": "100"}]
    assert ping_result("10.0.0.2", rows).reason == "unreachable"


@pytest.mark.parametrize(("ms", "v6", "text"), [(1.432, False, "1ms432us"), (0.325, False, "325us"),
                                                (2.0, False, "2ms"), (1.6, True, "2ms")])
def test_simulator_prints_rtts_like_routeros(ms: float, v6: bool, text: str) -> None:
    assert format_ping_time(ms, v6=v6) == text


@pytest.mark.parametrize(("text", "expected"), [("6.49.10 (long-term)", (6, 49, 10)), ("7.18", (7, 18, 0))])
def test_parse_version(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_version(text) == expected


def test_bad_ping_pattern_is_refused() -> None:
    with pytest.raises(ValueError):
        RouterSimulator().pings.set("10.0.0.1", pattern="!x")
