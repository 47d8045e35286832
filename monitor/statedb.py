"""The state database file (``state.path``): opening it privately, telling a passing fault from a
real one, and the one-instance lock.

* The file holds phone numbers, MACs and IPs: it is created 0600, and SQLite gives its ``-wal``
  and ``-shm`` files the database file's mode. A file left 0644 by an older pantau is tightened.
* ``database is locked``, a full disk and I/O errors are *transient*: the writer waits them out
  (monitor/state_writer.py); anything else (a corrupt file, a bug) is not.
* ``InstanceLock``: an exclusive ``flock`` on ``<state.path>.lock`` holding the owner's PID, so two
  ``pantau run`` never share a state file (every alert would go out twice).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

__all__ = ["InstanceLock", "StateLocked", "connect", "is_transient", "secure_file"]

_MODE = 0o600
_TRANSIENT = ("locked", "busy", "full", "disk i/o", "unable to open", "readonly")


def secure_file(path: str | Path) -> None:
    """Create ``path`` 0600 if missing; tighten it and its WAL/SHM files to 0600 if they exist."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if p.stat().st_mode & 0o777 != _MODE:
                p.chmod(_MODE)


def connect(path: str | Path, *, busy_timeout: float = 10.0, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open the shared state file (created 0600) in WAL mode, autocommit (explicit transactions)."""
    secure_file(path)
    db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def is_transient(exc: BaseException) -> bool:
    """A fault of the disk or of another process, which passes: retry, do not give up."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(word in text for word in _TRANSIENT)
    return isinstance(exc, OSError)


class StateLocked(RuntimeError):
    def __init__(self, path: Path, pid: str):
        self.pid = pid
        super().__init__(f"another pantau (pid {pid or 'unknown'}) is running on state file {path.parent / path.stem}; "
                         f"one instance per state.path (lock: {path})")


class InstanceLock:
    """``with InstanceLock(state_path):`` — raises :class:`StateLocked` naming the holder's PID.
    The kernel releases the lock when the process ends, however it ends (kill -9 included)."""

    def __init__(self, state_path: str | Path):
        self.path = Path(f"{state_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, _MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise StateLocked(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
