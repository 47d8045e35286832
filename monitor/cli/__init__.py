"""The ``pantau`` command and its subcommands (demo, check summary, test-notify, outbox)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``pantau --version`` answers before the command's imports (asyncio, argparse, the config
    model); everything else goes to ``monitor.cli.main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from .. import __version__

        print(f"pantau {__version__}")
        return 0
    from .main import main as run_command

    return run_command(args)


__all__ = ["main"]
