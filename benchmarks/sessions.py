"""Follow N simulated hotspot sessions with the real ``pantau run``, in listen and in poll mode.

    python benchmarks/sessions.py 10000 [--seconds 60] [--warmup 20] [--modes listen poll]
    python benchmarks/sessions.py 5000 --routers 20 --modes listen     # issue 13: < 3 % of a core

A RouterOS API simulator (monitor/routeros/sim/simulator.py) runs in its own process on 127.0.0.1 with N
active hotspot sessions and makes one change per second (alternately a logout and a login, so N
stays put); ``--routers R`` runs R such routers in that process (changes spread over the second). For each mode, ``python -m monitor run`` watches it with a config holding just that
router; after the warm-up (the first full sync of N sessions) the pantau process's CPU (utime +
stime from /proc) and RSS are sampled for SECONDS. The simulator's own CPU is not counted. Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from steady_state import cpu_seconds, rss_mb  # noqa: E402

GOAL_LISTEN_PCT = 3.0  # issue 13 item 5, for --routers 20 with 5,000 sessions each


def publish_port(port_file: Path, port: int | str) -> None:
    partial = port_file.with_suffix(".tmp")
    partial.write_text(str(port))
    partial.rename(port_file)  # atomic: the parent never reads a half-written port


def session_row(i: int) -> tuple[str, str, str]:
    """User, address and MAC of simulated session ``i``."""
    return f"user{i}", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", f"02:00:00:{i >> 16 & 255:02X}:" \
           f"{i >> 8 & 255:02X}:{i & 255:02X}"


def run_simulator(n: int, port_file: Path, routers: int = 1) -> None:
    """Child: ``routers`` simulated routers with ``n`` sessions each, one change per second on each."""
    import asyncio

    from monitor.routeros.sim.simulator import RouterSimulator

    async def churn(sim: RouterSimulator, offset: float) -> None:
        await asyncio.sleep(offset)  # spread the routers' changes over the second
        gone: list[int] = []
        step = 0
        while True:
            await asyncio.sleep(1.0)
            step += 1
            if step % 2 and n:  # odd seconds: someone logs out
                i = (step // 2) % n
                if sim.hotspot_logout(session_row(i)[0]):
                    gone.append(i)
            elif gone:  # even seconds: they log back in
                sim.hotspot_login(*session_row(gone.pop()))

    async def main() -> None:
        sims = []
        for _ in range(routers):
            sim = RouterSimulator(username="bench", password="bench")
            for i in range(n):
                sim.hotspot_login(*session_row(i))
            await sim.start()
            sims.append(sim)
        publish_port(port_file, " ".join(str(sim.port) for sim in sims))
        await asyncio.gather(*(churn(sim, k / routers) for k, sim in enumerate(sims)))

    asyncio.run(main())


def write_config(path: Path, mode: str, ports: list[int], db: Path) -> None:
    path.write_text("\n".join([
        "routers:",
        *(f"  - {{name: bench{k}, address: 127.0.0.1, port: {port}, username: bench, password: bench, "
          f"mode: {mode}, watch: [hotspot], poll_interval: 5s}}" for k, port in enumerate(ports)),
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["hotspot.*", "router.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: info, format: json}",
    ]) + "\n")


def measure(mode: str, ports: list[int], warmup: float, seconds: float, tmp: Path) -> dict:
    config, out = tmp / f"{mode}.yaml", tmp / f"{mode}.log"
    write_config(config, mode, ports, tmp / f"{mode}.db")
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            time.sleep(warmup)
            if proc.poll() is not None:
                raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
            cpu0, wall0, peak = cpu_seconds(proc.pid), time.monotonic(), 0.0
            while time.monotonic() - wall0 < seconds:
                time.sleep(1.0)
                peak = max(peak, rss_mb(proc.pid))
            cpu, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    text = out.read_text(errors="replace")
    events = sum(1 for line in text.splitlines() if "hotspot.log" in line)
    return {"mode": mode, "cpu_pct": 100 * cpu / wall, "cpu": cpu, "wall": wall, "rss": peak,
            "event_lines": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--modes", nargs="+", default=["listen", "poll"], choices=["listen", "poll"])
    parser.add_argument("--routers", type=int, default=1, help="simulated routers, each with N sessions")
    parser.add_argument("--simulator", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        run_simulator(args.n, Path(args.simulator), args.routers)
        return

    with tempfile.TemporaryDirectory(prefix="pantau-sessions-") as tmp_name:
        tmp = Path(tmp_name)
        port_file = tmp / "port"
        sim = subprocess.Popen([sys.executable, __file__, str(args.n), "--simulator", str(port_file),
                                "--routers", str(args.routers)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 120
            while not port_file.exists() or not port_file.read_text():
                if sim.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start")
                time.sleep(0.2)
            ports = [int(p) for p in port_file.read_text().split()]
            rows = [measure(mode, ports, args.warmup, args.seconds, tmp) for mode in args.modes]
        finally:
            sim.terminate()
            sim.wait(10)
    print(f"{args.routers} simulated router(s) x {args.n} hotspot sessions, one change per second per router, measured {args.seconds:g}s "
          f"after a {args.warmup:g}s warm-up, {os.cpu_count()} CPUs (simulator in its own process)")
    for r in rows:
        print(f"  {r['mode']:<7} CPU {r['cpu_pct']:6.2f}% of one core ({r['cpu']:.2f} CPU-s), "
              f"peak RSS {r['rss']:.0f} MB, hotspot event lines in the output: {r['event_lines']}")
        if r["mode"] == "listen" and args.routers > 1:  # issue 13: 20 routers x 5,000 sessions < 3 % of a core
            print(f"          CPU / goal ({GOAL_LISTEN_PCT:g}% of a core) = {r['cpu_pct'] / GOAL_LISTEN_PCT:.2f}x "
                  f"({'met' if r['cpu_pct'] < GOAL_LISTEN_PCT else 'NOT met'})")


if __name__ == "__main__":
    main()
