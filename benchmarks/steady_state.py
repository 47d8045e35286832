"""Run the real ``pantau run`` on N loopback hosts and report its CPU use and memory.

    python benchmarks/steady_state.py 10000 10 60 [--engine socket] [--pps 2000]

Writes a config of N hosts 127.1.x.y (every one answers on Linux) checked every INTERVAL seconds,
starts ``python -m monitor run -c CONFIG``, waits out the warm-up (default two intervals + 2 s: every
host has started and made its first transition to up, which is persisted per host), then samples the
process for SECONDS: CPU % of one core (utime + stime from /proc/PID/stat over the
window), RSS (VmRSS, peak and last) and the number of host.down events (false downs: every host
is up). Not part of the test suite; needs root or ping_group_range for ICMP.

    python benchmarks/steady_state.py 10000 10 60 --engine-only tasks|scheduler

measures the ICMP engine alone in this process (no detector, notifiers or state), driven either by
one asyncio task per host calling ``check`` (the host loop's model) or by ``IcmpScheduler``.
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
TICKS = os.sysconf("SC_CLK_TCK")


def write_config(path: Path, n: int, interval: float, engine: str, pps: int, db: Path) -> None:
    lines = [
        f"defaults: {{interval: {interval:g}s, count: 1, timeout: 1s, down_after: 3, up_after: 2}}",
        f"icmp: {{engine: {engine}, pps: {pps}}}",
        "hosts:",
        *(f"  - {{name: h{i}, address: 127.1.{i // 250}.{i % 250 + 1}}}" for i in range(n)),
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["host.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: info, format: json}",
    ]
    path.write_text("\n".join(lines) + "\n")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def engine_only(model: str, n: int, interval: float, seconds: float, pps: int) -> None:
    import asyncio
    import random
    import resource

    import structlog

    from monitor.hosts.icmp.engine import open_icmp_engine
    from monitor.hosts.icmp.scheduler import IcmpScheduler

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    counts = {"checks": 0, "failed": 0}

    def count(result) -> None:
        counts["checks"] += 1
        counts["failed"] += result.received == 0

    async def host_task(engine, address: str) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(random.random() * interval)
        next_at = loop.time()
        while True:
            count(await engine.check(address, count=1, timeout=1.0, interval=0.2))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def run() -> None:
        engine = await open_icmp_engine(pps=pps)
        hosts = [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]
        tasks, scheduler = [], None
        if model == "tasks":
            tasks = [asyncio.create_task(host_task(engine, a)) for a in hosts]
        else:
            scheduler = IcmpScheduler(engine, lambda key, result: count(result))
            for i, address in enumerate(hosts):
                scheduler.add(i, address, interval=interval, timeout=1.0)
        await asyncio.sleep(interval + 1)
        cpu0, wall0, checks0 = time.process_time(), time.monotonic(), counts["checks"]
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        for t in tasks:
            t.cancel()
        if scheduler is not None:
            await scheduler.aclose()
        await engine.aclose()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"engine only, {model}: {n} loopback hosts every {interval:g}s, measured {wall:.0f}s: "
              f"CPU {100 * cpu / wall:.2f}% of one core, {counts['checks'] - checks0} checks, "
              f"{counts['failed']} failed, peak RSS {rss} MB")

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("interval", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--engine", default="socket", choices=["socket", "icmplib", "auto"])
    parser.add_argument("--pps", type=int, default=2000)
    parser.add_argument("--warmup", type=float, help="seconds before measuring (default 2 x interval + 2)")
    parser.add_argument("--engine-only", choices=["tasks", "scheduler"])
    args = parser.parse_args()
    if args.engine_only:
        engine_only(args.engine_only, args.n, args.interval, args.seconds, args.pps)
        return
    warmup = 2 * args.interval + 2 if args.warmup is None else args.warmup

    with tempfile.TemporaryDirectory(prefix="pantau-steady-") as tmp:
        config, out = Path(tmp) / "monitor.yaml", Path(tmp) / "out.log"
        write_config(config, args.n, args.interval, args.engine, args.pps, Path(tmp) / "state.db")
        with out.open("wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                    stdout=sink, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                time.sleep(2.0)
                warm0 = cpu_seconds(proc.pid)
                time.sleep(warmup - 2.0)
                warm = cpu_seconds(proc.pid) - warm0
                if proc.poll() is not None:
                    raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
                cpu0, wall0, peak = cpu_seconds(proc.pid), time.monotonic(), 0.0
                while time.monotonic() - wall0 < args.seconds:
                    time.sleep(1.0)
                    peak = max(peak, rss_mb(proc.pid))
                cpu, wall, last = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0, rss_mb(proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        text = out.read_text(errors="replace")
    downs = sum(1 for line in text.splitlines() if "host.down" in line)
    print(f"pantau run: {args.n} loopback hosts every {args.interval:g}s, engine {args.engine}, "
          f"measured {wall:.0f}s after a {warmup:g}s warm-up, {os.cpu_count()} CPUs")
    print(f"warm-up (start-up excluded: every host's first checks and up transitions): "
          f"{100 * warm / (warmup - 2):.2f}% of one core")
    print(f"CPU {100 * cpu / wall:.2f}% of one core ({cpu:.2f} CPU-s), RSS peak {peak:.0f} MB / last {last:.0f} MB, "
          f"host.down lines (false downs) {downs}")


if __name__ == "__main__":
    main()
