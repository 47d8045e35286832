"""A real `pantau run` subprocess for end-to-end tests, and another process holding the state DB's
write lock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


class Pantau:
    """One `pantau run` process whose JSON log lines we can wait for."""

    def __init__(self, config: Path, log: Path, *args: str):
        self.log = log
        out = open(log, "ab")  # noqa: SIM115 - handed to the child, closed with it
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config), *args],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        out.close()
        self._offset = self.log.stat().st_size if self.log.exists() else 0

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:  # a line cut by kill -9
                    pass
        return out

    def count(self, event: str, **match) -> int:
        return sum(1 for x in self.lines() if x.get("event") == event
                   and all(x.get(k) == v for k, v in match.items()))

    async def wait_log(self, event: str, count: int = 1, timeout: float = 20.0, **match) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(event, **match) >= count:
                return
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {count}x {event} {match} in time:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_config(path: Path, **cfg) -> Path:
    base = {"log": {"level": "info", "format": "json"}, "plugins_dir": None}
    path.write_text(yaml.safe_dump({**base, **cfg}))
    return path


async def wait_until(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not met in time"
        await asyncio.sleep(0.05)


_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


class WriteLock:
    """Another process holding the state DB's write lock (``BEGIN IMMEDIATE``) until ``release``."""

    def __init__(self, db: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
