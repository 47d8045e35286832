"""``pantau demo``: a simulated RouterOS router on 127.0.0.1, a scripted story, real notifications.

The story: two customers are already online when pantau starts (no replay), a voucher user and a
named user log in and out, a PPPoE customer connects, the router's API goes away (one router.down,
no false logouts), sessions change while it is away, it comes back (router.up, then only the real
differences), an access point behind the router (pinged by the router over the API, no root
needed) goes down and up, and ICMP checks 127.0.0.1. Every notification goes to the console, and to the
notifiers of ``-c FILE`` when given (routed by that file's routes).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..config.model import load_config, parse_config
from ..errors import ConfigError, ProbeError
from ..logs import configure_logging
from ..routeros.sim.simulator import RouterSimulator

Step = tuple[float, str, Callable[[RouterSimulator], Any]]

#: An access point behind the router: pantau cannot reach it, the router pings it (hosts[].via).
AP_ADDRESS = "172.16.5.2"


def sessions_chapter() -> list[Step]:
    """Hotspot and PPPoE customers come and go."""
    return [
        (2.0, "voucher 12345 logs in to the hotspot",
         lambda s: s.hotspot_login("12345", "10.5.50.23", "3C:22:FB:10:20:30")),
        (4.0, "Budi (user 'budi', phone in the user comment) logs in",
         lambda s: s.hotspot_login("budi", "10.5.50.24", "AC:BC:32:7E:11:02", login_by="http-chap")),
        (6.0, "PPPoE customer pelanggan-017 connects",
         lambda s: s.ppp_connect("pelanggan-017", caller_id="C4:AD:34:55:66:77", address="10.20.0.17")),
        (8.0, "voucher 12345 logs out after using the hotspot",
         lambda s: (s.hotspot_traffic("12345", bytes_in=1_250_000, bytes_out=48_300_000),
                    s.hotspot_logout("12345"))),
        (21.0, "pelanggan-017 disconnects", lambda s: s.ppp_disconnect("pelanggan-017")),
    ]


def hosts_chapter() -> list[Step]:
    """A host behind the router (Netwatch's job): the router pings it over the API, no root needed."""
    return [
        (22.0, "the access point ap-lantai-2 (172.16.5.2, pinged from the router) loses power",
         lambda s: s.pings.set_down(AP_ADDRESS)),
        # long enough to outlast the hold of a child's DOWN while its router (its parent) is checked
        (33.0, "ap-lantai-2 has power again", lambda s: s.pings.set(AP_ADDRESS, rtt_ms=2.5)),
    ]


def outage_chapter() -> list[Step]:
    """The router's API goes away and comes back; what changed meanwhile is reported once."""
    return [
        (10.0, "the router's API becomes unreachable (connections refused); pantau keeps retrying "
               "quietly — its technical warnings go to the log file, not to this screen",
         lambda s: s.set_fault("refuse")),
        (14.0, "…while it is away, Budi logs out and Sari logs in (pantau cannot see it yet)",
         lambda s: (s.hotspot_logout("budi"), s.hotspot_login("sari", "10.5.50.31", "F0:9F:C2:01:02:03"))),
        (17.0, "the router is reachable again: pantau reports what changed while it was away",
         lambda s: s.clear_fault()),
    ]


def story() -> list[Step]:
    """(seconds after start, narration, action) — the demo's script: its chapters merged in time order.

    A chapter is a function returning steps; add one here (e.g. hosts going down and up through the
    simulated router) and the story interleaves it by time. The last step ends the story."""
    chapters = [sessions_chapter(), outage_chapter(), hosts_chapter()]
    steps = sorted((step for chapter in chapters for step in chapter), key=lambda step: step[0])
    return steps + [(max(at for at, _, _ in steps) + 3.0, "end of the story", lambda s: None)]


def demo_config(sim: RouterSimulator, state_dir: Path, *, with_host: bool,
                user_config: Path | None, speed: float = 1.0) -> dict[str, Any]:
    poll = f"{max(0.1, 1.0 / speed):.2f}s"  # a faster story polls faster, so the outage is still seen
    cfg: dict[str, Any] = {
        "defaults": {"interval": "1s", "count": 1, "timeout": "500ms", "down_after": 2, "up_after": 1},
        "hosts": ([{"name": "gateway-lokal", "address": "127.0.0.1", "labels": {"site": "demo"}}] if with_host else [])
        + [{"name": "ap-lantai-2", "address": AP_ADDRESS, "via": "rtrw-demo", "interval": poll,
            "timeout": "50ms", "labels": {"site": "demo"}}],
        "routers": [{"name": "rtrw-demo", "address": "127.0.0.1", "port": sim.port, "username": sim.username,
                     "password": sim.password, "mode": "listen", "poll_interval": poll, "down_after": 2,
                     "timeout": "1s", "labels": {"site": "demo"}}],
        "notifiers": [{"name": "layar", "type": "console", "digest": {"enabled": False},
                       "rate_limit": {"per_recipient": ["off"]}}],
        "routes": [{"events": ["*"], "notify": ["layar"]}],
        "state": {"path": str(state_dir / "demo.db")},
        "plugins_dir": None,
    }
    if user_config is not None:
        user = load_config(user_config)
        cfg["timezone"] = user.settings.timezone
        cfg["plugins_dir"] = user.settings.plugins_dir and str(user_config.parent / user.settings.plugins_dir)
        raw = _raw_notifiers(user_config)
        cfg["notifiers"] += [n for n in raw if n.get("name") != "layar"]
        cfg["routes"] += [r.model_dump() for r in user.settings.routes]
    return cfg


def demo_log_path() -> Path:
    """Where the demo's technical log goes: one file per user in the temp directory, kept afterwards."""
    import os

    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"pantau-demo-{uid}.log"


def _open_log(path: Path) -> TextIO:
    return open(path, "a", encoding="utf-8")  # noqa: SIM115 - the caller closes it


def _raw_notifiers(path: Path) -> list[dict[str, Any]]:
    import os

    from ..config.envsubst import substitute
    from ..config.yaml_reader import read_yaml

    data = read_yaml(path) or {}
    return substitute(data.get("notifiers") or [], os.environ)


async def run_demo(*, speed: float = 1.0, config_path: str | None = None, loop_forever: bool = False) -> int:
    from ..engine import Engine
    from ..hosts.open_probe import open_probe

    log_path = demo_log_path()
    log_file = _open_log(log_path)  # closed at the end of the demo
    configure_logging("info", "json", stream=log_file)  # warnings in the outage are part of the story
    speed = max(speed, 0.1)
    sim = RouterSimulator(username="pantau", password=secrets.token_urlsafe(12), identity="RTRW-Net-Demo")
    await sim.start()
    sim.add_hotspot_user("budi", comment="Budi — Kamar 3 — 0857 1234 5678")
    sim.add_hotspot_user("sari", comment="Sari +62 812-3456-7890")
    sim.add_hotspot_user("12345", comment="voucher 1 hari")
    sim.add_ppp_secret("pelanggan-017", comment="Pak Joko 081298765432")
    # already online before pantau starts: these must NOT be announced as logins
    sim.hotspot_login("andi", "10.5.50.11", "AA:BB:CC:00:00:11", uptime=3600)
    sim.ppp_connect("pelanggan-002", caller_id="AA:BB:CC:00:00:02", address="10.20.0.2", uptime=86400)
    sim.pings.set(AP_ADDRESS, rtt_ms=2.5)  # the router reaches the access point (pantau itself cannot)

    with_host = True
    try:
        from ..config.model import IcmpConfig

        await (await open_probe(IcmpConfig())).aclose()
    except ProbeError as exc:
        with_host = False
        print(f"(ICMP is not permitted here, the demo skips host checks: {exc})\n", file=sys.stderr)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    with tempfile.TemporaryDirectory(prefix="pantau-demo-") as state_dir:
        try:
            data = demo_config(sim, Path(state_dir), with_host=with_host,
                               user_config=Path(config_path) if config_path else None, speed=speed)
            config = parse_config(data, env={})
        except ConfigError as exc:
            print("pantau demo: invalid config:", *exc.problems, sep="\n  ", file=sys.stderr)
            await sim.stop()
            log_file.close()
            return 2
        print(f"pantau demo — simulated router 'RTRW-Net-Demo' on 127.0.0.1:{sim.port}"
              f"{' and ICMP to 127.0.0.1' if with_host else ''}; the router pings ap-lantai-2 ({AP_ADDRESS}).\n"
              "Already online before pantau starts (not announced): hotspot 'andi', PPPoE 'pelanggan-002'.\n"
              f"pantau's own log (JSON lines): {log_path}\n",
              flush=True)
        engine = Engine(config)
        await engine.start()
        try:
            while not stop.is_set():
                started = loop.time()
                for at, narration, action in story():
                    delay = started + at / speed - loop.time()
                    if delay > 0:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay):
                                await stop.wait()
                    if stop.is_set():
                        break
                    print(f"▶ {narration}\n", flush=True)
                    action(sim)
                if not loop_forever:
                    break
                sim.reboot()
        finally:
            await engine.stop(grace=2.0)
            await sim.stop()
            log_file.close()
    print(f"pantau demo: {len(engine.emitted)} events. Configure real notifiers in monitor.yaml and run "
          "`pantau run -c monitor.yaml`.", flush=True)
    return 0
