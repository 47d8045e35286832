"""Run the real ``pantau run`` on N loopback hosts and report its CPU use and memory.

    python benchmarks/steady_state.py 10000 10 60 [--engine socket] [--pps 2000]

Writes a config of N hosts 127.1.x.y (every one answers on Linux) checked every INTERVAL seconds,
starts ``python -m monitor run -c CONFIG``, lets one interval pass so every host has started, then
samples the process for SECONDS: CPU % of one core (utime + stime from /proc/PID/stat over the
window), RSS (VmRSS, peak and last) and the number of host.down events (false downs: every host
is up). Not part of the test suite; needs root or ping_group_range for ICMP.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("interval", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--engine", default="socket", choices=["socket", "icmplib", "auto"])
    parser.add_argument("--pps", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pantau-steady-") as tmp:
        config, out = Path(tmp) / "monitor.yaml", Path(tmp) / "out.log"
        write_config(config, args.n, args.interval, args.engine, args.pps, Path(tmp) / "state.db")
        with out.open("wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                    stdout=sink, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                time.sleep(args.interval + 2)  # start-up, then one interval: every host has started
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
          f"measured {wall:.0f}s after a {args.interval + 2:g}s warm-up, {os.cpu_count()} CPUs")
    print(f"CPU {100 * cpu / wall:.2f}% of one core ({cpu:.2f} CPU-s), RSS peak {peak:.0f} MB / last {last:.0f} MB, "
          f"host.down lines (false downs) {downs}")


if __name__ == "__main__":
    main()
