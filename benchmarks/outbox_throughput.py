"""The outbox end to end against a local webhook receiver, vs a plain "commit, POST, commit" loop.

    python benchmarks/outbox_throughput.py [--events 10000] [--strict 300 --strict-rate 50]

An aiohttp receiver runs in its own process on 127.0.0.1 (so neither side's CPU is counted for the
other) and records every ``X-Pantau-Id`` it is sent. In this process, in one run:

* **outbox**: the real :class:`monitor.delivery.outbox.Outbox` with the real ``type: webhook``
  notifier; EVENTS events are committed (one transaction per 100, as the engine's state writer does),
  and the clock runs until the receiver holds all of them. Loss = events never received; duplicates
  are counted too. This is the issue's 10,000-event burst.
* **plain loop**: the reference (half the events before the outbox's run, half after, so a load
  that drifts during the run weighs on both), same receiver, same aiohttp client, same SQLite durability (WAL,
  ``synchronous=FULL``): per event INSERT + COMMIT, POST the event's JSON, UPDATE + COMMIT. The
  outbox's time runs until ``aclose`` has committed its last sent-mark, so both count the same work.
* **strict peer**: STRICT events to a receiver path that answers 429 above STRICT_RATE messages/s
  (a token bucket of one second's burst), with the notifier's ``rate_limit.per_notifier`` set to
  the same rate; counts the 429s the outbox provokes (goal 0; the outbox keeps a margin for jitter,
  docs/delivery.md).

Prints messages/s of both and the ratio (goal ≥ 0.8×). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sessions import publish_port  # noqa: E402

GOAL_RATIO = 0.8


def run_receiver(port_file: Path, strict_rate: float) -> None:
    """Child: POST /hook records ids; POST /strict answers 429 above ``strict_rate``/s."""
    from aiohttp import web

    seen: list[str] = []
    strict = {"ok": 0, "429": 0, "tokens": strict_rate, "at": time.monotonic()}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request.headers.get("X-Pantau-Id", ""))
        return web.Response(text="ok")

    async def strict_hook(request: web.Request) -> web.Response:
        await request.read()
        now = time.monotonic()
        strict["tokens"] = min(strict_rate, strict["tokens"] + (now - strict["at"]) * strict_rate)
        strict["at"] = now
        if strict["tokens"] < 1.0:
            strict["429"] += 1
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        strict["tokens"] -= 1.0
        strict["ok"] += 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        ids = seen[:]
        return web.json_response({"received": len(ids), "unique": len(set(ids)),
                                  "strict_ok": strict["ok"], "strict_429": strict["429"]})

    async def reset(request: web.Request) -> web.Response:
        seen.clear()
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.add_routes([web.post("/hook", hook), web.post("/strict", strict_hook), web.get("/stats", stats),
                        web.post("/reset", reset)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        publish_port(port_file, site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def make_events(n: int):
    from monitor.events import Event, Source

    return [Event(type="hotspot.login", source=Source(kind="router", name="bench", address="127.0.0.1"),
                  data={"user": f"user{i}", "address": f"10.0.{i >> 8 & 255}.{i & 255}", "mac": "02:00:00:00:00:01"})
            for i in range(n)]


async def stats(http, base: str) -> dict:
    async with http.get(f"{base}/stats") as r:
        return await r.json()


async def wait_received(http, base: str, key: str, n: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        s = await stats(http, base)
        if s[key] >= n or time.monotonic() > deadline:
            return s
        await asyncio.sleep(0.02)


async def run_outbox(http, base: str, path: Path, path_part: str, events, rates: list[str] | None,
                     key: str, timeout: float) -> tuple[float, dict, dict]:
    from monitor.delivery.notify import NotifierContext, RateLimitConfig
    from monitor.delivery.outbox import Outbox
    from notifiers.webhook import WebhookConfig, WebhookNotifier

    config = WebhookConfig(name="hook", type="webhook", url=f"{base}/{path_part}",
                           rate_limit=RateLimitConfig(per_notifier=rates or ["off"]))
    notifier = WebhookNotifier(config, NotifierContext(http=http))
    outbox = Outbox(path, {"hook": notifier}, {"hook": config}, backoff_initial=1.0)
    await outbox.start()
    before = await stats(http, base)
    started = time.perf_counter()
    for i in range(0, len(events), 100):
        await outbox.commit([(e, ["hook"], None) for e in events[i:i + 100]])
    got = await wait_received(http, base, key, before[key] + len(events), timeout)
    await outbox.aclose()  # commits the sent-marks still in flight (docs/delivery.md, recording a success)
    elapsed = time.perf_counter() - started  # until every success is recorded, as the plain loop's
    from monitor.delivery.outbox_store import OutboxStore

    with OutboxStore(path) as store:
        counts = store.counts()  # pending must be 0 once all arrived
    return elapsed, got, counts


async def run_plain(http, base: str, path: Path, events) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, event_id TEXT, payload TEXT, status TEXT, sent_at REAL)")
    started = time.perf_counter()
    for e in events:
        body = e.to_json()
        db.execute("BEGIN IMMEDIATE")
        rowid = db.execute("INSERT INTO m (event_id, payload, status) VALUES (?, ?, 'pending')",
                           (e.id, body)).lastrowid
        db.execute("COMMIT")
        async with http.post(f"{base}/hook", data=body.encode(),
                             headers={"Content-Type": "application/json", "X-Pantau-Id": e.id}) as r:
            await r.read()
            if r.status != 200:
                raise SystemExit(f"receiver answered {r.status}")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE m SET status='sent', sent_at=? WHERE id=?", (time.time(), rowid))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


async def bench(args: argparse.Namespace, port: int, tmp: Path) -> None:
    import aiohttp
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # no per-message info lines
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        warm = make_events(200)
        await run_plain(http, base, tmp / "warm-plain.db", warm)  # warm up connections and imports
        await run_outbox(http, base, tmp / "warm-outbox.db", "hook", warm, None, "received", 60)
        async with http.post(f"{base}/reset") as r:
            await r.read()

        # plain, outbox, plain (half the events each time): load that drifts during the run weighs on
        # the reference and on the outbox alike
        half = args.events // 2
        plain_s = await run_plain(http, base, tmp / "plain1.db", make_events(half))
        async with http.post(f"{base}/reset") as r:
            await r.read()
        out_s, got, counts = await run_outbox(http, base, tmp / "outbox.db", "hook", make_events(args.events),
                                              None, "received", args.timeout)
        plain_s += await run_plain(http, base, tmp / "plain2.db", make_events(args.events - half))
        strict = None
        if args.strict:
            rate = f"{args.strict_rate:g}/s"
            s_s, s_got, s_counts = await run_outbox(http, base, tmp / "strict.db", "strict", make_events(args.strict),
                                                    [rate], "strict_ok", args.timeout)
            strict = (rate, s_s, s_got, s_counts)

    plain_rate, out_rate = args.events / plain_s, args.events / out_s
    print(f"{args.events} events, receiver in its own process on 127.0.0.1, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  plain commit-POST-commit loop: {plain_s:.2f} s, {plain_rate:.0f} msg/s")
    print(f"  outbox (webhook notifier):     {out_s:.2f} s, {out_rate:.0f} msg/s; received {got['received']} "
          f"({got['unique']} unique), lost {args.events - got['unique']}, duplicates {got['received'] - got['unique']}, "
          f"store {counts}")
    ratio = out_rate / plain_rate
    print(f"  outbox / plain = {ratio:.2f}x (goal >= {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'}); "
          f"burst of {args.events}: {'0 loss' if got['unique'] == args.events else 'LOSS'}")
    if strict:
        rate, s_s, s_got, s_counts = strict
        print(f"  strict peer ({rate}, 429 above it), rate_limit.per_notifier [{rate}]: {args.strict} events in "
              f"{s_s:.2f} s, accepted {s_got['strict_ok']}, 429s provoked {s_got['strict_429']} (goal 0: "
              f"{'met' if s_got['strict_429'] == 0 else 'NOT met'}), store {s_counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--strict", type=int, default=300, help="events sent to the strict peer (0: skip)")
    parser.add_argument("--strict-rate", type=float, default=50.0, help="the strict peer's messages per second")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--receiver", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(Path(args.receiver), args.strict_rate)
        return
    with tempfile.TemporaryDirectory(prefix="pantau-outbox-bench-") as tmp_name:
        tmp = Path(tmp_name)
        port_file = tmp / "port"
        receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port_file),
                                     "--strict-rate", str(args.strict_rate)], cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists():
                if receiver.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the receiver did not start")
                time.sleep(0.1)
            asyncio.run(bench(args, int(port_file.read_text()), tmp))
        finally:
            receiver.terminate()
            receiver.wait(10)


if __name__ == "__main__":
    main()
