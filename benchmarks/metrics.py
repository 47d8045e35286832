"""What /metrics and the status page cost at N hosts, against the same ``pantau run`` unscraped.

    python benchmarks/metrics.py 10000 10 --window 60 --every 15

Starts the real ``pantau run`` (one-socket ICMP engine, N loopback hosts 127.1.x.y checked every
INTERVAL seconds, ``http:`` on a free loopback port with one user), waits out the warm-up, then
measures the process's CPU over alternating windows of WINDOW seconds: "off" (nobody scrapes) and
"on" (this script scrapes /metrics every EVERY seconds, as Prometheus would), off-on-off-on, so
drift on a shared machine falls on both sides. Prints the scrape times (client side: request to
last byte; median and worst), the status page's load time (logged in, first page of N hosts), the
CPU of each window, and the ratio on/off. Goals (issue 14): scrape < 200 ms, overhead < 10 %, page < 1 s.
Needs root or ping_group_range for ICMP; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from steady_state import cpu_seconds  # noqa: E402

from monitor.web.passwords import hash_password  # noqa: E402

PASSWORD = "benchmark-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, n: int, interval: float, db: Path, port: int) -> None:
    lines = [
        f"defaults: {{interval: {interval:g}s, count: 1, timeout: 1s, down_after: 3, up_after: 2}}",
        "icmp: {engine: socket, pps: 2000}",
        "hosts:",
        *(f"  - {{name: h{i}, address: 127.1.{i // 250}.{i % 250 + 1}, labels: {{site: s{i % 20}}}}}"
          for i in range(n)),
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["host.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: warning, format: json}",
        f"http: {{listen: '127.0.0.1:{port}', users: {{admin: '{hash_password(PASSWORD)}'}}}}",
    ]
    path.write_text("\n".join(lines) + "\n")


CPU_OF: dict[str, list[float]] = {}  # url kind → pantau's CPU seconds during each request


async def timed_get(http: aiohttp.ClientSession, url: str, pid: int, kind: str) -> tuple[float, bytes]:
    cpu0, started = cpu_seconds(pid), time.perf_counter()
    async with http.get(url) as r:
        body = await r.read()
        assert r.status == 200, (url, r.status)
    CPU_OF.setdefault(kind, []).append(cpu_seconds(pid) - cpu0)  # includes the checks meanwhile
    return time.perf_counter() - started, body


async def measure(pid: int, base: str, windows: list[str], window: float, every: float) -> None:
    scrapes: list[float] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + "/login") as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
        async with http.post(base + "/login", data={"user": "admin", "password": PASSWORD, "csrf": token}) as r:
            assert r.status == 200 and str(r.url).endswith("/status"), r.status
        pages = [(await timed_get(http, base + "/status", pid, "page"))[0] for _ in range(5)]
        parts = [(await timed_get(http, base + "/status?part=main&state=up&page=7", pid, "part"))[0]
                 for _ in range(5)]
        size = 0
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        for kind in windows:
            cpu0, wall0 = cpu_seconds(pid), time.monotonic()
            while time.monotonic() - wall0 < window:
                if kind == "on":
                    took, body = await timed_get(http, base + "/metrics", pid, "scrape")
                    scrapes.append(took)
                    size = len(body)
                await asyncio.sleep(max(0.0, min(every, window - (time.monotonic() - wall0))))
            cpu[kind].append(100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0))
            print(f"  window {kind:<3}: CPU {cpu[kind][-1]:.2f}% of one core", flush=True)
    off, on = statistics.fmean(cpu["off"]), statistics.fmean(cpu["on"])
    cpu_ms = {k: 1000 * statistics.fmean(v) for k, v in CPU_OF.items()}
    print(f"/metrics: {len(scrapes)} scrapes of {size / 1e6:.1f} MB, median {1000 * statistics.median(scrapes):.0f} ms, "
          f"worst {1000 * max(scrapes):.0f} ms (goal < 200 ms); pantau CPU per scrape {cpu_ms['scrape']:.0f} ms")
    print(f"status page: full page median {1000 * statistics.median(pages):.0f} ms (worst {1000 * max(pages):.0f}), "
          f"live part {1000 * statistics.median(parts):.0f} ms (goal < 1000 ms); pantau CPU per page "
          f"{cpu_ms['page']:.0f} ms, per part {cpu_ms['part']:.0f} ms")
    print(f"CPU without scrapes {off:.2f}%, scraped every {every:g}s {on:.2f}% of one core: "
          f"ratio {on / off:.3f} (+{100 * (on / off - 1):.1f} %, goal < +10 %)")
    direct = 100 * cpu_ms["scrape"] / 1000 / every
    print(f"from the CPU per scrape: +{direct:.2f}% of one core = ratio {(off + direct) / off:.3f} against the "
          f"unscraped {off:.2f}% (the windows' ratio moves with the machine's other load)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("interval", type=float)
    parser.add_argument("--window", type=float, default=60.0, help="seconds per measuring window")
    parser.add_argument("--every", type=float, default=15.0, help="scrape interval in the 'on' windows")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pantau-metrics-") as tmp:
        config, out = Path(tmp) / "monitor.yaml", Path(tmp) / "out.log"
        write_config(config, args.n, args.interval, Path(tmp) / "state.db", port)
        with out.open("wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                    stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                time.sleep(2 * args.interval + 2)
                if proc.poll() is not None:
                    raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
                print(f"pantau run: {args.n} loopback hosts every {args.interval:g}s, {os.cpu_count()} CPUs, "
                      f"windows of {args.window:g}s", flush=True)
                asyncio.run(measure(proc.pid, f"http://127.0.0.1:{port}", ["off", "on"] * args.rounds,
                                    args.window, args.every))
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
