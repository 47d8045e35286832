"""Follow N simulated hotspot sessions with the real ``pantau run``, in listen and in poll mode.

    python benchmarks/sessions.py 10000 [--seconds 60] [--warmup 20] [--modes listen poll]
    python benchmarks/sessions.py 5000 --routers 20 --modes listen     # issue 13: < 3 % of a core

A RouterOS API simulator (monitor/routeros/sim/simulator.py) runs in its own process on 127.0.0.1 with N
active hotspot sessions per router; ``--routers R`` runs R such routers in that process. For each mode,
``python -m monitor run`` watches them (console notifier, state DB with its outbox). After the warm-up
(the first full sync of R x N sessions, no changes yet) pantau's CPU (utime + stime of its process
from /proc, its threads included, the simulator's never) is sampled for ``--idle-seconds`` while
nothing changes (heartbeats only), then the simulator starts one change per second per router
(alternately a logout and a login, spread over the second, so N stays put) and CPU and RSS are
sampled for SECONDS. The changes pantau handled in that window are counted from its own ``event``
log lines.

References measured in the same run:

* the simulator's own CPU over the same window (it makes the changes and serves the same API
  traffic from the other end);
* a plain loop in a separate process doing, for as many changes, the least work the guarantees
  need: split one listen sentence, ``json.dumps`` the event, ONE transaction with the session row
  and the outbox row (WAL, ``synchronous=FULL``), one line written, one transaction marking it sent.

Not part of the test suite. ``--py-spy OUT`` profiles the measured window (raw format; py-spy's
sampling itself costs pantau some CPU, so take figures from a run without it).
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
from steady_state import TICKS, rss_mb  # noqa: E402

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
    """Child: ``routers`` simulated routers with ``n`` sessions each; once the file ``<port_file>.churn``
    exists, one change per second on each (nothing changes while it is absent)."""
    import asyncio

    from monitor.routeros.sim.simulator import RouterSimulator

    flag = port_file.with_suffix(".churn")

    async def churn(sim: RouterSimulator, offset: float) -> None:
        await asyncio.sleep(offset)  # spread the routers' changes over the second
        gone: list[int] = []
        step = 0
        while True:
            await asyncio.sleep(1.0)
            if not flag.exists():
                continue
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
            sim = RouterSimulator(username="bench", password="bench-api-pw")
            for i in range(n):
                sim.hotspot_login(*session_row(i))
            await sim.start()
            sims.append(sim)
        publish_port(port_file, " ".join(str(sim.port) for sim in sims))
        await asyncio.gather(*(churn(sim, k / routers) for k, sim in enumerate(sims)))

    asyncio.run(main())


def run_reference(changes: int, db_path: Path, out_path: Path) -> None:
    """Child: the plain loop (see the module docstring); prints its CPU seconds for ``changes``."""
    import json
    import sqlite3

    from monitor.routeros.wire import encode_sentence

    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE sessions (key TEXT PRIMARY KEY, data TEXT)")
    db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload TEXT, status TEXT)")
    user, address, mac = session_row(1)
    sentence = encode_sentence(["!re", "=.id=*1", f"=user={user}", f"=address={address}", f"=mac-address={mac}",
                                "=server=hotspot1", "=login-by=http-chap", "=uptime=1h2m3s",
                                "=bytes-in=123456", "=bytes-out=654321", ".tag=7"])
    with out_path.open("w") as out:
        start = time.process_time()
        for i in range(changes):
            attrs, pos = {}, 0
            while sentence[pos]:  # one-byte lengths: every word here is < 128 bytes
                length = sentence[pos]
                word = sentence[pos + 1:pos + 1 + length].decode()
                pos += 1 + length
                if word[0] == "=":
                    name, _, value = word[1:].partition("=")
                    attrs[name] = value
            key = f"{attrs['.id']}|{attrs['user']}|{attrs['mac-address']}"
            payload = json.dumps({"type": "hotspot.login" if i % 2 else "hotspot.logout", "id": str(i),
                                  "source": {"kind": "router", "name": "bench0"}, "data": attrs})
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (key, json.dumps(attrs)))
            row = db.execute("INSERT INTO outbox (payload, status) VALUES (?, 'pending')", (payload,)).lastrowid
            db.execute("COMMIT")
            out.write(f"{attrs['user']} {attrs['address']} {i}\n")
            out.flush()
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE outbox SET status='sent' WHERE id=?", (row,))
            db.execute("COMMIT")
        print(time.process_time() - start)


def reference_cpu(changes: int, tmp: Path) -> float:
    """CPU seconds of the plain loop for ``changes`` changes (its own process, start-up excluded)."""
    out = subprocess.run([sys.executable, __file__, str(changes), "--reference", str(tmp / "reference.db")],
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1])


def write_config(path: Path, mode: str, ports: list[int], db: Path, resync: float | None = None) -> None:
    path.write_text("\n".join([
        "routers:",
        *(f"  - {{name: bench{k}, address: 127.0.0.1, port: {port}, username: bench, password: bench-api-pw, "
          f"mode: {mode}, watch: [hotspot], poll_interval: 5s"
          f"{f', resync_interval: {resync:g}s' if resync else ''}}}" for k, port in enumerate(ports)),
        "notifiers:",
        "  - {name: screen, type: console}",
        "routes:",
        '  - {events: ["hotspot.*", "router.*"], notify: [screen]}',
        f"state: {{path: {db}}}",
        "log: {level: info, format: json}",
    ]) + "\n")


def cpu_split(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def changes_logged(out: Path, start: int, end: int) -> int:
    """pantau's ``event`` log lines for hotspot events between two offsets of its output."""
    with out.open("rb") as f:
        f.seek(start)
        chunk = f.read(end - start)
    count = 0
    for line in chunk.splitlines():
        if line.startswith(b"{") and (b'"event": "event"' in line or b'"event":"event"' in line):
            try:
                if json.loads(line).get("event_type", "").startswith("hotspot."):
                    count += 1
            except ValueError:
                continue
    return count


def window(pids: dict[str, int], seconds: float, out: Path) -> dict:
    """CPU (utime, stime) of each pid, pantau's peak RSS and the changes it logged over ``seconds``."""
    before = {name: cpu_split(pid) for name, pid in pids.items()}
    offset, wall0, peak = out.stat().st_size, time.monotonic(), 0.0
    while time.monotonic() - wall0 < seconds:
        time.sleep(1.0)
        peak = max(peak, rss_mb(pids["pantau"]))
    wall = time.monotonic() - wall0
    cpu = {name: tuple(b - a for a, b in zip(before[name], cpu_split(pid), strict=True)) for name, pid in pids.items()}
    return {"cpu": cpu, "wall": wall, "rss": peak, "changes": changes_logged(out, offset, out.stat().st_size)}


def measure(mode: str, ports: list[int], args: argparse.Namespace, tmp: Path, sim_pid: int, flag: Path) -> dict:
    config, out = tmp / f"{mode}.yaml", tmp / f"{mode}.log"
    write_config(config, mode, ports, tmp / f"{mode}.db", args.resync)
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            time.sleep(args.warmup)
            if proc.poll() is not None:
                raise SystemExit(f"pantau run exited ({proc.returncode}):\n{out.read_text()[-3000:]}")
            warm = sum(cpu_split(proc.pid))
            pids = {"pantau": proc.pid, "simulator": sim_pid}
            idle = window(pids, args.idle_seconds, out) if args.idle_seconds > 0 else None
            flag.touch()  # the simulator starts changing sessions
            time.sleep(3.0)
            spy = None
            if args.py_spy:  # profile the measured window (py-spy's sampling costs pantau a little CPU)
                spy = subprocess.Popen(["py-spy", "record", "-p", str(proc.pid), "-d", str(int(args.seconds)),
                                        "-f", "raw", "-o", args.py_spy, "-r", "200"], stdout=subprocess.DEVNULL)
            busy = window(pids, args.seconds, out)
            flag.unlink()
            if spy is not None:
                spy.wait(30)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"mode": mode, "warm": warm, "idle": idle, "busy": busy}


def pct(cpu: tuple[float, float], wall: float) -> float:
    return 100 * sum(cpu) / wall


def report(args: argparse.Namespace, r: dict, reference: float | None, ref_changes: int) -> None:
    busy, idle = r["busy"], r["idle"]
    me, sim = busy["cpu"]["pantau"], busy["cpu"]["simulator"]
    print(f"  {r['mode']:<7} warm-up (start-up and the first sync of {args.routers * args.n} sessions): "
          f"{r['warm']:.2f} CPU-s")
    if idle is not None:
        print(f"          idle (no changes, {idle['wall']:.0f}s): {pct(idle['cpu']['pantau'], idle['wall']):.2f}% of one "
              f"core (user {idle['cpu']['pantau'][0]:.2f} s, system {idle['cpu']['pantau'][1]:.2f} s)")
        if args.resync:  # the idle window is then mostly resyncs: what one costs, and at the default interval
            resyncs = args.routers * idle["wall"] / args.resync
            each = sum(idle["cpu"]["pantau"]) / resyncs
            print(f"          ~{resyncs:.0f} resyncs of {args.n} rows in it: ~{each * 1000:.0f} ms each (heartbeats "
                  f"included), {100 * each * args.routers / 300:.2f}% of a core at the default 300 s interval")
    print(f"          CPU {pct(me, busy['wall']):6.2f}% of one core ({sum(me):.2f} CPU-s: user {me[0]:.2f}, system "
          f"{me[1]:.2f}), peak RSS {busy['rss']:.0f} MB, {busy['changes']} changes handled in {busy['wall']:.0f}s")
    changes = busy["changes"]
    if changes:
        per = sum(me) / changes * 1000
        line = f"          per change: {per:.2f} ms of pantau CPU"
        if idle is not None:
            extra = (sum(me) - sum(idle["cpu"]["pantau"]) / idle["wall"] * busy["wall"]) / changes * 1000
            line += f" ({extra:.2f} ms above idle)"
        print(line)
        if reference is not None and ref_changes:
            ref = reference / ref_changes * 1000
            print(f"          plain loop (same changes, same durability): {ref:.2f} ms per change; "
                  f"pantau / plain loop = {per / ref:.2f}x")
    ratio = f"{sum(me) / sum(sim):.2f}x" if sum(sim) else "n/a (below the clock tick)"
    print(f"          simulator CPU in the same window {pct(sim, busy['wall']):.2f}% of one core; "
          f"pantau / simulator = {ratio}")
    if r["mode"] == "listen" and args.routers > 1:  # issue 13: 20 routers x 5,000 sessions < 3 % of a core
        cpu = pct(me, busy["wall"])
        print(f"          CPU / goal ({GOAL_LISTEN_PCT:g}% of a core) = {cpu / GOAL_LISTEN_PCT:.2f}x "
              f"({'met' if cpu < GOAL_LISTEN_PCT else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="idle window before the changes start")
    parser.add_argument("--modes", nargs="+", default=["listen", "poll"], choices=["listen", "poll"])
    parser.add_argument("--routers", type=int, default=1, help="simulated routers, each with N sessions")
    parser.add_argument("--resync", type=float, metavar="SECONDS",
                        help="resync_interval of the listen connections (default: pantau's, 300 s)")
    parser.add_argument("--py-spy", metavar="OUT", help="profile the measured window with py-spy (raw format)")
    parser.add_argument("--simulator", metavar="PORT_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--reference", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        run_simulator(args.n, Path(args.simulator), args.routers)
        return
    if args.reference:
        run_reference(args.n, Path(args.reference), Path(args.reference).with_suffix(".out"))
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
            rows = [measure(mode, ports, args, tmp, sim.pid, port_file.with_suffix(".churn")) for mode in args.modes]
        finally:
            sim.terminate()
            sim.wait(10)
        ref_changes = max((r["busy"]["changes"] for r in rows), default=0) or int(args.routers * args.seconds)
        reference = reference_cpu(ref_changes, tmp)
    print(f"{args.routers} simulated router(s) x {args.n} hotspot sessions, one change per second per router, "
          f"measured {args.seconds:g}s after a {args.warmup:g}s warm-up and a {args.idle_seconds:g}s idle window, "
          f"{os.cpu_count()} CPUs (simulator in its own process, not counted)"
          + (f", resync_interval {args.resync:g}s" if args.resync else ""))
    for r in rows:
        report(args, r, reference, ref_changes)


if __name__ == "__main__":
    main()
