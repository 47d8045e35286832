"""Run the real ``pantau run`` on N loopback hosts and ``fping -l`` on the same hosts; compare the cost.

    python benchmarks/steady_state.py 100000 10 60 [--pps auto] [--skip-fping]

Writes a config of N hosts 127.x.y.z (every address in 127.0.0.0/8 answers on Linux; see
``loopback_address``) checked every INTERVAL seconds with one echo and a 1 s timeout, starts
``python -m monitor run -c CONFIG`` with ``http:`` on a free loopback port, waits until /healthz
answers and then the warm-up (default two intervals + 2 s: every host has started and made its
first transition to up, which is persisted per host), then samples the process for SECONDS:
CPU % of one core (utime + stime from /proc/PID/stat over the window), RSS (VmRSS, peak and last)
and the number of host.down events (false downs: every host is up). After the window (outside
the CPU figure: at 100k hosts a scrape holds the event loop for seconds) /metrics is scraped once
for the scheduler's counters since start — checks handed to the engine, slots SKIPPED because the
host's previous check still ran, slots missed (LATE) because the loop fell behind; on time both are
0 — and every host's ``pantau_host_checks_total``: all hosts were added at start-up with random
phases, so on time each has k or k + 1 checks; a host further behind missed a slot.

The reference, in the same run and before pantau: ``fping -l -Q 3600 -p INTERVAL -t 1000 -r 0
-i GAP -f PART`` on the same N addresses — one echo per host every INTERVAL (``-p``; pantau's
``count: 1``), a 1 s timeout (``-t``; pantau's ``timeout: 1s``), no retries, and the sends spread over
the interval (``-i``) as pantau's scheduler spreads its hosts from random offsets, instead of a burst
of N every INTERVAL. ``-Q`` rather than ``-q``: fping 5.1 in loop mode still prints a line per reply
with ``-q``; ``-Q 3600`` prints nothing until its hourly summary (pantau logs nothing per check at
``level: info``). One fping process cannot do 100k hosts at 10 s: fping 5.1 refuses ~65,535 hosts
and more ("not enough sequence numbers available") and spends ~0.1 ms of its own per packet on top
of ``-i``, so it tops out near 5–7k echoes/s here (its sequence map also holds at most 65,535 echoes per
``-p`` period). The hosts are therefore dealt round robin to ``max(N / 50,000, N / INTERVAL / 3,000)``
fping processes (4 for 100k at 10 s) whose CPU and RSS are summed, each with GAP = 0.3 × its share
of the interval per host so that ``-p``, not ``-i``, sets the rate, and each in a network namespace
of its own (``ip netns``; root): a raw ICMP socket gets a copy of every ICMP packet in its
namespace, so shards sharing one would each read and drop the others' replies — work a single
fping, and pantau's one socket, do not do. fping is sampled like pantau after one interval of warm-up (its first round is already at
the steady rate). Both rates are printed from each tool's own counters — pantau's
``pantau_icmp_sent``/``replies`` over the window, fping's per-host ``xmt/rcv`` summary (printed on
SIGINT) over its whole run — since the kernel's ICMP counters also count other processes' pings on a
shared machine; the ratio is printed per second and per echo sent.

    python benchmarks/steady_state.py 10000 10 60 --engine-only tasks|scheduler

measures the ICMP engine alone in this process (no detector, notifiers or state), driven either by
one asyncio task per host calling ``check`` (the host loop's model) or by ``IcmpScheduler``.
Not part of the test suite; needs root (or ping_group_range for pantau and fping's setuid) for ICMP.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
TIMEOUT_S = 1.0
FPING_MAX_HOSTS = 50_000  # fping 5.1 -l refuses ~65,535 hosts and more ("not enough sequence numbers")
FPING_MAX_RATE = 3_000  # echoes/s one fping -l process holds here with margin (~0.1-0.2 ms of its own per packet + -i)


def loopback_address(i: int) -> str:
    """The i-th test address: 127.1.0.1 .. 127.1.0.254, 127.1.1.1 .., then 127.2.0.1 .. (no .0/.255)."""
    block = i // 254
    return f"127.{1 + block // 256}.{block % 256}.{i % 254 + 1}"


def write_config(path: Path, n: int, interval: float, engine: str, pps: str, db: Path, port: int) -> None:
    lines = [
        f"defaults: {{interval: {interval:g}s, count: 1, timeout: {TIMEOUT_S:g}s, down_after: 3, up_after: 2}}",
        f"icmp: {{engine: {engine}, pps: {pps}}}",
        "hosts:",
        *(f"  - {{name: h{i}, address: {loopback_address(i)}}}" for i in range(n)),
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["host.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: info, format: json}",
        f"http: {{listen: '127.0.0.1:{port}'}}",
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


def isolate(shared: bool) -> str:
    """Re-run this script in a network namespace of its own (root only), and say where it runs.

    A raw ICMP socket gets a copy of every ICMP packet in its namespace: fping (no kernel filter)
    reads and drops every echo reply of anything else pinging on the machine, pantau's BPF filter
    drops them in the kernel, so a neighbour's pings tilt the ratio. Loopback hosts answer in a fresh
    namespace once ``lo`` is up.
    """
    if os.environ.get("PANTAU_BENCH_NETNS"):
        return "a network namespace of its own"
    if shared or os.geteuid() != 0 or shutil.which("unshare") is None:
        return "the shared network namespace (other processes' ICMP reaches fping's socket)"
    os.environ["PANTAU_BENCH_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                          sys.executable, *sys.argv])
    raise AssertionError("unreachable")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SAMPLE = re.compile(r'^(pantau_icmp_\w+_total|pantau_host_checks_total\{host="([^"]*)"\}) (\S+)$', re.M)


def scrape(port: int) -> tuple[dict[str, float], dict[str, float]]:
    """(pantau_icmp_* counters, checks per host) from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
        text = r.read().decode()
    counters, checks = {}, {}
    for m in _SAMPLE.finditer(text):
        if m[2] is not None:
            checks[m[2]] = float(m[3])
        else:
            counters[m[1].removeprefix("pantau_icmp_").removesuffix("_total")] = float(m[3])
    return counters, checks


class Window:
    """CPU, RSS (summed over ``pids``) and the namespace's ICMP counters over ``seconds``."""

    def __init__(self, pids: list[int], seconds: float):
        def cpu() -> float:
            return sum(map(cpu_seconds, pids))

        def rss() -> float:
            return sum(map(rss_mb, pids))

        cpu0, wall0, peak = cpu(), time.monotonic(), 0.0
        while time.monotonic() - wall0 < seconds:
            time.sleep(1.0)
            peak = max(peak, rss())
        self.cpu, self.wall = cpu() - cpu0, time.monotonic() - wall0
        self.sent = self.replies = 0.0  # echoes/s, filled in from the tool's own counters
        self.peak, self.last = peak, rss()

    def line(self, name: str) -> str:
        return (f"{name:<7} CPU {100 * self.cpu / self.wall:6.2f}% of one core ({self.cpu:.2f} CPU-s in "
                f"{self.wall:.0f}s), RSS peak {self.peak:.0f} MB / last {self.last:.0f} MB, "
                f"echo requests {self.sent:,.0f}/s, replies {self.replies:,.0f}/s (its own counters)")


def fping_shards(n: int, interval: float) -> int:
    """How many ``fping -l`` processes the reference needs to hold the rate (see the module docstring)."""
    return max(-(-n // FPING_MAX_HOSTS), math.ceil(n / interval / FPING_MAX_RATE))


def run_fping(hosts: list[str], tmp: Path, interval: float, seconds: float) -> Window | None:
    fping = shutil.which("fping")
    if fping is None:
        print("fping: not installed, no reference")
        return None
    shards = fping_shards(len(hosts), interval)
    # a raw ICMP socket gets a copy of every ICMP packet of its network namespace: fping shards
    # sharing one would each read (and drop) the others' replies, so each gets a namespace of its own
    spaces = [f"pantau-bench-fping-{os.getpid()}-{k}" for k in range(shards)] if shards > 1 else []
    procs = []
    try:
        for name in spaces:
            subprocess.run(["ip", "netns", "add", name], check=True)
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        for k in range(shards):
            part = hosts[k::shards]
            path = tmp / f"fping-{k}.txt"
            path.write_text("".join(f"{h}\n" for h in part))
            argv = [fping, "-l", "-Q", f"{max(3600, 10 * seconds):.0f}", "-p", f"{interval * 1000:g}",
                    "-t", f"{TIMEOUT_S * 1000:g}", "-r", "0", "-i", f"{0.3 * interval * 1000 / len(part):.4f}",
                    "-f", str(path)]
            if k == 0:
                print(f"reference: {shards} x", " ".join(argv), f"(~{len(part)} hosts each"
                      + (", each in its own network namespace)" if spaces else ")"))
            if spaces:  # ip execs fping in the namespace: the pid is fping's
                argv = ["ip", "netns", "exec", spaces[k], *argv]
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=(tmp / f"fping-{k}.err").open("wb")))
        started = time.monotonic()
        time.sleep(interval)  # their first round, already at the steady rate
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"fping exited ({[p.returncode for p in procs]})")
        window = Window([p.pid for p in procs], seconds)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        ran = time.monotonic() - started
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in spaces:
            subprocess.run(["ip", "netns", "del", name], check=False)
    # per host on SIGINT: "127.1.0.1 : xmt/rcv/%loss = 7/7/0%, ..." (the whole run, at a steady rate)
    totals = [m.groups() for k in range(shards)
              for m in _FPING_SUMMARY.finditer((tmp / f"fping-{k}.err").read_text(errors="replace"))]
    window.sent = sum(int(x) for x, _ in totals) / ran
    window.replies = sum(int(r) for _, r in totals) / ran
    return window


_FPING_SUMMARY = re.compile(r"xmt/rcv/%loss = (\d+)/(\d+)/")


def answers(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10):
            return True
    except urllib.error.HTTPError:  # 503 while not ready: it answers
        return True
    except OSError:
        return False


def run_pantau(args: argparse.Namespace, tmp: Path) -> Window:
    config, out, port = tmp / "monitor.yaml", tmp / "out.log", free_port()
    write_config(config, args.n, args.interval, args.engine, args.pps, tmp / "state.db", port)
    warmup = 2 * args.interval + 2 if args.warmup is None else args.warmup
    with out.open("wb") as sink:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            while not answers(port, "/healthz"):  # start-up: config loaded, hosts added, server up
                if proc.poll() is not None:
                    raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
                time.sleep(0.5)
            ready = time.monotonic()
            print(f"pantau ready at {time.strftime('%H:%M:%S', time.gmtime())} UTC")
            warm0 = cpu_seconds(proc.pid)
            time.sleep(warmup)
            warm = cpu_seconds(proc.pid) - warm0
            window = Window([proc.pid], args.seconds)
            # only now (the CPU window is closed): at 100k hosts a scrape holds the loop for seconds,
            # and the checks that fall due meanwhile go out in one catch-up burst afterwards
            counters, checks = scrape(port)
            ran = time.monotonic() - ready
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = out.read_text(errors="replace")
    downs = sum(1 for line in text.splitlines() if "host.down" in line)
    reports = [line for line in text.splitlines() if "icmp.checks_skipped" in line]
    print(f"pantau run: {args.n} hosts, engine {args.engine}, icmp.pps {args.pps}; ready (config loaded, "
          f"/healthz answering) after {ready - started:.1f}s; warm-up {warmup:g}s: "
          f"{100 * warm / warmup:.2f}% of one core")
    window.sent, window.replies = counters.get("sent", 0) / ran, counters.get("replies", 0) / ran  # since ready
    print(window.line("pantau"), f"host.down lines (false downs) {downs}", sep=", ")
    print(f"scheduler since start (start-up, warm-up and window): {counters.get('scheduled_checks', 0):,.0f} "
          f"checks handed to the engine, SKIPPED {counters.get('skipped_checks', 0):.0f}, "
          f"LATE {counters.get('late_checks', 0):.0f} (icmp.checks_skipped log lines: {len(reports)}); engine: "
          f"timeouts {counters.get('timeouts', 0):.0f}, send errors {counters.get('send_errors', 0):.0f}")
    for line in reports:  # at most one a minute
        print("  ", line[:300])
    # every host was added at start-up with a random phase: on time, all have k or k + 1 checks by now
    top = max(checks.values(), default=0)
    behind = sum(1 for c in checks.values() if c < top - 1)
    print(f"checks per host since start: min {min(checks.values(), default=0):.0f}, max {top:.0f} "
          f"(expected {ran / args.interval:.1f} +- 1 from ready); hosts more than one check behind the "
          f"most checked: {behind} of {len(checks)} (missing from /metrics: {args.n - len(checks)})")
    return window


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
        hosts = [loopback_address(i) for i in range(n)]
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
    parser.add_argument("--pps", default="auto", help="icmp.pps for pantau (default auto: sized from the hosts)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring pantau (default 2 x interval + 2)")
    parser.add_argument("--skip-fping", action="store_true")
    parser.add_argument("--shared-netns", action="store_true", help="do not run in a network namespace of its own")
    parser.add_argument("--engine-only", choices=["tasks", "scheduler"])
    args = parser.parse_args()
    if args.engine_only:
        engine_only(args.engine_only, args.n, args.interval, args.seconds, 2000 if args.pps == "auto" else int(args.pps))
        return
    where = isolate(args.shared_netns)
    print(f"{args.n} loopback hosts, one echo every {args.interval:g}s, timeout {TIMEOUT_S:g}s, windows of "
          f"{args.seconds:g}s, {os.cpu_count()} CPUs, load average {load()}, in {where}")
    with tempfile.TemporaryDirectory(prefix="pantau-steady-") as tmp:
        hosts = [loopback_address(i) for i in range(args.n)]
        fping = None if args.skip_fping else run_fping(hosts, Path(tmp), args.interval, args.seconds)
        if fping is not None:
            print(fping.line("fping"))
        pantau = run_pantau(args, Path(tmp))
    if fping is not None and fping.cpu > 0:
        per_echo = (pantau.cpu / (pantau.sent * pantau.wall)) / (fping.cpu / (fping.sent * fping.wall))
        print(f"pantau CPU / fping -l CPU: {pantau.cpu / pantau.wall / (fping.cpu / fping.wall):.2f}x "
              f"(per echo sent: {per_echo:.2f}x); load average at the end {load()}")


if __name__ == "__main__":
    main()
