"""Host checks with real ICMP: judging results, the host loop's events, netns hosts going down/up."""

from __future__ import annotations

import pytest
from nethost import netns_available, new_host

from monitor.config.model import HostCheck
from monitor.hosts.detector import State
from monitor.hosts.icmp.icmplib_probe import IcmplibProbe
from monitor.hosts.loop import HostMonitor, judge
from monitor.hosts.probe import CheckResult
from monitor.hosts.state import HostStateStore

needs_netns = pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for netns test hosts")


def host(address="127.0.0.1", **kw) -> HostCheck:
    base = dict(name="h", address=address, interval=10.0, count=2, timeout=0.3, down_after=2, up_after=2,
                max_loss=None, max_rtt=None, labels={"site": "lab"})
    base.update(kw)
    return HostCheck(**base)


def test_judge_rules():
    """All lost fails (reason kept); loss above max_loss fails; slow average fails max_rtt."""
    assert judge(host(), CheckResult("x", 3, 0, reason="unresolvable")) == (False, "unresolvable")
    assert judge(host(), CheckResult("x", 3, 1, (1.0,))) == (True, None)
    ok, why = judge(host(max_loss=0.5), CheckResult("x", 4, 1, (1.0,)))
    assert not ok and why == "loss 75% > 50%"
    assert judge(host(max_loss=0.5), CheckResult("x", 4, 2, (1.0, 1.0)))[0] is True
    ok, why = judge(host(max_rtt=0.2), CheckResult("x", 2, 2, (250.0, 260.0)))
    assert not ok and why == "rtt 255.0ms > 200ms"


def test_the_per_check_line_is_written_only_at_debug():
    """Each check logs ``check`` at debug (for troubleshooting one host); at info the line is not
    even built — the monitor asks the level once."""
    import io
    import json

    import structlog

    from monitor.logs import configure_logging

    before = structlog.get_config()
    for level, expected in (("debug", 1), ("info", 0)):
        out = io.StringIO()
        configure_logging(level, "json", out)
        mon = HostMonitor(host(), None, emit=None)
        mon.observe(CheckResult("127.0.0.1", 2, 2, (1.25, 1.5)), 100.0)
        lines = [json.loads(x) for x in out.getvalue().splitlines()]
        checks = [x for x in lines if x["event"] == "check"]
        assert len(checks) == expected, (level, lines)
        if expected:
            assert checks[0]["host"] == "h" and checks[0]["ok"] is True and checks[0]["rtt_avg_ms"] == 1.375
    structlog.configure(**before)


async def test_loopback_is_up_and_first_up_is_silent():
    """Real echoes to 127.0.0.1 succeed; establishing UP emits nothing."""
    emitted = []
    probe = IcmplibProbe()

    async def emit(e):
        emitted.append(e)

    mon = HostMonitor(host(), probe, emit)
    for i in range(3):
        result = await probe.check("127.0.0.1", count=2, timeout=2.0, interval=0.01)  # room for a busy machine
        assert result.received == 2 and result.rtt_avg_ms is not None
        await mon.handle(result, now=100.0 + i)
    assert mon.detector.state is State.UP and emitted == []


async def test_unresolvable_name_is_a_failed_check_with_reason():
    """A name under .invalid does not resolve: a failed check saying so, no exception."""
    result = await IcmplibProbe().check("no-such-host.invalid", count=1, timeout=0.3, interval=0.01)
    assert result.received == 0 and result.reason == "unresolvable"


@needs_netns
async def test_netns_host_down_then_up_gives_one_event_each(tmp_path):
    """A test host whose link goes down yields exactly one host.down, and one host.up on return,
    with the schema's data and the host state persisted across a new monitor (restart)."""
    emitted = []

    async def emit(e):
        emitted.append(e)

    probe = IcmplibProbe()
    store = HostStateStore(tmp_path / "state.db")
    with new_host() as nh:
        h = host(nh.address, name="cpe-1")
        mon = HostMonitor(h, probe, emit, store=store)
        now = 1000.0

        async def step(n):
            nonlocal now
            for _ in range(n):
                await mon.handle(await probe.check(nh.address, count=2, timeout=0.75, interval=0.01), now)
                now += 10

        await step(2)
        assert mon.detector.state is State.UP and emitted == []
        nh.down()
        await step(4)
        assert [e.type for e in emitted] == ["host.down"]
        down = emitted[0].to_dict()
        assert down["source"] == {"kind": "host", "name": "cpe-1", "address": nh.address, "labels": {"site": "lab"}}
        assert down["data"] == {"loss": 1.0, "rtt_avg_ms": None, "reason": "timeout", "checks_failed": 2}
        assert store.load()["cpe-1"][0] is State.DOWN

        # restart: a new monitor restored from the store does not announce DOWN again
        saved = store.load()["cpe-1"]
        mon = HostMonitor(h, probe, emit, store=store, initial=(saved[0], saved[1]))
        await step(2)
        assert [e.type for e in emitted] == ["host.down"]
        nh.up()
        for _ in range(20):  # the veth link needs a moment to carry traffic again
            r = await probe.check(nh.address, count=1, timeout=0.75, interval=0.01)
            if r.received:
                break
        await step(2)
    assert [e.type for e in emitted] == ["host.down", "host.up"]
    down_event, up = emitted
    assert up.data["checks_ok"] == 2
    assert up.data["down_for_s"] == pytest.approx((up.at - down_event.at).total_seconds())
    assert 40.0 <= up.data["down_for_s"] <= 60.0  # DOWN at 1030..1050 (link-down races the check), UP at 1090
    assert up.data["loss"] == 0.0 and up.data["rtt_avg_ms"] > 0
    store.close()
