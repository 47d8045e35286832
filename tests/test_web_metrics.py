"""/metrics over real HTTP: hosts, a simulated router, a Telegram peer answering 429, the ICMP and
supervisor counters — parsed with prometheus_client's parser and linted by promtool."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from fake_peers import telegram_error, telegram_peer
from prometheus_client.parser import text_string_to_metric_families
from routeros_helpers import PASSWORD as ROUTER_PASSWORD
from web_helpers import ScriptedProbe, client, running, wait_for, web_config

from monitor.events import Event, Source
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.web.metrics import escape_label


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_label_escaping_round_trips():
    name = 'olt "utara"\\1\nb'
    text = f'# TYPE x gauge\nx{{host="{escape_label(name)}"}} 1\n'
    [family] = text_string_to_metric_families(text)
    assert family.samples[0].labels == {"host": name}


async def test_metrics_cover_hosts_routers_delivery_and_tasks(tmp_path):
    probe = ScriptedProbe()
    probe.down.add("127.0.0.2")
    async with RouterSimulator(password=ROUTER_PASSWORD, identity="gw") as sim, telegram_peer() as tg:
        sim.hotspot_login("budi", "10.5.50.2", "AA:AA:AA:AA:AA:01")
        sim.hotspot_login("sari", "10.5.50.3", "AA:AA:AA:AA:AA:02")
        sim.ppp_connect("pelanggan-1", caller_id="AA:BB:CC:00:00:01", address="10.9.0.2")
        tg.queue(telegram_error(429, "Too Many Requests: retry after 1", retry_after=1))
        config = web_config(
            tmp_path, hosts=3,
            routers=[{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                      "password": ROUTER_PASSWORD, "mode": "poll", "poll_interval": "0.2s"}],
            notifiers=[{"name": "tg", "type": "telegram", "token": "1:abc", "chat_id": 7, "api_url": tg.url}],
            routes=[{"events": ["host.*"], "notify": ["tg"]}])
        async with running(config, probe) as (engine, base), client() as http:
            await wait_for(lambda: engine.monitors["host-01"].detector.state.value == "down"
                           and all(m.checks >= 2 for m in engine.monitors.values())
                           and engine.watchers["core"].session_count("hotspot") == 2)
            await tg.wait_received(2, timeout=10)  # the 429, then the retry
            await wait_for(lambda: engine.outbox.stats.by_notifier.get("tg") is not None
                           and engine.outbox.stats.by_notifier["tg"].sent == 1)
            async with http.get(base + "/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = await r.text()
    got = samples(text)
    host = lambda name, h: got[(name, (("host", h),))]  # noqa: E731
    assert host("pantau_host_up", "host-00") == 1 and host("pantau_host_up", "host-01") == 0
    assert host("pantau_host_rtt_seconds", "host-00") == pytest.approx(0.0015)
    assert ("pantau_host_rtt_seconds", (("host", "host-01"),)) not in got  # no reply, no RTT
    assert host("pantau_host_loss_ratio", "host-01") == 1.0
    assert host("pantau_host_checks_total", "host-01") >= 2
    assert host("pantau_host_check_failures_total", "host-01") == host("pantau_host_checks_total", "host-01")
    assert host("pantau_host_check_failures_total", "host-00") == 0
    assert got[("pantau_router_up", (("router", "core"),))] == 1
    assert got[("pantau_router_sessions", (("menu", "hotspot"), ("router", "core")))] == 2
    assert got[("pantau_router_sessions", (("menu", "ppp"), ("router", "core")))] == 1
    assert 0 < got[("pantau_router_api_latency_seconds", (("router", "core"),))] < 5
    tg_ = (("notifier", "tg"),)
    assert got[("pantau_delivery_attempts_total", tg_)] == 2
    assert got[("pantau_delivery_rate_limited_total", tg_)] == 1
    assert got[("pantau_delivery_sent_total", tg_)] == 1
    assert got[("pantau_delivery_latency_seconds_count", tg_)] == 2
    assert got[("pantau_delivery_latency_seconds_bucket", (("le", "+Inf"), ("notifier", "tg")))] == 2
    assert got[("pantau_outbox_messages", (("notifier", "tg"), ("status", "sent")))] == 1
    assert got[("pantau_events_total", (("type", "host.down"),))] == 1
    assert got[("pantau_task_restarts_total", (("task", "router:core"),))] == 0
    assert got[("pantau_task_healthy", (("task", "emitter"),))] == 1
    assert ("pantau_event_loop_lag_seconds", ()) in got
    labels = {k for (_, pairs) in got for k, _ in pairs}
    assert labels <= {"host", "router", "menu", "notifier", "status", "type", "task", "le"}  # bounded
    assert "budi" not in text and "1:abc" not in text  # no per-user labels, no secrets
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; .ci/run installs it): "
                    "parsed, not linted")
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,  # noqa: ASYNC221
                          timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


async def test_icmp_engine_counters(tmp_path, engine):
    """With the real one-socket ICMP engine: its counters and the scheduler's skips are exported."""
    config = web_config(tmp_path, hosts=2)
    async with running(config, engine) as (pantau, base), client() as http:
        await wait_for(lambda: engine.stats["replies"] >= 2)
        await pantau.emit(Event("host.down", Source("host", "x"), {}))
        async with http.get(base + "/metrics") as r:
            got = samples(await r.text())
    assert got[("pantau_icmp_sent_total", ())] >= got[("pantau_icmp_replies_total", ())] >= 2
    assert got[("pantau_icmp_scheduled_checks_total", ())] >= 1
    assert ("pantau_icmp_skipped_checks_total", ()) in got and ("pantau_icmp_late_checks_total", ()) in got
    assert got[("pantau_events_total", (("type", "host.down"),))] == 1
