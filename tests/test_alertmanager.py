"""The Alertmanager notifier against the REAL Alertmanager (Debian's prometheus-alertmanager):
two pantau instances watching the same host push to a two-node Alertmanager cluster, which
notifies a local webhook receiver: one outage → exactly one firing and one resolved
notification, also when one pantau or one Alertmanager node is killed mid-outage.

The two pantau instances are two Engines in this process, each with its own state database,
outbox and notifier, watching the same host through a scripted probe (the ICMP side is tested
elsewhere; here the host's state is what the test controls)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from test_webhook_standards import ALERTMANAGER_WEBHOOK_SCHEMA

from monitor.config.model import parse_config
from monitor.delivery.alerts import fingerprint
from monitor.engine import Engine
from monitor.hosts.probe import CheckResult

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
needs_alertmanager = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager is not installed "
                                "(apt-get install prometheus-alertmanager; .ci/run installs it)")

RESOLVE_TIMEOUT = 3.0  # Alertmanager resolves an alert not re-posted for this long
REPOST = 1.0  # pantau re-posts firing alerts this often
# The second node sends only after waiting PEER_TIMEOUT and finding no "notified" entry gossiped by
# the first. That wait holds a snapshot: it must end before the first node's next flush
# (GROUP_INTERVAL), or a resolve in between makes the second node send a stale "firing" (the same
# holds for the defaults, 15 s < 5 m; docs/ha.md).
PEER_TIMEOUT = 1.0
GROUP_INTERVAL = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver(BaseHTTPRequestHandler):
    """Alertmanager's webhook receiver: records every notification."""

    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Cluster:
    def __init__(self, tmp: Path, receiver_url: str):
        self.tmp = tmp
        self.web = [free_port(), free_port()]
        gossip = [free_port(), free_port()]
        config = tmp / "alertmanager.yml"
        config.write_text(json.dumps({  # YAML is a superset of JSON
            "global": {"resolve_timeout": f"{RESOLVE_TIMEOUT:g}s"},
            "route": {"receiver": "hook", "group_by": ["alertname", "host"], "group_wait": "500ms",
                      "group_interval": f"{GROUP_INTERVAL:g}s", "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": receiver_url, "send_resolved": True}]}]}))
        self.procs: list[subprocess.Popen | None] = []
        for i in range(2):
            args = [BINARY, f"--config.file={config}", f"--storage.path={tmp / f'am{i}'}",
                    f"--web.listen-address=127.0.0.1:{self.web[i]}",
                    f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
                    f"--cluster.advertise-address=127.0.0.1:{gossip[i]}",
                    f"--cluster.peer=127.0.0.1:{gossip[1 - i]}", f"--cluster.peer-timeout={PEER_TIMEOUT:g}s",
                    "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=2s",
                    "--cluster.settle-timeout=2s", "--log.level=warn"]
            log = open(tmp / f"am{i}.log", "wb")  # noqa: SIM115
            self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.web]

    def wait_ready(self, timeout: float = 20.0) -> None:
        import urllib.request
        deadline = time.monotonic() + timeout
        while True:
            try:
                peers = []
                for url in self.urls:
                    with urllib.request.urlopen(url + "/api/v2/status", timeout=1) as resp:
                        status = json.loads(resp.read())
                    peers.append(len(status["cluster"]["peers"]) == 2 and status["cluster"]["status"] == "ready")
                if all(peers):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join((self.tmp / f"am{i}.log").read_text(errors="replace")[-2000:] for i in range(2))
                raise AssertionError(f"Alertmanager cluster not ready within {timeout}s:\n{logs}")
            time.sleep(0.2)

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.kill()
            proc.wait()
            self.procs[i] = None

    def close(self) -> None:
        for i in range(2):
            self.kill(i)


@pytest.fixture(scope="module")
def receiver():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/am"
    server.shutdown()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, receiver):
    am = Cluster(tmp_path_factory.mktemp("am"), receiver)
    try:
        am.wait_ready()
        yield am
    finally:
        am.close()


class World:
    """The hosts as both instances' probes see them."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    def probe(self) -> ScriptedProbe:
        return ScriptedProbe(self)


class ScriptedProbe:
    def __init__(self, world: World):
        self.world = world

    async def check(self, address: str, *, count: int, timeout: float, interval: float) -> CheckResult:
        if address in self.world.down:
            return CheckResult(address, count, 0, (), "timeout")
        return CheckResult(address, count, count, (0.3,) * count)

    async def aclose(self) -> None:
        return None


def instance(tmp: Path, name: str, host: str, address: str, urls: list[str], world: World) -> Engine:
    config = parse_config({
        "hosts": [{"name": host, "address": address, "interval": "100ms", "count": 1, "timeout": "50ms",
                   "down_after": 1, "up_after": 1, "labels": {"site": "pusat"}}],
        "notifiers": [{"name": "am", "type": "alertmanager", "urls": urls, "repost_interval": f"{REPOST:g}s",
                       "timeout": "2s", "max_age": "5m"}],
        "routes": [{"events": ["host.*"], "notify": ["am"]}],
        "state": {"path": str(tmp / f"{name}.db")}, "plugins_dir": None}, env={})
    return Engine(config, probe=world.probe())


def notifications(host: str) -> list[tuple[str, dict]]:
    return [(alert["status"], alert) for payload in Receiver.received
            for alert in payload["alerts"] if alert["labels"].get("host") == host]


async def until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def outage(tmp: Path, cluster: Cluster, host: str, *, kill=None) -> list[tuple[str, dict]]:
    """Two instances watch ``host``; it goes down for longer than resolve_timeout (so only the
    re-posting keeps it firing), ``kill`` runs right after the firing notification, then the host
    comes back. Returns the receiver's notifications for the host once nothing more arrives."""
    world = World()
    address = f"127.0.0.{10 + len(host)}"
    engines = [instance(tmp, f"{host}-{i}", host, address, cluster.urls, world) for i in range(2)]
    for engine in engines:
        await engine.start()
    try:
        await asyncio.sleep(0.3)  # both have seen the host up
        world.down.add(address)
        await until(lambda: any(s == "firing" for s, _ in notifications(host)), timeout=15)
        if kill is not None:
            # Alertmanager gossips "notified" to its peer within a gossip interval (100 ms here);
            # a node killed inside that window makes the peer notify again (at-least-once, docs/ha.md).
            await asyncio.sleep(1.0)
            await kill(engines)
        await asyncio.sleep(RESOLVE_TIMEOUT + 2 * REPOST)  # an outage Alertmanager alone would resolve
        assert not any(s == "resolved" for s, _ in notifications(host)), "resolved during the outage"
        world.down.discard(address)
        await until(lambda: any(s == "resolved" for s, _ in notifications(host)), timeout=15)
        await asyncio.sleep(PEER_TIMEOUT + GROUP_INTERVAL)  # room for a duplicate from the other node
    finally:
        for engine in engines:
            await engine.stop(grace=0.5)
    return notifications(host)


def assert_exactly_one_each(seen: list[tuple[str, dict]], host: str) -> None:
    assert [s for s, _ in seen] == ["firing", "resolved"], seen
    firing, resolved = seen[0][1], seen[1][1]
    labels = {"alertname": "HostDown", "host": host, "site": "pusat"}
    assert firing["labels"] == labels == resolved["labels"]
    # pantau's fingerprint is Alertmanager's own for the same labels
    assert firing["fingerprint"] == resolved["fingerprint"] == fingerprint(labels)
    assert resolved["endsAt"] > resolved["startsAt"]


@needs_alertmanager
async def test_one_outage_one_firing_one_resolved(tmp_path, cluster):
    """Two pantau → two-node cluster → one firing and one resolved; the real payloads also validate
    against the schema pantau's `format: alertmanager` is tested with."""
    seen = await outage(tmp_path, cluster, "olt-1")
    assert_exactly_one_each(seen, "olt-1")
    for payload in Receiver.received:
        jsonschema.validate(payload, ALERTMANAGER_WEBHOOK_SCHEMA)


@needs_alertmanager
async def test_killing_one_pantau_mid_outage(tmp_path, cluster):
    """One pantau dies after the firing notification: the other keeps the alert alive and resolves it."""
    async def kill_pantau(engines):
        await engines[0].stop(grace=0)
    assert_exactly_one_each(await outage(tmp_path, cluster, "olt-22", kill=kill_pantau), "olt-22")


@needs_alertmanager
async def test_killing_one_alertmanager_mid_outage(tmp_path, cluster):
    """One Alertmanager node is killed (SIGKILL) after the firing notification: the survivor,
    which knows from gossip that firing was sent, sends the one resolved notification."""
    async def kill_node(engines):
        cluster.kill(0)
    assert_exactly_one_each(await outage(tmp_path, cluster, "olt-333", kill=kill_node), "olt-333")


async def test_session_events_are_not_alerts_and_repost_keeps_firing(tmp_path):
    """Unit level, no Alertmanager: a session event posts nothing; a down is stored as firing and
    re-posted; the up removes it (and a restarted notifier still has it firing until then)."""
    from aiohttp import web

    posts: list = []

    async def accept(request):
        posts.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/v2/alerts", accept)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    from types import SimpleNamespace

    from monitor.delivery.notify import NotifierContext
    from monitor.events import Event, Source
    from notifiers.alertmanager import AlertmanagerConfig, AlertmanagerNotifier
    settings = SimpleNamespace(state=SimpleNamespace(path=str(tmp_path / "s.db")))
    async with aiohttp.ClientSession() as http:
        def make():
            cfg = AlertmanagerConfig(name="am", type="alertmanager", urls=[url, f"http://127.0.0.1:{free_port()}"])
            return AlertmanagerNotifier(cfg, NotifierContext(http=http, settings=settings))
        am = make()
        await am.send(Event("ppp.connect", Source("router", "core"), {"name": "budi"}))
        assert posts == []
        down = Event("router.down", Source("router", "core", "10.0.0.1", {"site": "pusat"}), {"error": "refused"})
        await am.send(down)  # one of the two URLs refuses: still delivered
        await am.aclose()
        am = make()  # a restart: the firing alert is still re-posted
        assert await am.repost() == 1
        assert posts[-1][0]["labels"] == {"alertname": "RouterDown", "router": "core", "site": "pusat"}
        await am.send(Event("router.up", down.source, {}))
        assert "endsAt" in posts[-1][0] and am.firing() == [] and await am.repost() == 0
        # A firing alert for something no longer watched (a test-notify sample) is not re-posted forever.
        await am.send(Event("host.down", Source("host", "server-kantor"), {}))
        assert am.forget_unwatched() == 0 and len(am.firing()) == 1  # no settings.hosts: nothing known
        am.context.settings = SimpleNamespace(state=settings.state, hosts=[], routers=[SimpleNamespace(name="core")])
        assert am.forget_unwatched() == 1 and am.firing() == []
        await am.aclose()
    await runner.cleanup()
    assert len(posts) == 4


@pytest.mark.parametrize("field,value,error", [
    ("urls", [], "notifiers[0].urls: List should have at least 1 item"),
    ("urls", ["am:9093"], "notifiers[0].urls[0]: must be an http:// or https:// URL"),
    ("repost_interval", "soon", "notifiers[0].repost_interval: invalid duration 'soon'"),
    ("labels", {"team": 1}, "notifiers[0].labels.team: Input should be a valid string"),
])
def test_config_errors_name_the_field(field, value, error):
    from monitor.errors import ConfigError
    am = {"name": "am", "type": "alertmanager", "urls": ["http://127.0.0.1:9093"], field: value}
    data = {"hosts": [{"name": "a", "address": "127.0.0.1"}], "notifiers": [am],
            "routes": [{"events": ["host.*"], "notify": ["am"]}], "plugins_dir": None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(error) for p in info.value.problems), info.value.problems
