"""The suppression core on a driven clock: maintenance start/end reconciliation (still down,
recovered, flapped inside), parents with 30 children (one DOWN, then only the children still down),
the hold for a child detected before its parent, and config errors for windows and dependencies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config.model import parse_config
from monitor.errors import ConfigError
from monitor.events import Event, Source
from monitor.suppression.core import HELD, Suppressor
from monitor.suppression.dependencies import DependencyGraph
from monitor.suppression.windows import Window, WindowSet, parse_selector

T = 1_800_000_000.0


def ev(type_, name, at, kind="host", **labels):
    return Event(type_, Source(kind, name, "127.0.0.1", labels), {"reason": "timeout"},
                 at=datetime.fromtimestamp(at, UTC))


def window(target, start, end, reason="upgrade"):
    return Window("7", (parse_selector(target),), reason, start=start, end=end)


def sent(outcomes):
    return [(o.event.type, o.event.source.name) for o in outcomes if o.sent]


def test_maintenance_still_down_at_the_end_sends_one_down():
    core = Suppressor(windows=WindowSet([window("host:olt", T, T + 3600)]))
    [o] = core.decide(ev("host.down", "olt", T + 60), T + 60)
    assert o.suppressed == "maintenance 7 (host:olt: upgrade)"
    assert core.due(T + 3599) == []
    out = core.due(T + 3600)
    assert sent(out) == [("host.down", "olt")]
    assert out[0].event.data["reconciled"] == "maintenance" and out[0].event.data["reason"] == "timeout"
    assert core.due(T + 7200) == []  # once
    assert sent(core.decide(ev("host.up", "olt", T + 8000), T + 8000)) == [("host.up", "olt")]


def test_maintenance_recovered_inside_sends_nothing_and_no_stray_up():
    core = Suppressor(windows=WindowSet([window("label:site=utara", T, T + 3600)]))
    assert not any(o.sent for o in core.decide(ev("host.down", "olt", T + 60, site="utara"), T + 60))
    assert not any(o.sent for o in core.decide(ev("host.up", "olt", T + 600, site="utara"), T + 600))
    assert core.due(T + 3600) == []
    assert core.decide(ev("host.down", "other", T + 60, site="selatan"), T + 60)[0].sent  # not matched


@pytest.mark.parametrize(("final", "expected"), [("host.down", [("host.down", "olt")]), ("host.up", [])])
def test_maintenance_flapped_inside_follows_the_final_state(final, expected):
    core = Suppressor(windows=WindowSet([window("host:olt", T, T + 3600)]))
    sequence = ["host.down", "host.up", "host.down", "host.up", "host.down", "host.up"]
    if final == "host.down":
        sequence.append("host.down")
    for i, type_ in enumerate(sequence):
        assert not any(o.sent for o in core.decide(ev(type_, "olt", T + 10 * (i + 1)), T + 10 * (i + 1)))
    assert sent(core.due(T + 3600)) == expected


def test_window_announced_down_before_it_closes_with_an_up():
    """Down and announced before the window; recovered inside it: the open outage is closed
    with an UP at the end (an UP the operator is waiting for, not a stray one)."""
    core = Suppressor(windows=WindowSet([window("host:olt", T, T + 3600)]))
    assert core.decide(ev("host.down", "olt", T - 60), T - 60)[0].sent
    assert not core.decide(ev("host.up", "olt", T + 60), T + 60)[0].sent
    assert sent(core.due(T + 3600)) == [("host.up", "olt")]


def test_ending_a_window_early_reconciles_at_once():
    core = Suppressor(windows=WindowSet([window("host:olt", T, T + 3600)]))
    core.decide(ev("host.down", "olt", T + 60), T + 60)
    core.windows_changed(WindowSet([window("host:olt", T, T + 120)]), T + 120)
    assert sent(core.due(T + 120)) == [("host.down", "olt")]


def children_graph(n=30, hold=5.0, settle=8.0):
    parents = {("host", f"cpe-{i}"): ("router", "core") for i in range(n)}
    return DependencyGraph(parents, {("router", "core"): hold}, {k: settle for k in parents})


def test_parent_down_with_30_children_is_one_message_then_only_the_children_still_down():
    core = Suppressor(children_graph())
    out = []
    for i in range(10):  # ten children are detected before the parent: held
        out += core.decide(ev("host.down", f"cpe-{i}", T + i * 0.1), T + i * 0.1)
    assert {o.suppressed for o in out} == {HELD} and len(out) == len(core.held) == 10
    out += core.decide(ev("router.down", "core", T + 2, kind="router"), T + 2)
    for i in range(10, 30):  # the rest after it: suppressed at once
        out += core.decide(ev("host.down", f"cpe-{i}", T + 3), T + 3)
    out += core.due(T + 20)
    out = [o for o in out if o.suppressed != HELD]
    assert sent(out) == [("router.down", "core")]
    assert out[[o.sent for o in out].index(True)].event.data["behind"] == 30
    assert len([o for o in out if o.suppressed == "parent core down"]) == 30 and core.held == {}
    # the parent returns; 25 children come back, 5 stay down
    after = core.decide(ev("router.up", "core", T + 100, kind="router"), T + 100)
    for i in range(25):
        after += core.decide(ev("host.up", f"cpe-{i}", T + 104), T + 104)
    assert sent(after) == [("router.up", "core")]
    assert {o.suppressed for o in after if not o.sent} == {"its down was not announced"}
    assert core.due(T + 107) == []  # children get `settle` seconds to be seen up
    late = core.due(T + 108)
    assert sorted(sent(late)) == sorted(("host.down", f"cpe-{i}") for i in range(25, 30))
    assert {o.event.data["reconciled"] for o in late} == {"parent"} and late[0].event.data["parent"] == "core"
    assert core.due(T + 1000) == []
    assert sent(core.decide(ev("host.up", "cpe-29", T + 200), T + 200)) == [("host.up", "cpe-29")]


def test_child_down_alone_is_sent_after_the_hold_and_a_quick_flap_is_dropped():
    core = Suppressor(children_graph(n=2))
    assert [o.suppressed for o in core.decide(ev("host.down", "cpe-0", T), T)] == [HELD]
    assert core.due(T + 4.9) == []
    assert sent(core.due(T + 5)) == [("host.down", "cpe-0")]
    assert [o.suppressed for o in core.decide(ev("host.down", "cpe-1", T), T)] == [HELD]
    flap = core.decide(ev("host.up", "cpe-1", T + 1), T + 1)
    assert [o.suppressed for o in flap] == ["recovered within the dependency hold"] * 2
    assert core.due(T + 10) == []


def test_restart_rebuilds_state_and_reconciles_what_was_never_told():
    """After a restart (state from the history) a host still down whose DOWN was suppressed is
    announced once it is no longer covered; one that was announced is not repeated."""
    last = {("host", n): ev("host.down", n, T) for n in "abc"}
    graph = DependencyGraph({}, {}, {("host", n): 5.0 for n in "abc"})
    core = Suppressor(graph, actual={("host", n): "down" for n in "abc"},
                      announced={("host", "b"): "down"}, last=last, now=T + 10)
    assert core.due(T + 14) == []  # first give the hosts time to be seen up again
    assert not any(o.sent for o in core.decide(ev("host.up", "c", T + 12), T + 12))  # c came back meanwhile
    assert sent(core.due(T + 15)) == [("host.down", "a")]


BASE = {"hosts": [{"name": "olt", "address": "127.0.0.2"}, {"name": "cpe", "address": "127.0.0.3", "parent": "olt"}],
        "routers": [{"name": "core", "address": "127.0.0.1", "username": "u", "password": "p"}],
        "notifiers": [{"name": "screen", "type": "console"}], "plugins_dir": None}


def problems(**changes):
    data = {**BASE, **changes}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    return info.value.problems


def test_valid_dependencies_and_windows_load():
    config = parse_config({**BASE, "maintenance": [{"match": "router:core", "every": "sun 01:00-03:00"},
                                                   {"match": ["host:cpe", "label:site=x"], "start": "2026-11-24 01:00",
                                                    "end": "2026-11-24 03:00", "reason": "upgrade"}],
                           "reports": [{"every": "daily 07:00", "notify": ["screen"]}], "history": {"keep": "30d"}},
                          env={})
    assert config.settings.history.keep == 30 * 86400 and config.settings.hosts[1].parent == "olt"
    from monitor.cli.summary import summarize_config

    summary = summarize_config(config)
    assert "dependencies (1):\n  cpe → olt" in summary and "router:core: sun 01:00-03:00" in summary
    assert "reports (1):\n  daily 07:00 → screen" in summary


@pytest.mark.parametrize(("change", "expected"), [
    ({"hosts": [{"name": "a", "address": "127.0.0.2", "parent": "nope"}]},
     "hosts[0].parent: unknown parent 'nope' (no host or router of that name)"),
    ({"hosts": [{"name": "a", "address": "127.0.0.2", "parent": "a"}]}, "hosts[0].parent: a host cannot be its own parent"),
    ({"hosts": [{"name": "a", "address": "127.0.0.2", "parent": "b"}, {"name": "b", "address": "127.0.0.3", "parent": "c"},
                {"name": "c", "address": "127.0.0.4", "parent": "a"}]}, "dependency cycle a → b → c → a"),
    ({"hosts": [{"name": "core", "address": "127.0.0.2"}, {"name": "x", "address": "127.0.0.3", "parent": "core"}]},
     "hosts[1].parent: 'core' is both a host and a router: write host:core or router:core"),
    ({"hosts": [{"name": "a", "address": "127.0.0.2", "parent": "router:edge"}]}, "hosts[0].parent: unknown router 'edge'"),
    ({"maintenance": [{"match": "host:ghost", "every": "sun 01:00-03:00"}]}, "maintenance[0].match[0]: unknown host 'ghost'"),
    ({"maintenance": [{"match": "olt", "every": "sun 01:00-03:00"}]}, "maintenance[0].match: invalid target 'olt'"),
    ({"maintenance": [{"match": "label:site", "every": "sun 01:00-03:00"}]}, "maintenance[0].match: invalid target"),
    ({"maintenance": [{"match": "host:olt", "every": "sunday 1-3"}]}, "maintenance[0].every: invalid recurring window"),
    ({"maintenance": [{"match": "host:olt"}]}, "maintenance[0]: a window needs start and end"),
    ({"maintenance": [{"match": "host:olt", "start": "2026-11-24 03:00", "end": "2026-11-24 01:00"}]},
     "maintenance[0]: end must be after start"),
    ({"maintenance": [{"match": "host:olt", "start": "yesterday", "end": "2026-11-24 01:00"}]}, "maintenance[0].start:"),
    ({"maintenance": [{"match": "host:olt", "every": "sun 01:00-03:00", "start": "2026-11-24 01:00"}]},
     "maintenance[0]: give either every"),
    ({"maintenance": [{"match": [], "every": "sun 01:00-03:00"}]}, "maintenance[0].match:"),
    ({"history": {"keep": "forever"}}, "history.keep: invalid duration 'forever'"),
    ({"history": {"keep": 0}}, "history.keep: must be greater than 0"),
    ({"reports": [{"every": "daily 7am", "notify": ["screen"]}]}, "reports[0].every: invalid schedule 'daily 7am'"),
    ({"reports": [{"every": "daily 07:00", "notify": ["nobody"]}]}, "reports[0].notify[0]: unknown notifier 'nobody'"),
    ({"reports": [{"every": "daily 07:00", "notify": []}]}, "reports[0].notify:"),
    ({"reports": [{"every": "daily 07:00", "notify": ["screen"], "worst": 0}]}, "reports[0].worst:"),
])
def test_bad_dependency_window_history_and_report_config_is_reported_by_path(change, expected):
    found = problems(**change)
    assert any(expected in p for p in found), found


def test_via_router_is_an_implicit_parent_and_parent_wins():
    """hosts[].via (the RouterOS field work) makes that router the parent unless parent: is set."""
    from types import SimpleNamespace as NS

    from monitor.suppression.dependencies import resolve_parents

    hosts = [NS(name="ap", via="core", parent=None), NS(name="olt", via=None, parent=None),
             NS(name="cpe", via="core", parent="olt"), NS(name="x", via="ghost", parent=None)]
    parents, problems = resolve_parents(hosts, [NS(name="core")])
    assert parents == {("host", "ap"): ("router", "core"), ("host", "cpe"): ("host", "olt")}
    assert problems == []  # an unknown via: router is the via: check's to report


def test_a_router_window_silences_its_sessions_but_not_subscriber_warnings():
    core = Suppressor(windows=WindowSet([window("router:core", T, T + 3600)]))
    login = Event("hotspot.login", Source("router", "core"), {"user": "budi"}, at=datetime.fromtimestamp(T + 1, UTC))
    quota = Event("subscriber.quota", Source("router", "core"), {"user": "budi"}, at=datetime.fromtimestamp(T + 1, UTC))
    assert not core.decide(login, T + 1)[0].sent
    assert core.decide(quota, T + 1)[0].sent
