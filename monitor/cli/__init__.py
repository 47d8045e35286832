"""The ``pantau`` command and its subcommands (demo, check summary, test-notify, outbox)."""

from .main import main

__all__ = ["main"]
