"""Bot reply latency while pantau follows N hotspot sessions: ``/monitor`` and ``/hotspot`` p50/p99.

    python benchmarks/bot.py 10000 [--requests 100] [--warmup 20]

The real ``pantau run`` watches a simulated router (its own process, N active sessions, one
login/logout per second — benchmarks/sessions.py's simulator) in listen mode and runs the bot
against a fake Telegram Bot API in this process. Each request is a Telegram update; its latency
is from the update being available to getUpdates until the bot's reply (for the full ``/hotspot``
list: its first page) arrives at sendMessage, so
it includes long polling, the router round trip, rendering and paging. The same requests are
then made to a pantau that follows 0 sessions (reference, same run); the ratio shows what
following N sessions costs. Goal (issue 16): p99 < 1 s at N = 10,000. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sessions import run_simulator  # noqa: E402

from tests.fake_telegram_bot import FakeBotApi  # noqa: E402

ADMIN = 4242
COMMANDS = {"/monitor": "Monitor", "/hotspot user7": "user7", "/hotspot": "aktif"}  # reply markers


def start_simulator(n: int, tmp: Path) -> tuple[subprocess.Popen, int]:
    port_file = tmp / f"port-{n}"
    proc = subprocess.Popen([sys.executable, __file__, str(n), "--simulator", str(port_file)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 180
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the simulator did not start")
        time.sleep(0.2)
    return proc, int(port_file.read_text())


def write_config(path: Path, port: int, api: FakeBotApi, db: Path) -> None:
    path.write_text("\n".join([
        "routers:",
        f"  - {{name: bench, address: 127.0.0.1, port: {port}, username: bench, password: bench,",
        "     mode: listen, watch: [hotspot], timeout: 10s}",
        "bot:",
        f"  telegram_users: {{{ADMIN}: viewer}}",
        "  rate_limit: {count: 100000, per: 1s}",
        f"  telegram: {{token: '{api.token}', api_url: '{api.url}', poll_timeout: 20}}",
        f"state: {{path: {db}}}",
        "plugins_dir: null",
        "log: {level: warning, format: json}",
    ]) + "\n")


async def measure(n: int, requests: int, warmup: float, tmp: Path) -> dict[str, list[float]]:
    sim, port = start_simulator(n, tmp)
    try:
        async with FakeBotApi() as api:
            config = tmp / f"bot-{n}.yaml"
            write_config(config, port, api, tmp / f"bot-{n}.db")
            log = (tmp / f"bot-{n}.log").open("wb")
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitor", "run", "-c", str(config),
                                                        cwd=ROOT, stdout=log, stderr=log,
                                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                await asyncio.sleep(warmup)  # the first full sync of N sessions
                out: dict[str, list[float]] = {c: [] for c in COMMANDS}
                for _ in range(requests):
                    for command, marker in COMMANDS.items():
                        before = len(api.sent())
                        start = time.perf_counter()
                        await api.message(ADMIN, command)
                        # any() over what came since: trailing pages of the previous long list do not count
                        await api.wait_for(lambda b=before, m=marker: any(m in x["text"] for x in api.sent()[b:]),
                                           timeout=60)
                        out[command].append(time.perf_counter() - start)
                return out
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                log.close()
    finally:
        sim.terminate()
        sim.wait(10)


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--simulator", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        run_simulator(args.n, Path(args.simulator))
        return
    with tempfile.TemporaryDirectory(prefix="pantau-bot-") as tmp_name:
        tmp = Path(tmp_name)
        loaded = asyncio.run(measure(args.n, args.requests, args.warmup, tmp))
        idle = asyncio.run(measure(0, args.requests, min(args.warmup, 5.0), tmp))
    print(f"bot replies while pantau follows {args.n} hotspot sessions (one change/s), {args.requests} "
          f"requests per command, {os.cpu_count()} CPUs; reference: the same with 0 sessions")
    for command in COMMANDS:
        a, b = loaded[command], idle[command]
        print(f"  {command:<15} p50 {statistics.median(a) * 1000:7.1f} ms  p99 {p(a, .99) * 1000:7.1f} ms  "
              f"| idle p99 {p(b, .99) * 1000:7.1f} ms  ratio {p(a, .99) / p(b, .99):5.2f}  "
              f"goal p99 < 1000 ms: {'met' if p(a, .99) < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
