"""Logins for the status page and its API: users from ``http.users`` (scrypt hashes), sessions in
memory (a restart logs everybody out), CSRF tokens on every state-changing form.

* The session cookie is random (256 bits), ``HttpOnly``, ``SameSite=Strict``, ``Path=/`` and
  ``Secure`` when the request came over TLS (or through a proxy saying so is NOT trusted: put TLS
  in front and pantau sees plain HTTP — docs/web.md).
* Every POST carries a ``csrf`` field: the session's token, or before login a double-submit token
  whose twin is in an HttpOnly cookie set by ``GET /login``; a POST whose ``Origin`` names another
  host is refused as well.
* Failed logins are counted per client address: ``MAX_FAILURES`` within ``FAILURE_WINDOW`` answer
  429 until the window passes. Logs name the user and the address, never a password.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from aiohttp import web

from .passwords import verify_password

log = structlog.get_logger("pantau.web")

SESSION_COOKIE = "pantau_session"
LOGIN_CSRF_COOKIE = "pantau_login_csrf"
MAX_FAILURES, FAILURE_WINDOW = 10, 300.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY: Any = web.RequestKey("pantau_session", object) if hasattr(web, "RequestKey") else "pantau_session"


@dataclass
class Session:
    id: str
    user: str
    csrf: str
    expires: float


class Auth:
    def __init__(self, users: Mapping[str, str], *, ttl: float, render_login: Callable[..., web.Response],
                 clock: Callable[[], float] = time.time):
        self.users = dict(users)
        self.ttl = ttl
        self.render_login = render_login
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, deque[float]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.users)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/login", self.login_form), web.post("/login", self.login),
                web.post("/logout", self.protected(self.logout))]

    # -- sessions ----------------------------------------------------------------------------------

    def session(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE)
        session = self._sessions.get(sid) if sid else None
        now = self.clock()
        if session is None:
            return None
        if session.expires <= now:
            del self._sessions[session.id]
            return None
        session.expires = now + self.ttl  # sliding
        return session

    def protected(self, handler: Handler) -> Handler:
        """Wrap a handler: no users configured → 403; not logged in → the login page (HTML) or 401
        (API, streams); POST without the session's CSRF token → 403."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.enabled:
                raise web.HTTPForbidden(text="the status page needs at least one user in http.users "
                                             "(make a hash with `pantau hash-password`)")
            session = self.session(request)
            if session is None:
                if request.method == "GET" and request.path.startswith("/status") and \
                        not request.path.startswith("/status/stream"):
                    raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}"
                                           if request.path_qs != "/status" else "/login")
                raise web.HTTPUnauthorized(text="log in first")
            if request.method not in ("GET", "HEAD"):
                await self._check_csrf(request, session.csrf)
            request[SESSION_KEY] = session
            return await handler(request)

        return guarded

    async def _check_csrf(self, request: web.Request, expected: str) -> Any:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            log.warning("web.csrf_refused", path=request.path, reason="origin", remote=request.remote)
            raise web.HTTPForbidden(text="cross-site request refused")
        form = await request.post()
        token = form.get("csrf")
        if not isinstance(token, str) or not expected or not hmac.compare_digest(token, expected):
            log.warning("web.csrf_refused", path=request.path, reason="token", remote=request.remote)
            raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page and try again")
        return form

    # -- handlers ----------------------------------------------------------------------------------

    async def login_form(self, request: web.Request, *, error: str | None = None,
                         status: int = 200) -> web.Response:
        token = secrets.token_urlsafe(32)
        response = self.render_login(request, csrf=token, error=error, enabled=self.enabled,
                                     next_url=_safe_next(request.query.get("next")))
        response.set_status(status)
        _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.enabled:
            raise web.HTTPForbidden(text="no users configured in http.users")
        form = await self._check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""))
        remote = request.remote or "?"
        now = self.clock()
        failures = self._failures.setdefault(remote, deque())
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        if len(failures) >= MAX_FAILURES:
            log.warning("web.login_throttled", remote=remote)
            return await self.login_form(request, error="throttled", status=429)
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        stored = self.users.get(user)
        ok = stored is not None and await asyncio.to_thread(verify_password, password, stored)
        if not ok:
            failures.append(now)
            if len(self._failures) > 1000:  # many addresses failing: forget the stale ones
                self._prune(now)
            log.warning("web.login_failed", user=user[:64], remote=remote, failures=len(failures))
            return await self.login_form(request, error="invalid", status=401)
        self._failures.pop(remote, None)
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now + self.ttl)
        self._sessions[session.id] = session
        self._prune(now)
        log.info("web.login", user=user, remote=remote)
        response = _redirect(_safe_next(str(form.get("next", ""))) or "/status")
        _set_cookie(request, response, SESSION_COOKIE, session.id, max_age=int(self.ttl))
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        self._sessions.pop(session.id, None)
        log.info("web.logout", user=session.user)
        response = _redirect("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    def _prune(self, now: float) -> None:
        for sid in [sid for sid, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[sid]
        for remote in [r for r, f in self._failures.items() if not f or f[-1] <= now - FAILURE_WINDOW]:
            del self._failures[remote]


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *,
                max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=request.secure)


def _safe_next(value: str | None) -> str:
    """Only a local path: ``/status?...`` yes, ``//evil.example`` or ``https://…`` no."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value
