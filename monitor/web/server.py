"""The one HTTP server; ``site.build_web`` adds health, metrics and the status page, other wings
add their own routes.

Components add their routes with ``add_routes`` before ``start()`` (aiohttp freezes the router
then). Every answer carries conservative security headers. A port that cannot be bound is a
start-up error (exit 2), not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog
from aiohttp import web

from ..errors import ConfigError
from .config import HttpConfig, split_listen
from .health import Health

log = structlog.get_logger("pantau.web")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "Cache-Control": "no-store",
}

HealthSource = Callable[[], Mapping[str, Any]]  # Supervisor.health


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        raise
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


class WebServer:
    def __init__(self, config: HttpConfig, *, health: HealthSource | None = None):
        self.config = config
        self.host, self.port = split_listen(config.listen)
        self.app = web.Application(middlewares=[security_headers], client_max_size=1024 * 1024)
        self._runner: web.AppRunner | None = None
        if health is not None:  # tasks only; build_web adds the full Health (DB, loop lag)
            self.add_routes(Health(health).routes())

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        self.app.add_routes(list(routes))

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError([f"http.listen: cannot listen on {self.config.listen}: "
                               f"{exc.strerror or exc}"]) from None
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]  # the real port when 0 was asked for
        log.info("http.listening", host=self.host, port=self.port)

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

