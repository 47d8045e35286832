"""500 hosts pinged through one (simulated) router with ``hosts[].via``, every 30 s, by ``pantau run``.

    python benchmarks/via_ping.py [N=500] [--interval 30] [--count 3] [--concurrency 8]
                                  [--seconds 60] [--warmup 35]

The RouterOS API simulator runs in its own process; every address answers its /ping (1.5 ms). After
the warm-up (one full interval, so every host has started) the CPU of pantau and of the simulated
router are sampled for SECONDS, and the router's /ping counters (pings, echoes, the most pings ever
running at once) are read from a file the simulator rewrites every second. Printed: both loads, and
pantau's CPU as a ratio of the router's (the reference in the same run), plus how many checks ran
against how many the interval asks for (a concurrency limit too small for N shows up here).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sessions import publish_port  # noqa: E402
from steady_state import cpu_seconds, rss_mb  # noqa: E402


def address(i: int) -> str:
    return f"172.16.{i // 250}.{i % 250 + 1}"


def write_stats(stats_file: Path, pings) -> None:
    stats_file.write_text(json.dumps({"pings": pings.started, "echoes": pings.echoes,
                                      "max_running": pings.max_running}))


def run_simulator(n: int, port_file: Path, stats_file: Path) -> None:
    """Child: the simulated router; every address answers; counters written every second."""
    import asyncio

    from monitor.routeros.sim.simulator import RouterSimulator

    async def main() -> None:
        sim = RouterSimulator(username="bench", password="bench", version="6.49.10 (long-term)")
        for i in range(n):
            sim.pings.set(address(i), rtt_ms=1.5)
        await sim.start()
        publish_port(port_file, sim.port)
        while True:
            await asyncio.sleep(1.0)
            write_stats(stats_file, sim.pings)

    asyncio.run(main())


def write_config(path: Path, n: int, port: int, db: Path, args: argparse.Namespace) -> None:
    lines = [
        "routers:",
        f"  - {{name: core, address: 127.0.0.1, port: {port}, username: bench, password: bench,",
        f"     mode: poll, watch: [hotspot], poll_interval: 10s, ping_concurrency: {args.concurrency}}}",
        f"defaults: {{interval: {args.interval:g}s, count: {args.count}, timeout: 1s}}",
        "hosts:",
        *[f"  - {{name: h{i}, address: {address(i)}, via: core}}" for i in range(n)],
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["host.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: warning, format: json}",
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=500)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=35.0)
    parser.add_argument("--simulator", nargs=2, metavar=("PORT_FILE", "STATS_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        run_simulator(args.n, Path(args.simulator[0]), Path(args.simulator[1]))
        return

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="pantau-via-") as tmp_name:
        tmp = Path(tmp_name)
        port_file, stats_file = tmp / "port", tmp / "stats.json"
        sim = subprocess.Popen([sys.executable, __file__, str(args.n), "--simulator", str(port_file), str(stats_file)],
                               cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if sim.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start")
                time.sleep(0.2)
            config, out = tmp / "via.yaml", tmp / "via.log"
            write_config(config, args.n, int(port_file.read_text()), tmp / "via.db", args)
            with out.open("wb") as sink:
                proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                        stdout=sink, stderr=subprocess.STDOUT, env=env)
                try:
                    time.sleep(args.warmup)
                    if proc.poll() is not None:
                        raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
                    stats0 = json.loads(stats_file.read_text())
                    cpu0, sim0, wall0, peak = cpu_seconds(proc.pid), cpu_seconds(sim.pid), time.monotonic(), 0.0
                    while time.monotonic() - wall0 < args.seconds:
                        time.sleep(1.0)
                        peak = max(peak, rss_mb(proc.pid))
                    wall = time.monotonic() - wall0
                    cpu, sim_cpu = cpu_seconds(proc.pid) - cpu0, cpu_seconds(sim.pid) - sim0
                    stats1 = json.loads(stats_file.read_text())
                finally:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            downs = sum(1 for line in out.read_text(errors="replace").splitlines() if "host.down" in line)
        finally:
            sim.terminate()
            sim.wait(10)
    pings = stats1["pings"] - stats0["pings"]
    expected = args.n * wall / args.interval
    print(f"{args.n} hosts via one simulated router every {args.interval:g}s, count {args.count}, "
          f"ping_concurrency {args.concurrency}; measured {wall:.0f}s after a {args.warmup:g}s warm-up, "
          f"{os.cpu_count()} CPUs (router in its own process)")
    print(f"  pantau  CPU {100 * cpu / wall:6.2f}% of one core ({cpu:.2f} CPU-s), peak RSS {peak:.0f} MB")
    print(f"  router  CPU {100 * sim_cpu / wall:6.2f}% of one core ({sim_cpu:.2f} CPU-s)")
    print(f"  ratio   pantau / router CPU = {cpu / sim_cpu if sim_cpu else float('inf'):.2f}")
    print(f"  checks  {pings} pings ({stats1['echoes'] - stats0['echoes']} echoes) of {expected:.0f} asked for "
          f"({100 * pings / expected:.0f}%), at most {stats1['max_running']} at once; host.down lines: {downs}")


if __name__ == "__main__":
    main()
