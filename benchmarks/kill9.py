"""kill -9 the real ``pantau run`` many times (more than the suite's 30) and count anomalies.

    python benchmarks/kill9.py [--kills 200] [--seed 1] [--no-flap]

Runs tests/kill9_campaign.py: the RouterOS simulator and a webhook receiver on 127.0.0.1, hotspot
users logging in and out, a netns test host flapping (root only), pantau killed at random moments
(during start-up, or just after an event was detected). Prints the anomalies per kill — repeated
or orphaned host alerts, lost or replayed session events; the goal is 0 — and, as the reference
the delivery doc names, how often the same event id was delivered twice (the peer accepted, the
process died before recording it: docs/delivery.md). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kill9_campaign import campaign  # noqa: E402
from nethost import netns_available  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-flap", action="store_true", help="leave out the netns host")
    args = p.parse_args()
    flap = netns_available() and not args.no_flap
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pantau-kill9-") as tmp:
        report = asyncio.run(campaign(Path(tmp), args.kills, seed=args.seed, flap=flap))
    took = time.monotonic() - started
    print(f"kills: {report.kills}  events delivered: {report.events}  host flapping: {flap}  ({took:.0f} s)")
    print(f"anomalies: {len(report.problems)}  per kill: {len(report.problems) / max(1, report.kills):.3f}")
    print(f"same id delivered twice (answer-lost window): {report.redelivered}  "
          f"per kill: {report.redelivered / max(1, report.kills):.3f}")
    for problem in report.problems:
        print("  -", problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
