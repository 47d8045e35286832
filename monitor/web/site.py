"""Everything pantau serves over HTTP, assembled for a running engine:

* ``/metrics`` (Prometheus) and ``/healthz`` ``/readyz`` — open to whoever reaches ``http.listen``;
* ``/login`` ``/logout``, the status page ``/status`` (+ ``/status/stream``, ``/api/status``) —
  behind a login (``http.users``).

``build_web(engine)`` is called by ``Engine.start`` once the sources exist, before the server starts;
it also puts the event-loop lag meter under the engine's supervisor.
"""

from __future__ import annotations

from typing import Any

from .auth import Auth
from .health import Health, LoopLag
from .metrics import MetricsExporter
from .server import WebServer
from .status_page import StatusPage
from .status_source import EngineStatusSource, HistoryStatusSource, StatusSource


def build_web(engine: Any, *, source: StatusSource | None = None) -> WebServer:
    settings = engine.config.settings
    http = settings.http
    server = WebServer(http)
    lag = LoopLag()
    engine.supervisor.spawn("loop-lag", lag.run)
    health = Health(engine.supervisor.health, db_path=settings.state.path, loop_lag=lag,
                    max_loop_lag=http.max_loop_lag, ready=lambda: engine.ready)
    metrics = MetricsExporter(engine, lag)
    history = getattr(engine, "history", None)
    if source is None:
        source = HistoryStatusSource(engine, history) if getattr(history, "store", None) is not None \
            else EngineStatusSource(engine)
    page = StatusPage(source, timezone=settings.timezone)
    auth = Auth(http.users, ttl=http.session_ttl, render_login=page.render_login)
    server.app.on_shutdown.append(page.on_shutdown)
    server.add_routes([*health.routes(), *metrics.routes(), *auth.routes(), *page.routes(auth)])
    return server
