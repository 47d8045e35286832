"""Signals before the event loop owns them: from the first line of ``pantau`` to ``asyncio.run``.

Python's defaults are wrong for a service there: SIGTERM kills the process (exit -15) while it
imports or opens its database, SIGINT prints a KeyboardInterrupt traceback, SIGHUP kills it.
``install()`` — the first thing the ``pantau`` entry points do, before any heavy import — makes
SIGTERM and SIGINT raise ``Stopped`` (the CLI turns it into a quiet exit 0) and remembers a SIGHUP
for the reload loop to act on once it runs. ``pantau run`` hands all three to the event loop as
soon as it starts, and takes them back after it (so a late SIGTERM is still a clean stop).
This module imports nothing heavy on purpose.
"""

from __future__ import annotations

import signal
from types import FrameType

__all__ = ["Stopped", "hup_pending", "ignore", "install"]

_hup = False


class Stopped(BaseException):  # noqa: N818 - a stop request, not an error
    """SIGTERM or SIGINT arrived before the event loop took them over."""


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


def _note_hup(_signum: int, _frame: FrameType | None) -> None:
    global _hup
    _hup = True


def install() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _note_hup)


def ignore() -> None:
    """The process is exiting anyway: SIGTERM, SIGINT and SIGHUP change nothing any more."""
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def hup_pending() -> bool:
    """Whether a SIGHUP arrived before the event loop ran (consumed by the call)."""
    global _hup
    pending, _hup = _hup, False
    return pending
