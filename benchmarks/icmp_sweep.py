"""Ping N loopback hosts (127.1.x.y) once with pantau's engine, fping and icmplib; compare the cost.

    python benchmarks/icmp_sweep.py 10000 [--pps 100000] [--icmplib-concurrency 500] [--timeout 1]

Each tool runs in its own child process, so wall time, CPU seconds (user + system, from wait4) and
peak RSS are the child's alone. For pantau two CPU figures are printed: the whole process (Python
start-up and imports included) and the sweep itself (measured inside the process around
``check_many``). As root it re-runs itself in a network namespace of its own (``unshare --net``), so
other processes' pings on the machine reach neither tool (``--shared-netns``: don't). Not part of
the test suite; needs root or ping_group_range for ICMP.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loopback_hosts(n: int) -> list[str]:
    if n > 250 * 256:
        raise SystemExit("at most 64,000 hosts (127.1.0.1 .. 127.1.255.250)")
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


# ---------------------------------------------------------------------------- workers (child side)
def worker_pantau(n: int, pps: int, timeout: float, gc_freeze: bool) -> dict:
    import asyncio
    import gc

    from monitor.hosts.icmp.engine import open_icmp_engine

    if gc_freeze:  # what a long-running pantau can do after start-up: never rescan import-time objects
        gc.freeze()

    async def sweep() -> dict:
        engine = await open_icmp_engine(pps=pps)
        hosts = loopback_hosts(n)
        cpu, wall = time.process_time(), time.perf_counter()
        results = await engine.check_many(hosts, count=1, timeout=timeout)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stats = dict(engine.stats)
        await engine.aclose()
        return {"alive": sum(1 for r in results if r.received), "sweep_cpu": cpu, "sweep_wall": wall,
                "mode": "raw" if engine.privileged else "datagram", "stats": stats}

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # warnings off the bench
    return asyncio.run(sweep())


def worker_icmplib(n: int, concurrency: int, timeout: float) -> dict:
    import asyncio

    from icmplib import async_multiping

    hosts = loopback_hosts(n)
    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(async_multiping(hosts, count=1, timeout=timeout, concurrent_tasks=concurrency,
                                          privileged=os.geteuid() == 0))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"alive": sum(1 for h in results if h.is_alive), "sweep_cpu": cpu, "sweep_wall": wall}


# ---------------------------------------------------------------------------- parent side
def measure(argv: list[str], *, stdin_path: str | None = None) -> tuple[float, float, int, str]:
    """Run ``argv``; return (wall s, CPU s user+sys, peak RSS MB, stdout)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):  # fping exits 1 when some host is unreachable
        raise SystemExit(f"{argv[0]} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, text


def run_fping(n: int, timeout: float) -> dict | None:
    fping = shutil.which("fping")
    if fping is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(loopback_hosts(n)) + "\n")
    try:
        # -i 0: no gap between packets to different hosts, -r 0: no retries, -a: print alive hosts
        wall, cpu, rss, out = measure([fping, "-a", "-q", "-i", "0", "-r", "0", "-t", str(int(timeout * 1000)),
                                       "-f", f.name])
    finally:
        os.unlink(f.name)
    return {"tool": "fping", "wall": wall, "cpu": cpu, "rss_mb": rss, "alive": len(out.split())}


def run_python(kind: str, n: int, extra: list[str]) -> dict:
    wall, cpu, rss, out = measure([sys.executable, __file__, "--worker", kind, str(n), *extra])
    data = json.loads(out.strip().splitlines()[-1])
    return {"tool": kind, "wall": wall, "cpu": cpu, "rss_mb": rss, **data}


def combine(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs; ``alive`` from the worst run."""
    row = dict(runs[0])
    for key in ("wall", "cpu", "sweep_cpu", "rss_mb"):
        if key in row:
            row[key] = statistics.median(r[key] for r in runs)
    row["alive"] = min(r["alive"] for r in runs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("--pps", type=int, default=100_000, help="pantau's send rate (default 100000)")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--icmplib-concurrency", type=int, default=500)
    parser.add_argument("--skip", action="append", default=[], choices=["fping", "icmplib"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool, medians reported (default 1)")
    parser.add_argument("--gc-freeze", action="store_true", help="pantau: gc.freeze() after imports")
    parser.add_argument("--shared-netns", action="store_true", help="do not run in a network namespace of its own")
    parser.add_argument("--worker", choices=["pantau", "icmplib"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "pantau":
        print(json.dumps(worker_pantau(args.n, args.pps, args.timeout, args.gc_freeze)))
        return
    if args.worker == "icmplib":
        print(json.dumps(worker_icmplib(args.n, args.icmplib_concurrency, args.timeout)))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from steady_state import isolate, load

    where = isolate(args.shared_netns)
    pantau_args = ["--pps", str(args.pps), "--timeout", str(args.timeout), *(["--gc-freeze"] if args.gc_freeze else [])]
    runs: dict[str, list[dict]] = {"pantau": [], "fping": [], "icmplib": []}
    for _ in range(args.repeat):  # interleaved, so a noisy neighbour hits every tool alike
        runs["pantau"].append(run_python("pantau", args.n, pantau_args))
        if "fping" not in args.skip and (fping := run_fping(args.n, args.timeout)) is not None:
            runs["fping"].append(fping)
        if "icmplib" not in args.skip:
            runs["icmplib"].append(run_python("icmplib", args.n, [
                "--icmplib-concurrency", str(args.icmplib_concurrency), "--timeout", str(args.timeout)]))
    rows = [combine(r) for r in runs.values() if r]
    fping = combine(runs["fping"]) if runs["fping"] else None
    print(f"{args.n} loopback hosts, one echo each, timeout {args.timeout:g}s, {os.cpu_count()} CPUs, "
          f"load average {load()}, in {where}"
          + (f", median of {args.repeat} interleaved runs (alive: the worst run)" if args.repeat > 1 else ""))
    print(f"{'tool':<22}{'wall s':>9}{'CPU s':>9}{'sweep CPU s':>13}{'peak RSS MB':>13}{'alive':>9}")
    for row in rows:
        label = row["tool"] + (f" (c={args.icmplib_concurrency})" if row["tool"] == "icmplib" else "")
        sweep = f"{row['sweep_cpu']:.3f}" if "sweep_cpu" in row else "-"
        print(f"{label:<22}{row['wall']:>9.3f}{row['cpu']:>9.3f}{sweep:>13}{row['rss_mb']:>13.0f}"
              f"{row['alive']:>6}/{args.n}")
    pantau = rows[0]
    print(f"pantau mode: {pantau['mode']}{', gc.freeze() after imports' if args.gc_freeze else ''}, "
          f"engine stats: {pantau['stats']}")
    if fping is not None and fping["cpu"] > 0:
        print(f"pantau CPU / fping CPU: sweep {pantau['sweep_cpu'] / fping['cpu']:.2f}x, "
              f"whole process {pantau['cpu'] / fping['cpu']:.2f}x")


if __name__ == "__main__":
    main()
