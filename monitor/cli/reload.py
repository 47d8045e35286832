"""``pantau run``'s reload loop: on SIGHUP, validate the config file again and apply it.

An invalid file (or a new notifier that cannot start) is logged as ``reload_failed`` with every
problem by path, and the running config stays in force. A valid one goes to ``Engine.reload``,
which changes only what changed (monitor/reload.py).
"""

from __future__ import annotations

import asyncio

import structlog

from ..config.model import load_config
from ..engine import Engine
from ..errors import ConfigError, ProbeError

log = structlog.get_logger("pantau.reload")


async def reload_once(engine: Engine, path: str) -> bool:
    """Load ``path`` and apply it; False (logged, nothing changed) when it is invalid."""
    log.info("reload_requested", config=path)
    try:
        new = await asyncio.to_thread(load_config, path)
        await engine.reload(new)
    except (ConfigError, ProbeError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        log.error("reload_failed", config=path, problems=problems, kept="the running config")
        return False
    return True


async def reload_loop(engine: Engine, path: str, wanted: asyncio.Event) -> None:
    """Reload each time ``wanted`` is set (signals arriving during a reload coalesce into one)."""
    while True:
        await wanted.wait()
        wanted.clear()
        await reload_once(engine, path)
