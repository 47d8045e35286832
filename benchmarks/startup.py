"""Start-up cost of the command: `pantau --version` against a bare interpreter, in the same run.

Goal (issue 13): `pantau --version` < 0.1 s. On a shared machine the interpreter's own start moves
a lot, so this prints both medians and their difference (what pantau adds) as well as the ratio.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bare = _median([sys.executable, "-c", "pass"], args.runs)
    version = _median([sys.executable, "-m", "monitor", "--version"], args.runs)
    print(f"python -c pass          median {bare * 1000:7.1f} ms")
    print(f"pantau --version        median {version * 1000:7.1f} ms  (pantau adds {(version - bare) * 1000:.1f} ms)")
    print(f"ratio to a bare interpreter: {version / bare:.2f}x; goal < 100 ms: "
          f"{'met' if version < 0.1 else 'not met'}")


if __name__ == "__main__":
    main()
