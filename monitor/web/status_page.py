"""The status page: server-rendered (Jinja2, autoescaped), live through a tiny script that listens
to ``/status/stream`` (server-sent events: "something changed") and re-fetches the page's main
part. No build step, no CDN: the script and the stylesheet are served from ``/static``.

Hosts are grouped by one label (``?group=site``; default ``site`` when hosts carry it, else the
first label in use) and paged on the server (down first, then by name; ``PER_PAGE`` a page), so a
10,000-host page renders one page of rows plus per-group counts.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
import structlog
from aiohttp import web

from .auth import SESSION_KEY, Auth
from .i18n import pick_language, translator
from .status_source import HostView, StatusSource

log = structlog.get_logger("pantau.web")

HERE = Path(__file__).parent
PER_PAGE = 50
STATE_ORDER = {"down": 0, "unknown": 1, "up": 2}
STREAM_LIFETIME = 300.0  # seconds; EventSource reconnects (and the login is checked again)


@dataclass
class HostPage:
    group_key: str | None
    groups: list[tuple[str, Counter[str]]]  # label value → state counts
    totals: Counter[str]
    rows: list[HostView]
    total: int  # rows matching the filters
    page: int
    pages: int
    filters: dict[str, str] = field(default_factory=dict)


def select_hosts(hosts: Iterable[HostView], *, group_key: str | None = None, group: str | None = None,
                 state: str | None = None, q: str | None = None, page: int = 1,
                 per_page: int = PER_PAGE) -> HostPage:
    """Group counts over every host, then the filtered, sorted page of rows."""
    hosts = list(hosts)
    if group_key is None:
        keys = Counter(k for h in hosts for k in h.labels)
        group_key = "site" if "site" in keys else (keys.most_common(1)[0][0] if keys else None)
    groups: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for h in hosts:
        totals[h.state] += 1
        if group_key is not None:
            groups.setdefault(h.labels.get(group_key, "-"), Counter())[h.state] += 1
    needle = (q or "").strip().lower()
    rows = [h for h in hosts
            if (group is None or group_key is None or h.labels.get(group_key, "-") == group)
            and (state is None or h.state == state)
            and (not needle or needle in h.name.lower() or needle in h.address)]
    rows.sort(key=lambda h: (STATE_ORDER.get(h.state, 3), h.name))
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(1, page), pages)
    filters = {k: v for k, v in (("group", group_key), ("g", group), ("state", state), ("q", q)) if v}
    return HostPage(group_key, sorted(groups.items(), key=lambda kv: (-kv[1]["down"], kv[0])), totals,
                    rows[(page - 1) * per_page: page * per_page], len(rows), page, pages, filters)


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """``params`` with ``changes`` applied (None drops a key), URL-encoded in a stable order."""
    merged = {**params, **changes}
    return urlencode(sorted((k, str(v)) for k, v in merged.items() if v is not None))


class StatusPage:
    def __init__(self, source: StatusSource, *, timezone: str = "Asia/Jakarta", clock: Any = time.time,
                 poll: float = 1.0):
        self.source, self.clock, self.poll = source, clock, poll
        self.zone = ZoneInfo(timezone)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                      trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
        self.env.filters["clock"] = self._clock_text
        self.env.filters["ago"] = self._ago
        self.env.filters["qs"] = query_string
        self.closing = asyncio.Event()

    def routes(self, auth: Auth) -> list[web.RouteDef]:
        guard = auth.protected
        return [web.get("/", self._root), web.get("/status", guard(self.page)),
                web.get("/status/stream", guard(self.stream)), web.get("/api/status", guard(self.api)),
                web.static("/static", HERE / "static", append_version=False)]

    async def on_shutdown(self, app: web.Application) -> None:
        self.closing.set()  # end open streams so the server stops at once

    # -- rendering helpers ---------------------------------------------------------------------------

    def _clock_text(self, ts: float | datetime | None) -> str:
        if ts is None:
            return "-"
        when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
        return when.astimezone(self.zone).strftime("%d-%m %H:%M:%S")

    def _ago(self, ts: float | None) -> str:
        if ts is None:
            return "-"
        s = max(0, int(self.clock() - ts))
        return f"{s // 86400}d {s % 86400 // 3600}h" if s >= 86400 else \
            f"{s // 3600}h {s % 3600 // 60}m" if s >= 3600 else f"{s // 60}m {s % 60}s"

    def render(self, request: web.Request, template: str, **context: Any) -> web.Response:
        lang = pick_language(request.query.get("lang"), request.cookies.get("pantau_lang"),
                             request.headers.get("Accept-Language"))
        html = self.env.get_template(template).render(t=translator(lang), lang=lang, **context)
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        if request.query.get("lang") == lang:
            response.set_cookie("pantau_lang", lang, max_age=365 * 86400, path="/", samesite="Strict",
                                httponly=True)
        return response

    def render_login(self, request: web.Request, **context: Any) -> web.Response:
        return self.render(request, "login.html", **context)

    # -- handlers ------------------------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(status=303, headers={"Location": "/status"})

    async def page(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            number = int(q.get("page", "1"))
        except ValueError:
            number = 1
        state = q.get("state") if q.get("state") in STATE_ORDER else None
        hosts = select_hosts(self.source.hosts(), group_key=q.get("group") or None, group=q.get("g"),
                             state=state, q=q.get("q"), page=number)
        now = self.clock()
        try:
            outbox = await self.source.outbox()
        except Exception as exc:
            log.warning("status.outbox_failed", error=f"{type(exc).__name__}: {exc}")
            outbox = {}
        context = dict(hosts=hosts, strips=self.source.host_strips([h.name for h in hosts.rows], now),
                       routers=self.source.routers(), tasks=self.source.tasks(),
                       events=self.source.recent_events(30), outbox=outbox,
                       maintenance=self.source.maintenance(), now=now, version=self.source.version(),
                       session=request[SESSION_KEY])
        return self.render(request, "status_main.html" if q.get("part") == "main" else "status.html", **context)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        seen = self.source.version()
        started = last_write = self.clock()
        try:
            while not self.closing.is_set() and self.clock() - started < STREAM_LIFETIME:
                try:
                    await asyncio.wait_for(self.closing.wait(), self.poll)
                except TimeoutError:
                    pass
                version = self.source.version()
                if version != seen:
                    seen = version
                    await response.write(f"event: change\ndata: {version}\n\n".encode())
                    last_write = self.clock()
                elif self.clock() - last_write >= 15:
                    await response.write(b": keep-alive\n\n")
                    last_write = self.clock()
        except ConnectionResetError:  # the browser went away
            return response
        return response

    async def api(self, request: web.Request) -> web.Response:
        totals = Counter(h.state for h in self.source.hosts())
        return web.json_response({
            "hosts": {s: totals.get(s, 0) for s in ("up", "down", "unknown")},
            "routers": [{"name": r.name, "reachable": r.reachable, "sessions": r.sessions} for r in self.source.routers()],
            "outbox": await self.source.outbox(), "tasks_unhealthy": self.source.tasks().unhealthy})
