"""`pantau check` warns (exit 0; --strict exit 1) about configs that are valid but do nothing or
cannot work, and reports every error in one run."""

from __future__ import annotations

import pytest
import yaml

from monitor.cli.main import main

CONSOLE = {"name": "layar", "type": "console"}
ROUTE_ALL = {"events": ["*"], "notify": ["layar"]}
HOST = {"name": "gw", "address": "127.0.0.1"}


def check(tmp_path, capsys, cfg, *extra):
    path = tmp_path / "monitor.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump({"plugins_dir": None, **cfg}))
    rc = main(["check", "-c", str(path), *extra])
    out = capsys.readouterr()
    return rc, [line[len("warning: "):] for line in out.out.splitlines() if line.startswith("warning: ")], out


def test_a_config_that_monitors_and_delivers_has_no_warnings(tmp_path, capsys):
    rc, warnings, _ = check(tmp_path, capsys, {"hosts": [HOST], "notifiers": [CONSOLE], "routes": [ROUTE_ALL]})
    assert (rc, warnings) == (0, [])
    rc, warnings, _ = check(tmp_path, capsys, {"hosts": [HOST], "notifiers": [CONSOLE], "routes": [ROUTE_ALL]},
                            "--strict")
    assert (rc, warnings) == (0, [])


def test_empty_file_warns_nothing_monitored_and_no_routes_and_strict_fails(tmp_path, capsys):
    rc, warnings, out = check(tmp_path, capsys, "")
    assert rc == 0
    assert warnings == ["<root>: nothing is monitored (no hosts: and no routers:)",
                        "routes: no routes, so no event reaches any notifier"]
    assert "2 warning(s)" in out.out
    rc, _, out = check(tmp_path, capsys, "", "--strict")
    assert rc == 1 and "--strict" in out.err


def test_unused_notifier_and_unrouted_event_types(tmp_path, capsys):
    cfg = {"hosts": [HOST],
           "routers": [{"name": "r", "address": "127.0.0.1", "username": "u", "password": "long-enough-pw",
                        "watch": ["hotspot"]}],
           "notifiers": [CONSOLE, {"name": "spare", "type": "console"}],
           "routes": [{"events": ["host.*", "hotspot.login"], "notify": ["layar"]}]}
    rc, warnings, _ = check(tmp_path, capsys, cfg)
    assert rc == 0
    assert "notifiers[1]: notifier 'spare' is used by no route" in warnings
    unrouted = sorted(w for w in warnings if w.startswith("routes: no route matches"))
    # ppp.* is not watched, so not expected; host.* and hotspot.login are routed
    assert unrouted == [f"routes: no route matches {t} events (they are dropped)"
                        for t in ("hotspot.logout", "router.down", "router.rebooted", "router.up")]


@pytest.mark.parametrize(("address", "why"), [
    ("192.168.88.256", "is not a valid IPv4 address"),
    ("192.168.088.1", "is not a valid IPv4 address"),  # a leading zero (octal to some tools)
    ("192.168..1", "is not a valid IPv4 address"),
    ("10.0.0", "is not a full IPv4 address"),
    ("10.0.0.1.2", "is not a full IPv4 address"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("192.168.88.255", "broadcast"),
    ("255.255.255.255", "broadcast"),
    ("fe80::1::2", "is not a valid IPv6 address"),
    ("bad_host!.lan", "neither an IP address nor a valid host name"),
])
def test_invalid_or_suspicious_addresses(tmp_path, capsys, address, why):
    cfg = {"hosts": [HOST, {"name": "x", "address": address}], "notifiers": [CONSOLE], "routes": [ROUTE_ALL]}
    rc, warnings, _ = check(tmp_path, capsys, cfg)
    assert rc == 0 and len(warnings) == 1
    assert warnings[0].startswith("hosts[1].address: ")
    assert why in warnings[0]


@pytest.mark.parametrize("address", ["192.168.88.1", "0.1.2.3", "240.0.0.1", "10.0.255.1", "2001:db8::1", "fe80::1%eth0", "cctv-1.kantor.lan", "localhost"])
def test_good_addresses_are_quiet(tmp_path, capsys, address):
    cfg = {"hosts": [{"name": "x", "address": address}], "notifiers": [CONSOLE], "routes": [ROUTE_ALL]}
    assert check(tmp_path, capsys, cfg)[1] == []


def test_intervals_over_a_day_and_overlap_as_pace_computes_it(tmp_path, capsys):
    """Overlap follows pace.check_duration (echoes 0.2 s apart, then the timeout), not count × timeout:
    2 s with 3 echoes and a 1 s timeout takes at most 1.4 s, so nothing overlaps and nothing is said."""
    cfg = {"hosts": [{"name": "slow", "address": "127.0.0.1", "interval": "3d"},
                     {"name": "tight", "address": "127.0.0.2", "interval": "2s", "count": 3, "timeout": "1s"}],
           "notifiers": [CONSOLE], "routes": [ROUTE_ALL]}
    rc, warnings, _ = check(tmp_path, capsys, cfg)
    assert rc == 0
    assert warnings == ["hosts[0].interval: 3d is over a day between checks"]
    # 1.2 s: echoes 0.12 s apart + 1 s = 1.24 s ≥ the interval, so every other check would be skipped
    cfg["hosts"][1]["interval"] = "1.2s"
    rc, _, out = check(tmp_path, capsys, cfg)
    assert rc == 2
    assert "hosts[1]: a check takes up to 1.24s (3 echoes, timeout 1s), not less than the interval (1.2s)" in out.err


def test_a_pace_too_low_for_the_hosts_is_a_warning(tmp_path, capsys):
    hosts = [{"name": f"h{i}", "address": f"127.0.0.{i + 1}", "interval": "1s", "count": 3, "timeout": "0.5s"}
             for i in range(10)]
    cfg = {"hosts": hosts, "icmp": {"pps": 20}, "notifiers": [CONSOLE], "routes": [ROUTE_ALL]}
    rc, warnings, _ = check(tmp_path, capsys, cfg)
    assert rc == 0
    assert warnings == ["icmp.pps: 20 echoes/s allowed but the hosts need 30/s (10 hosts × count / interval): "
                        "checks would be skipped; raise icmp.pps to at least 38 or set it to auto"]
    for quiet in ({"pps": 30}, {"pps": "auto"}, {"pps": 20, "engine": "icmplib"}):
        assert check(tmp_path, capsys, {**cfg, "icmp": quiet})[1] == []


def test_placeholder_secrets(tmp_path, capsys):
    cfg = {"routers": [{"name": "r", "address": "127.0.0.1", "username": "u", "password": "change-me"}],
           "notifiers": [{"name": "tg", "type": "telegram", "token": "123456:replace-with-your-bot-token",
                          "chat_id": 42},
                         {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/e", "secret": "CHANGEME"}],
           "routes": [{"events": ["*"], "notify": ["tg", "hook"]}]}
    rc, warnings, out = check(tmp_path, capsys, cfg)
    assert rc == 0
    assert [w.split(":")[0] for w in warnings] == ["notifiers[0].token", "notifiers[1].secret", "routers[0].password"]
    assert all("sample value" in w for w in warnings)
    assert "123456:replace-with-your" not in out.out and "CHANGEME" not in out.out  # a warning never prints the secret
    assert check(tmp_path, capsys, cfg, "--strict")[0] == 1


def test_every_error_in_one_run(tmp_path, capsys):
    """A bad host and a bad notifier are reported together, not one run after the other."""
    cfg = {"hosts": [{"name": "a", "address": "127.0.0.1", "interval": "ten"}],
           "notifiers": [{"name": "t", "type": "telegram"}], "routes": [{"events": ["*"], "notify": ["t"]}]}
    rc, _, out = check(tmp_path, capsys, cfg)
    assert rc == 2
    assert "hosts[0].interval: invalid duration 'ten'" in out.err
    assert "notifiers[0].token: required" in out.err and "Traceback" not in out.err
