"""Hotspot login → webhook received, under load, with the real ``pantau run`` (issue 13 item 4).

    python benchmarks/latency.py [--hosts 10000] [--sessions 10000] [--samples 200] [--poll-samples 60]
                                 [--burst 1000] [--warmup 25]
                                 [--burst-every 5] [--modes listen poll] [--poll-interval 5]
                                 [--no-reference]

Load, all at once: ``pantau run`` pings HOSTS loopback hosts (127.1.x.y, every 10 s) and follows a
simulated router "bulk" holding SESSIONS hotspot sessions; every BURST_EVERY seconds, BURST of those
sessions log out at once (and log back in at the next burst), so a burst of BURST events is in
pantau's pipeline (event → outbox → webhook "bulk") while the measured logins happen. The measured logins are on a second
simulated router "probe" and are routed to webhook "probe"; an aiohttp receiver in this process
stands in for both webhooks. Each simulated router runs in its own process on 127.0.0.1, as real
routers are separate machines: sharing one would make the probe's replies wait while the same
process builds a 10,000-row print or a 1,000-row burst for "bulk".

Latency = wall-clock time the webhook POST arrives − wall-clock time the simulator added the
session (both processes read ``time.time()`` on the same machine). Listen mode goal: p99 < 50 ms.
Poll mode (both routers polled every POLL_INTERVAL): a change must be seen at most one poll
interval + 100 ms after it happens (goal: max ≤ interval + 0.1 s). The same-run reference (listen):
the same harness and ``pantau run`` with no hosts, no sessions on "bulk" and no bursts — the ratio
loaded p99 / idle p99 is what the load costs a login. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sessions import publish_port, session_row  # noqa: E402
from steady_state import cpu_seconds  # noqa: E402

GOAL_P99 = 0.050
GOAL_POLL_SLACK = 0.100
ROLES = ("bulk", "probe")  # one simulator process each, in this order in the config
CHILD_MARK = "PANTAU_LATENCY_SIMULATOR"  # set in the simulators' process: it must never start a benchmark


def run_simulator(role: str, n: int, burst: int, burst_every: float, samples: int, mode: str, work: Path) -> None:
    """Child: router "bulk" (n sessions, bursts) or router "probe" (the measured logins)."""
    from monitor.routeros.sim.simulator import RouterSimulator

    async def main() -> None:
        sim = RouterSimulator(username="bench", password="bench", identity=role)
        if role == "bulk":
            for i in range(n):
                sim.hotspot_login(*session_row(i))
        await sim.start()
        publish_port(work / f"port-{role}", sim.port)
        while not (work / "go").exists():  # noqa: ASYNC110 - the parent is another process
            await asyncio.sleep(0.1)
        if role == "bulk":
            await bursts(sim)
        else:
            await logins(sim)
        await asyncio.Event().wait()  # keep serving until the parent terminates us

    async def bursts(bulk: RouterSimulator) -> None:
        out: list[int] = []
        for r in range(10**9 if burst else 0):
            if out:  # the previous burst logs back in: BURST login events
                for i in out:
                    bulk.hotspot_login(*session_row(i))
                out = []
            else:  # BURST logout events at once
                start = (r * burst) % max(1, n - burst)
                out = [i for i in range(start, start + min(burst, n)) if bulk.hotspot_logout(session_row(i)[0])]
            await asyncio.sleep(burst_every)

    async def logins(probe: RouterSimulator) -> None:
        stamps = (work / "stamps").open("w")
        for k in range(samples):
            # listen: logins 20-80 ms apart, while a burst is in flight; poll: anywhere in the interval
            await asyncio.sleep(random.uniform(0.02, 0.08) if mode == "listen" else random.uniform(0.3, 1.3))
            user = f"probe{k}"
            probe.hotspot_login(user, f"10.200.{k >> 8 & 255}.{k & 255}", f"02:AA:00:00:{k >> 8 & 255:02X}:{k & 255:02X}")
            stamps.write(f"{user} {time.time():.6f}\n")
            stamps.flush()
        stamps.close()
        (work / "done").write_text("1")

    asyncio.run(main())


def write_config(path: Path, hosts: int, mode: str, poll: float, ports: list[int], hook: int, db: Path) -> None:
    routers = [f"  - {{name: {name}, address: 127.0.0.1, port: {port}, username: bench, password: bench, "
               f"mode: {mode}, watch: [hotspot], poll_interval: {poll:g}s}}" for name, port in zip(("bulk", "probe"), ports, strict=True)]
    path.write_text("\n".join([
        "defaults: {interval: 10s, count: 1, timeout: 1s, down_after: 3, up_after: 2}",
        "hosts:" if hosts else "hosts: []",
        *(f"  - {{name: h{i}, address: 127.1.{i // 250}.{i % 250 + 1}}}" for i in range(hosts)),
        "routers:", *routers,
        "notifiers:",
        f"  - {{name: probe, type: webhook, url: 'http://127.0.0.1:{hook}/probe'}}",
        f"  - {{name: bulk, type: webhook, url: 'http://127.0.0.1:{hook}/bulk'}}",
        "routes:",
        '  - {events: ["hotspot.*"], sources: [probe], notify: [probe]}',
        '  - {events: ["hotspot.*"], sources: [bulk], notify: [bulk]}',
        f"state: {{path: {db}}}",
        "log: {level: warning, format: json}",
    ]) + "\n")


async def measure(args: argparse.Namespace, mode: str, tmp: Path, label: str | None = None) -> dict:
    from aiohttp import web

    work = tmp / (label or mode)
    work.mkdir()
    samples = args.samples if mode == "listen" else args.poll_samples
    arrived: dict[str, float] = {}
    bulk_count = 0

    async def probe_hook(request: web.Request) -> web.Response:
        body = await request.read()
        at = time.time()
        data = json.loads(body)
        if data.get("type") == "hotspot.login":
            arrived.setdefault(data["data"]["user"], at)
        return web.Response(text="ok")

    async def bulk_hook(request: web.Request) -> web.Response:
        nonlocal bulk_count
        await request.read()
        bulk_count += 1
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/probe", probe_hook), web.post("/bulk", bulk_hook)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim_argv = [sys.executable, __file__, "--simulator", str(work), "--mode", mode, "--sessions", str(args.sessions),
                "--burst", str(args.burst), "--burst-every", str(args.burst_every), "--samples", str(samples)]
    sims = [subprocess.Popen([*sim_argv, "--role", role], cwd=ROOT, env={**env, CHILD_MARK: "1"})  # noqa: ASYNC220
            for role in ROLES]
    proc = None
    try:
        deadline = time.monotonic() + 120
        while not all((work / f"port-{role}").exists() for role in ROLES):
            if any(sim.poll() is not None for sim in sims) or time.monotonic() > deadline:
                raise SystemExit("the simulators did not start")
            await asyncio.sleep(0.2)
        ports = [int((work / f"port-{role}").read_text()) for role in ROLES]
        config, out = work / "monitor.yaml", work / "out.log"
        write_config(config, args.hosts, mode, args.poll_interval, ports, hook_port, work / "state.db")
        sink = out.open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)],  # noqa: ASYNC220
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=env)
        await asyncio.sleep(args.warmup)
        if proc.poll() is not None:
            raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        (work / "go").write_text("1")
        while not (work / "done").exists():
            if any(sim.poll() is not None for sim in sims):
                raise SystemExit("the simulators exited")
            await asyncio.sleep(0.2)
        wait_until = time.monotonic() + 10 + (args.poll_interval if mode == "poll" else 0)
        while len(arrived) < samples and time.monotonic() < wait_until:  # noqa: ASYNC110 - with a deadline
            await asyncio.sleep(0.2)
        cpu, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for sim in sims:
            sim.terminate()
            sim.wait(10)
        await runner.cleanup()
    stamps = dict(line.split() for line in (work / "stamps").read_text().splitlines())
    lat = sorted(arrived[u] - float(t) for u, t in stamps.items() if u in arrived)
    return {"mode": mode, "lat": lat, "sent": len(stamps), "bulk": bulk_count, "cpu_pct": 100 * cpu / wall}


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=200, help="measured logins in listen mode")
    parser.add_argument("--poll-samples", type=int, default=60, help="measured logins in poll mode (~0.8 s apart)")
    parser.add_argument("--burst", type=int, default=1000, help="session changes at once on router 'bulk'")
    parser.add_argument("--burst-every", type=float, default=5.0, help="seconds between bursts")
    parser.add_argument("--warmup", type=float, default=25.0, help="seconds after start before measuring")
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--modes", nargs="+", default=["listen", "poll"], choices=["listen", "poll"])
    parser.add_argument("--no-reference", action="store_true", help="skip the idle reference run (listen)")
    parser.add_argument("--simulator", metavar="WORKDIR", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--role", choices=ROLES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.environ.get(CHILD_MARK) and not args.simulator:
        raise SystemExit("the simulator child was started without --simulator")
    if args.simulator:
        run_simulator(args.role, args.sessions, args.burst, args.burst_every, args.samples, args.mode,
                      Path(args.simulator))
        return

    with tempfile.TemporaryDirectory(prefix="pantau-latency-") as tmp_name:
        rows = [asyncio.run(measure(args, mode, Path(tmp_name))) for mode in args.modes]
        idle = None
        if "listen" in args.modes and not args.no_reference:
            # the same-run reference: the same pantau and harness with nothing else to do (no
            # hosts, no sessions on "bulk", no bursts), so the ratio shows what the load costs
            quiet = argparse.Namespace(**{**vars(args), "hosts": 0, "sessions": 0, "burst": 0,
                                          "samples": min(args.samples, 100), "warmup": min(args.warmup, 5.0)})
            idle = asyncio.run(measure(quiet, "listen", Path(tmp_name), label="idle"))
    print(f"login → webhook: {args.hosts} loopback hosts every 10s, router 'bulk' with {args.sessions} sessions "
          f"and a {args.burst}-event burst every {args.burst_every:g}s, logins measured on router 'probe', "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for r in rows:
        lat = r["lat"]
        head = (f"  {r['mode']:<7} {len(lat)}/{r['sent']} logins delivered, bulk webhooks {r['bulk']}, "
                f"pantau CPU {r['cpu_pct']:.1f}% of one core")
        if not lat:
            print(head + ": no login reached the webhook")
            continue
        p50, p99, worst = pct(lat, 50), pct(lat, 99), lat[-1]
        print(head)
        if r["mode"] == "listen":
            print(f"          p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms; "
                  f"p99 / goal ({GOAL_P99 * 1000:.0f} ms) = {p99 / GOAL_P99:.2f}x "
                  f"({'met' if p99 < GOAL_P99 and len(lat) == r['sent'] else 'NOT met'})")
            if idle is not None and idle["lat"]:
                ref = idle["lat"]
                print(f"          reference, same run, idle (no hosts, no sessions, no bursts): "
                      f"{len(ref)}/{idle['sent']} delivered, p50 {pct(ref, 50) * 1000:.1f} ms, "
                      f"p99 {pct(ref, 99) * 1000:.1f} ms; loaded p99 / idle p99 = {p99 / pct(ref, 99):.2f}x")
        else:
            bound = args.poll_interval + GOAL_POLL_SLACK
            print(f"          poll interval {args.poll_interval:g}s: p50 {p50:.3f} s, p99 {p99:.3f} s, max {worst:.3f} s; "
                  f"max / goal ({bound:.1f} s) = {worst / bound:.2f}x "
                  f"({'met' if worst <= bound and len(lat) == r['sent'] else 'NOT met'})")


if __name__ == "__main__":
    main()
