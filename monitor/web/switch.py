"""Web routes a reload may replace (a notifier's webhook, e.g. the WhatsApp Cloud status webhook).

aiohttp freezes its router when the server starts, so each (method, path) is registered once with
a dispatcher that calls the handler in force now. ``replace(routes)`` installs the handlers of the
reloaded notifiers: a path whose notifier was removed answers 404; a path that was not registered
at start-up cannot be added any more and is returned (the reload names it as needing a restart).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Key = tuple[str, str]  # (method, path)


class RouteSwitch:
    def __init__(self) -> None:
        self.handlers: dict[Key, Handler] = {}
        self.registered: set[Key] = set()

    def register(self, routes: Iterable[Any]) -> list[web.RouteDef]:
        """The route definitions to add to the app before it starts (one per method and path)."""
        out: list[web.RouteDef] = []
        for route in routes:
            key = (route.method, route.path)
            self.handlers[key] = route.handler
            if key not in self.registered:
                self.registered.add(key)
                out.append(web.route(route.method, route.path, self._dispatcher(key)))
        return out

    def replace(self, routes: Iterable[Any]) -> list[str]:
        """Install a reload's handlers; returns the paths that only a restart can add."""
        self.handlers = {}
        unregistered: list[str] = []
        for route in routes:
            key = (route.method, route.path)
            if key in self.registered:
                self.handlers[key] = route.handler
            elif route.path not in unregistered:
                unregistered.append(route.path)
        return unregistered

    def _dispatcher(self, key: Key) -> Handler:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            handler = self.handlers.get(key)
            if handler is None:  # its notifier was removed (or no longer has this webhook)
                raise web.HTTPNotFound()
            return await handler(request)

        return dispatch
