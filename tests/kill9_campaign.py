"""kill -9 the real `pantau run` again and again while hotspot users log in and out and a host
flaps, then check what the webhook receiver got: no host alert repeated or orphaned, no session
event lost or replayed. Shared by tests/test_kill9_e2e.py (30 kills) and benchmarks/kill9.py (more).

Kills are at random moments, biased toward the interesting ones: during start-up, and shortly
after an event was detected (when its state change and its outbox rows are being written).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fake_peers import generic_peer
from nethost import new_host
from pantau_proc import Pantau, wait_until, write_config

from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "kill9-pw-5"
INITIAL = [f"init{i}" for i in range(6)]


@dataclass
class Report:
    kills: int = 0
    events: int = 0  # distinct event ids delivered
    redelivered: int = 0  # same id delivered again: "peer accepted, answer lost" (docs/delivery.md)
    problems: list[str] = field(default_factory=list)


class _World:
    """The ground truth the test creates on the simulator and the netns host."""

    def __init__(self, sim: RouterSimulator, host, rng: random.Random):
        self.sim, self.host, self.rng = sim, host, rng
        self.logged_in: list[str] = []
        self.logged_out: set[str] = set()
        self.host_down = False
        self._n = 0

    def login(self) -> str:
        self._n += 1
        user = f"u{self._n:03d}"
        self.sim.hotspot_login(user, f"10.5.{50 + self._n // 200}.{self._n % 200 + 2}",
                               f"AA:BB:CC:01:{self._n // 256:02X}:{self._n % 256:02X}")
        self.logged_in.append(user)
        return user

    def logout(self, delivered_logins: set[str]) -> str | None:
        # only users whose login pantau has reported, so every login/logout pair must be seen
        candidates = sorted((delivered_logins | set(INITIAL)) - self.logged_out)
        if not candidates:
            return None
        user = self.rng.choice(candidates)
        self.sim.hotspot_logout(user)
        self.logged_out.add(user)
        return user

    def flap(self) -> str | None:
        if self.host is None:
            return None
        self.host_down = not self.host_down
        self.host.down() if self.host_down else self.host.up()
        return "host.down" if self.host_down else "host.up"


async def campaign(tmp: Path, kills: int, *, seed: int, flap: bool) -> Report:
    rng = random.Random(seed)
    report = Report()
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer() as hook:
        for i, user in enumerate(INITIAL):
            sim.hotspot_login(user, f"10.5.49.{i + 2}", f"AA:BB:CC:00:09:{i:02X}")
        with new_host() if flap else contextlib.nullcontext() as nh:
            world = _World(sim, nh, rng)
            cfg = write_config(
                tmp / "monitor.yaml",
                routers=[{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                          "password": PASSWORD, "mode": "listen", "poll_interval": "200ms", "timeout": "1s"}],
                hosts=[{"name": "cpe", "address": nh.address}] if nh else [],
                defaults={"interval": "100ms", "count": 1, "timeout": "80ms", "down_after": 2, "up_after": 2},
                notifiers=[{"name": "hook", "type": "webhook", "url": hook.url}],
                routes=[{"events": ["*"], "notify": ["hook"]}],
                state={"path": str(tmp / "state.db")})

            def delivered_logins() -> set[str]:
                return {r.json["data"]["user"] for r in hook.received if r.json["type"] == "hotspot.login"}

            first = Pantau(cfg, tmp / "run-first.log")
            try:  # the first run baselines the initial sessions (silently) and the host (UP)
                await first.wait_log("router_baseline", 2)
                if nh:
                    await first.wait_log("transition", host="cpe", state="up")
                await asyncio.sleep(0.5)
                first.kill9()
            finally:
                first.ensure_dead()

            for k in range(kills):
                run = Pantau(cfg, tmp / f"run-{k:03d}.log")
                try:
                    if rng.random() < 0.15:  # somewhere in start-up
                        await asyncio.sleep(rng.uniform(0.05, 1.2))
                    else:
                        await run.wait_log("started", timeout=30)
                        what = rng.choice(["login", "login", "logout", "flap", "flap"])
                        if what == "flap" and nh:
                            kind = world.flap()
                            with contextlib.suppress(AssertionError):
                                await run.wait_log("event", event_type=kind, timeout=3)
                            await asyncio.sleep(rng.uniform(0.0, 0.4))
                        else:
                            user = world.login() if what != "logout" else world.logout(delivered_logins())
                            if user:
                                with contextlib.suppress(AssertionError):
                                    await run.wait_log("event", user=user, timeout=3)
                            await asyncio.sleep(rng.uniform(0.0, 0.1))
                    run.kill9()
                    report.kills += 1
                finally:
                    run.ensure_dead()
                if rng.random() < 0.3:  # a change while pantau is dead
                    world.login()

            if nh and world.host_down:
                world.flap()
            final = Pantau(cfg, tmp / "run-final.log")
            try:
                def settled() -> bool:
                    got = [r.json for r in hook.received]
                    logins = {e["data"]["user"] for e in got if e["type"] == "hotspot.login"}
                    logouts = {e["data"]["user"] for e in got if e["type"] == "hotspot.logout"}
                    hosts = [e["type"] for e in got if e["type"].startswith("host.")]
                    return (set(world.logged_in) <= logins and world.logged_out <= logouts
                            and (not hosts or hosts[-1] == "host.up"))
                try:
                    await wait_until(settled, timeout=30, what="every change reported after the last kill")
                except AssertionError as exc:
                    report.problems.append(str(exc))  # _judge says which
                await asyncio.sleep(1.0)  # a replay, if any, would arrive now
                final.stop()
            finally:
                final.ensure_dead()
    _judge([r.json for r in hook.received], world, report)
    return report


def _judge(got: list[dict], world: _World, report: Report) -> None:
    counts = Counter(e["id"] for e in got)
    report.redelivered = sum(n - 1 for n in counts.values())
    seen: set[str] = set()
    unique = [e for e in got if not (e["id"] in seen or seen.add(e["id"]))]
    report.events = len(unique)
    for user in [*INITIAL, *world.logged_in]:
        mine = [e["type"] for e in unique if e["type"].startswith("hotspot.") and e["data"]["user"] == user]
        want = ([] if user in INITIAL else ["hotspot.login"]) + (["hotspot.logout"] if user in world.logged_out else [])
        if mine != want:
            report.problems.append(f"{user}: got {mine}, expected {want}")
    hosts = [e["type"] for e in unique if e["type"].startswith("host.")]
    for i, kind in enumerate(hosts):
        if kind != ("host.down" if i % 2 == 0 else "host.up"):
            report.problems.append(f"host alerts do not alternate at #{i}: {hosts}")
            break
    if hosts and hosts[-1] != "host.up":
        report.problems.append(f"orphaned host.down: {hosts}")
