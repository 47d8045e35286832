"""Routes: which notifiers an event goes to. Every matching route applies; order is kept."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from ..config.model import RouteConfig
from ..events import Event


class EventRouter:
    def __init__(self, routes: Sequence[RouteConfig]):
        self.routes = list(routes)

    def match(self, event: Event) -> list[str]:
        names: list[str] = []
        for route in self.routes:
            if not any(fnmatch.fnmatchcase(event.type, p) for p in route.events):
                continue
            if not any(fnmatch.fnmatchcase(event.source.name, p) for p in route.sources):
                continue
            if any(event.source.labels.get(k) != v for k, v in route.labels.items()):
                continue
            names.extend(n for n in route.notify if n not in names)
        return names
