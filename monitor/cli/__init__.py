"""The ``pantau`` command and its subcommands (demo, check summary, test-notify, outbox)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def entry(argv: Sequence[str] | None = None) -> int:
    """Entry point: signal handlers first, then the (heavy) imports, so a SIGTERM or Ctrl-C at any
    moment is a quiet exit 0 (monitor/cli/early_signals.py). ``pantau --version`` answers before
    the command's imports (asyncio, argparse, the config model)."""
    from . import early_signals

    early_signals.install()
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        if args == ["--version"]:
            from .. import __version__

            print(f"pantau {__version__}")
            return 0
        from .main import main as run

        globals()["main"] = entry  # importing the submodule rebound ``monitor.cli.main`` to it
        return run(args)
    except (KeyboardInterrupt, early_signals.Stopped):
        return 0
    finally:  # the process is ending: a late signal must not turn into a traceback during teardown
        early_signals.ignore()


main = entry

__all__ = ["entry", "main"]
