"""``/metrics``: pantau's state in the Prometheus text format, read from the engine at scrape time.

Nothing is updated on the hot path for metrics: hosts, routers, the ICMP engine, the outbox and the
supervisor already keep their counters; a custom collector turns them into metric families when
Prometheus scrapes. Labels are bounded by the config: ``host``, ``router``, ``menu`` (hotspot/ppp),
``notifier``, ``type`` (event types), ``task`` — never a user, MAC or phone number.

The per-host families (five samples per host: 50,000 at 10k hosts) are written by a small formatter
of our own: ``prometheus_client``'s generic exposition costs ~5 µs a sample, which alone would spend
the scrape budget (200 ms at 10k hosts, benchmarks/metrics.py). Everything else goes through
``prometheus_client`` (registry, families, exposition, the process collector).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from ..delivery.delivery_stats import LATENCY_BUCKETS
from ..hosts.detector import State

log = structlog.get_logger("pantau.web")

# the classic text format (what we write and what every Prometheus 2.x reads); newer clients
# advertise version=1.0.0 as their default, which older servers do not know
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

ICMP_COUNTERS = {
    "sent": "Echo requests sent",
    "replies": "Echo replies matched to a request",
    "errors": "ICMP errors (unreachable, TTL exceeded) matched to a request",
    "timeouts": "Echo requests that got no reply in time",
    "ignored": "Late, duplicate or foreign replies dropped",
    "send_errors": "Echo requests the kernel refused to send",
}

SCHEDULER_COUNTERS = {
    "scheduled": "Check slots the scheduler handed to the ICMP engine",
    "skipped": "Check slots skipped because the host's previous check was still running",
    "late": "Check slots missed because the event loop fell behind",
}

_HOST_FAMILIES = (
    ("pantau_host_up", "gauge", "1 when the host is up, 0 when down, NaN before its state is known"),
    ("pantau_host_rtt_seconds", "gauge", "Average round-trip time of the host's last check (absent: no reply)"),
    ("pantau_host_loss_ratio", "gauge", "Share of echoes lost in the host's last check"),
    ("pantau_host_checks_total", "counter", "Checks of the host since pantau started"),
    ("pantau_host_check_failures_total", "counter", "Failed checks of the host since pantau started"),
)


def escape_label(value: str) -> str:
    """A label value as the text format wants it (backslash, newline, double quote escaped)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


_UP_VALUE = {State.UP: "1", State.DOWN: "0", State.UNKNOWN: "NaN"}


class EngineCollector:
    """Everything but the per-host families; ``outbox_counts`` is refreshed before each scrape."""

    def __init__(self, engine: Any, loop_lag: Any = None):
        self.engine = engine
        self.loop_lag = loop_lag
        self.outbox_counts: dict[str, dict[str, int]] = {}

    def collect(self) -> Iterator[Metric]:
        yield from self._routers()
        yield from self._delivery()
        yield from self._icmp()
        events = CounterMetricFamily("pantau_events", "Events emitted, by type", labels=["type"])
        for event_type, n in sorted(self.engine.event_counts.items()):
            events.add_metric([event_type], n)
        yield events
        restarts = CounterMetricFamily("pantau_task_restarts", "Restarts of a supervised task", labels=["task"])
        healthy = GaugeMetricFamily("pantau_task_healthy", "1 when a supervised task runs and is not "
                                    "crash-looping", labels=["task"])
        for name, h in sorted(self.engine.supervisor.health().items()):
            restarts.add_metric([name], h.restarts)
            healthy.add_metric([name], 1 if h.healthy else 0)
        yield restarts
        yield healthy
        if self.loop_lag is not None:
            yield GaugeMetricFamily("pantau_event_loop_lag_seconds", "How late the event loop woke a "
                                    "0.5 s sleeper recently (worst of the last few)", value=self.loop_lag.lag)

    def _routers(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("pantau_router_up", "1 when the router's API answers", labels=["router"])
        sessions = GaugeMetricFamily("pantau_router_sessions", "Active sessions per watched menu",
                                     labels=["router", "menu"])
        latency = GaugeMetricFamily("pantau_router_api_latency_seconds", "Round trip of the last "
                                    "/system/identity print", labels=["router"])
        for name, watcher in sorted(self.engine.watchers.items()):
            up.add_metric([name], 0 if watcher.down else 1)
            for watch in watcher.config.watch:
                sessions.add_metric([name, watch], watcher.session_count(watch))
            if watcher.api_latency_s is not None:
                latency.add_metric([name], watcher.api_latency_s)
        yield from (up, sessions, latency)

    def _delivery(self) -> Iterator[Metric]:
        outbox = self.engine.outbox
        messages = GaugeMetricFamily("pantau_outbox_messages", "Outbox rows per notifier and status "
                                     "(sent rows are kept 7 days)", labels=["notifier", "status"])
        every = {name: {} for name in self.engine.notifiers} | self.outbox_counts
        for notifier, counts in sorted(every.items()):
            for status in ("pending", "dead", "sent"):
                messages.add_metric([notifier, status], counts.get(status, 0))
        yield messages
        stats = outbox.stats.by_notifier if outbox is not None else {}
        families = {key: CounterMetricFamily(f"pantau_delivery_{key}", text, labels=["notifier"]) for key, text in (
            ("attempts", "Delivery attempts (a digest is one)"), ("sent", "Attempts that delivered"),
            ("failures", "Attempts that failed (retried or dead)"),
            ("rate_limited", "Failed attempts the peer answered with HTTP 429"))}
        latency = HistogramMetricFamily("pantau_delivery_latency_seconds", "Duration of delivery attempts",
                                        labels=["notifier"])
        for name in sorted(stats):
            s = stats[name]
            for key, value in (("attempts", s.attempts), ("sent", s.sent), ("failures", s.failed),
                               ("rate_limited", s.rate_limited)):
                families[key].add_metric([name], value)
            cumulative, buckets = 0, []
            for bound, n in zip([*map(str, LATENCY_BUCKETS), "+Inf"], s.latency_buckets, strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            latency.add_metric([name], buckets, s.latency_sum)
        yield from families.values()
        yield latency

    def _icmp(self) -> Iterator[Metric]:
        stats = getattr(self.engine.probe, "stats", None)
        if isinstance(stats, dict):
            for key, text in ICMP_COUNTERS.items():
                yield CounterMetricFamily(f"pantau_icmp_{key}", text, value=stats.get(key, 0))
        scheduler = self.engine.scheduler
        if scheduler is not None:
            counts = scheduler.stats
            for key, text in SCHEDULER_COUNTERS.items():
                if key in counts:
                    yield CounterMetricFamily(f"pantau_icmp_{key}_checks", text, value=counts[key])


class MetricsExporter:
    """The /metrics handler: refresh the outbox counts, then render."""

    def __init__(self, engine: Any, loop_lag: Any = None, *, process: bool = True):
        self.engine = engine
        self.collector = EngineCollector(engine, loop_lag)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)  # type: ignore[arg-type]
        if process:
            ProcessCollector(registry=self.registry)
        self._labels: dict[str, str] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.handle)]

    async def refresh(self) -> None:
        if self.engine.outbox is None:
            return
        try:
            self.collector.outbox_counts = await asyncio.wait_for(self.engine.outbox.counts_by_notifier(), 5.0)
        except Exception as exc:  # the last counts stay; the scrape still answers
            log.warning("metrics.outbox_counts_failed", error=f"{type(exc).__name__}: {exc}")

    def render(self) -> bytes:
        return generate_latest(self.registry) + self.render_hosts()

    def render_hosts(self) -> bytes:
        monitors = self.engine.monitors
        labels = self._labels
        out: dict[str, list[str]] = {name: [f"# HELP {name} {text}\n# TYPE {name} {kind}\n"]
                                     for name, kind, text in _HOST_FAMILIES}
        up, rtt, loss = out["pantau_host_up"], out["pantau_host_rtt_seconds"], out["pantau_host_loss_ratio"]
        checks, failures = out["pantau_host_checks_total"], out["pantau_host_check_failures_total"]
        for name, mon in monitors.items():
            label = labels.get(name)
            if label is None:
                label = labels[name] = f'{{host="{escape_label(name)}"}} '
            up.append(f"pantau_host_up{label}{_UP_VALUE[mon.detector.state]}\n")
            last = mon.last
            if last is not None:
                rtts = last.rtts_ms
                if rtts:
                    rtt.append(f"pantau_host_rtt_seconds{label}{sum(rtts) / len(rtts) / 1000!r}\n")
                loss.append(f"pantau_host_loss_ratio{label}{float(last.loss)!r}\n")
            checks.append(f"pantau_host_checks_total{label}{mon.checks}\n")
            failures.append(f"pantau_host_check_failures_total{label}{mon.failures}\n")
        return "".join(map("".join, out.values())).encode()

    async def handle(self, request: web.Request) -> web.Response:
        await self.refresh()
        body = self.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
