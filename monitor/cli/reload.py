"""SIGHUP for ``pantau run`` (systemd's ``ExecReload``, ``docker kill -s HUP``): re-read the config.

A valid new config replaces the running engine (stopped cleanly, then started with the new config;
host states, sessions and the outbox live in SQLite, so nothing is replayed or lost). An invalid one
is logged with every problem by path and the running engine keeps going unchanged — a typo during
a reload never stops monitoring.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import structlog

from ..config.model import load_config
from ..errors import ConfigError, ProbeError

log = structlog.get_logger("pantau.run")


class Reloader:
    """Holds the running engine; ``serve(stop)`` waits for ``stop``, reloading on every SIGHUP."""

    def __init__(self, engine: Any, config_path: Path | None):
        self.engine = engine
        self.config_path = config_path
        self._hup = asyncio.Event()

    async def serve(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._hup.set)
        try:
            while True:
                stopping = asyncio.ensure_future(stop.wait())
                hup = asyncio.ensure_future(self._hup.wait())
                await asyncio.wait({stopping, hup}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                hup.cancel()
                if stop.is_set():
                    return
                self._hup.clear()
                await self.reload()
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    async def reload(self) -> bool:
        from ..engine import Engine

        if self.config_path is None:
            log.warning("config_reload_skipped", reason="no config file")
            return False
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error("config_reload_failed", config=str(self.config_path), problems=exc.problems,
                      action="kept running with the previous config")
            return False
        from ..engine import secret_values
        from ..logs import register_secrets

        register_secrets(secret_values(config))  # new secrets are masked before anything logs them
        await self.engine.stop()
        engine = Engine(config)
        try:
            await engine.start()
        except (ProbeError, ConfigError) as exc:
            log.error("config_reload_failed", config=str(self.config_path), error=str(exc),
                      action="restarting with the previous config")
            await engine.stop(grace=0.5)
            engine = Engine(self.engine.config)
            await engine.start()
            self.engine = engine
            return False
        self.engine = engine
        log.info("config_reloaded", config=str(self.config_path), hosts=len(config.hosts),
                 routers=len(config.settings.routers), notifiers=len(config.notifiers))
        return True
