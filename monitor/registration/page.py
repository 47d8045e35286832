"""The registration page's HTTP handlers: form → one-time code over WhatsApp → verified request.

Plain HTML and one small stylesheet from the same listener (the person has no internet yet), phone
first, Indonesian by default (``?lang=en``). Every POST carries a double-submit CSRF token (a field
and its HttpOnly cookie) and is refused when ``Origin`` names another host. Abuse limits: requests
per client address and per number (``per_ip`` / ``per_number`` per ``window``), a honeypot field
that people never see (a bot filling it is answered as if all went well, and nothing is sent), and
at most ``max_pending`` open requests. Logs mask the number.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from ..delivery.phone import mask_recipient, normalize_msisdn
from ..errors import PantauError
from .chat import ChatPage
from .config import RegistrationConfig
from .limits import WindowLimit
from .store import RegistrationStore, Request
from .text import text

log = structlog.get_logger("pantau.registration")

CSRF_COOKIE = "pantau_reg_csrf"
HONEYPOT = "website"  # hidden by CSS; people leave it empty
SendCode = Callable[[str, str], Awaitable[Any]]  # (number, text) → sent, or PantauError
Verified = Callable[[Request], Awaitable[None]]

_CSS = """body{font-family:sans-serif;margin:0 auto;max-width:28rem;padding:1rem;line-height:1.4;color:#222}
h1{font-size:1.3rem}label{display:block;margin-top:.8rem;font-weight:bold}
input,select,textarea{width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem;margin-top:.2rem}
button{margin-top:1rem;width:100%;font-size:1.1rem;padding:.7rem;background:#1a6;color:#fff;border:0}
.err{background:#fdd;padding:.5rem}.ok{background:#dfd;padding:.5rem}.hp{position:absolute;left:-9999px}
.me{background:#eef;padding:.5rem}#log p{margin:.3rem 0;overflow-wrap:anywhere}
"""


class RegistrationPage:
    def __init__(self, config: RegistrationConfig, store: RegistrationStore, *, send_code: SendCode,
                 on_verified: Verified, country_code: str = "62", clock: Callable[[], float] = time.time):
        self.config, self.store = config, store
        self.send_code, self.on_verified = send_code, on_verified
        self.country_code, self.clock = country_code, clock
        self.per_ip = WindowLimit(config.per_ip, config.window)
        self.per_number = WindowLimit(config.per_number, config.window)
        self.packages = {p.name: p for p in config.packages}
        # request id → {"status": approved|rejected, "text": …} once an admin decided (approvals on)
        self.status_of: Callable[[str], dict[str, str] | None] | None = None
        self.chat: ChatPage | None = None  # registration.chat: the page chat (monitor/registration/chat.py)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.form), web.post("/", self.submit), web.post("/verify/{id}", self.verify),
                web.get("/request/{id}", self.request_status),
                web.get("/style.css", self.style)] + (self.chat.routes() if self.chat is not None else [])

    # -- handlers ----------------------------------------------------------------------------------

    async def style(self, request: web.Request) -> web.Response:
        return web.Response(text=_CSS, content_type="text/css")

    async def form(self, request: web.Request) -> web.Response:
        return self._form(request, self._language(request))

    async def submit(self, request: web.Request) -> web.Response:
        lang = self._language(request)
        form = await self._checked_form(request)
        if form is None:
            return self._form(request, lang, error="csrf", status=403)
        now = self.clock()
        remote = request.remote or "?"
        name = " ".join(str(form.get("name", "")).split())
        phone_text = str(form.get("phone", ""))
        package = str(form.get("package", ""))
        message = str(form.get("message", "")).strip()
        values = {"name": name, "phone": phone_text, "package": package, "message": message}
        if str(form.get(HONEYPOT, "")).strip():
            log.warning("registration.honeypot", remote=remote)
            return self._code_page(request, lang, "0" * 22, phone_text)  # looks the same; nothing sent
        if not self.per_ip.allow(remote, now):
            log.warning("registration.limited", remote=remote, by="ip")
            return self._form(request, lang, error="limited", status=429, values=values)
        number = normalize_msisdn(phone_text, self.country_code)
        error = ("bad_name" if not 1 <= len(name) <= 60 else "bad_phone" if number is None else
                 "bad_package" if package not in self.packages else "bad_message" if len(message) > 500 else None)
        if error is not None or number is None:
            return self._form(request, lang, error=error, status=400, values=values)
        if not self.per_number.allow(number, now):
            log.warning("registration.limited", remote=remote, by="number", phone=mask_recipient(number))
            return self._form(request, lang, error="limited", status=429, values=values)
        self.store.prune(now)
        if self.store.pending(now) >= self.config.max_pending:
            log.warning("registration.full", pending=self.config.max_pending)
            return self._form(request, lang, error="busy", status=503, values=values)
        request_id = secrets.token_urlsafe(16)
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.store.add(request_id, now=now, name=name, phone=number, package=package, message=message,
                       ip=remote, code=code, ttl=self.config.code_ttl)
        minutes = str(max(1, round(self.config.code_ttl / 60)))
        try:
            await self.send_code(number, text("wa_code", lang, code=code, minutes=minutes))
        except PantauError as exc:
            self.store.check_code(request_id, "", now=float("inf"), max_attempts=1)  # drops it
            log.warning("registration.code_failed", phone=mask_recipient(number), error=str(exc))
            return self._form(request, lang, error="send_failed", status=502, values=values)
        log.info("registration.code_sent", request=request_id, phone=mask_recipient(number), package=package,
                 remote=remote)
        return self._code_page(request, lang, request_id, phone_text)

    async def verify(self, request: web.Request) -> web.Response:
        lang = self._language(request)
        request_id = request.match_info["id"]
        form = await self._checked_form(request)
        if form is None:
            return self._form(request, lang, error="csrf", status=403)
        result = self.store.check_code(request_id, str(form.get("code", "")), now=self.clock(),
                                       max_attempts=self.config.code_attempts)
        log.info("registration.code_checked", request=request_id, result=result)
        if result == "wrong":
            return self._code_page(request, lang, request_id, "", error="wrong_code", status=400)
        if result != "ok":
            return self._form(request, lang, error="expired", status=410)
        saved = self.store.get(request_id)
        assert saved is not None
        await self.on_verified(saved)
        body = f'<p class="ok">{escape(text("done", lang, name=saved.name))}</p>'
        if self.status_of is not None:  # approvals on: the page follows the decision while it is open
            body += f'<p><a href="/request/{escape(request_id)}?lang={lang}">{escape(text("follow", lang))}</a></p>'
        new_chat = self.chat.link_phone(request, saved.phone, self.clock()) if self.chat is not None else None
        response = self._page(request, lang, body + self._chat_link(lang))
        if self.chat is not None and new_chat is not None:
            self.chat.set_cookie(response, request, new_chat)
        return response

    async def request_status(self, request: web.Request) -> web.Response:
        """What became of a verified request: the credentials once approved (the request id, 128
        random bits, is the only key), a refusal, or "waiting" with a refresh every 15 s (no JS)."""
        lang = self._language(request)
        request_id = request.match_info["id"]
        saved = self.store.get(request_id)
        if saved is None or self.status_of is None:
            raise web.HTTPNotFound()
        shown = self.status_of(request_id)
        if shown is None:
            body = f'<p>{escape(text("waiting", lang))}</p>'
            return self._page(request, lang, body, refresh=15)
        if shown["status"] == "approved":
            lines = "<br>".join(escape(line) for line in shown["text"].splitlines())
            return self._page(request, lang, f'<p class="ok">{lines}</p>')
        return self._page(request, lang, f'<p class="err">{escape(text("rejected", lang))}</p>')

    # -- helpers -----------------------------------------------------------------------------------

    def _language(self, request: web.Request) -> str:
        lang = request.query.get("lang", "")
        return lang if lang in ("id", "en") else self.config.language

    async def _checked_form(self, request: web.Request) -> Any:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            log.warning("registration.csrf_refused", reason="origin", remote=request.remote)
            return None
        form = await request.post()
        token, expected = form.get("csrf"), request.cookies.get(CSRF_COOKIE, "")
        if not isinstance(token, str) or not expected or not hmac.compare_digest(token, expected):
            log.warning("registration.csrf_refused", reason="token", remote=request.remote)
            return None
        return form

    def _chat_link(self, lang: str) -> str:
        return f'<p><a href="/chat?lang={lang}">{escape(text("chat_link", lang))}</a></p>' if self.chat else ""

    def _page(self, request: web.Request, lang: str, body: str, *, status: int = 200,
              csrf: str | None = None, refresh: int | None = None, title: str = "title",
              path: str = "/") -> web.Response:
        other = "en" if lang == "id" else "id"
        meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
        html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{meta}'
                f'<meta name="viewport" content="width=device-width,initial-scale=1">'
                f'<title>{escape(text(title, lang))}</title><link rel="stylesheet" href="/style.css"></head>'
                f'<body><p><a href="{path}?lang={other}">{escape(text("other_lang", lang))}</a></p>'
                f'<h1>{escape(text(title, lang))}</h1>{body}</body></html>')
        response = web.Response(text=html, content_type="text/html", status=status)
        if csrf is not None:
            response.set_cookie(CSRF_COOKIE, csrf, max_age=3600, path="/", httponly=True, samesite="Strict",
                                secure=request.secure)
        return response

    def _token(self, request: web.Request) -> tuple[str, str | None]:
        """The request's CSRF cookie (kept), or a new one to set."""
        current = request.cookies.get(CSRF_COOKIE, "")
        if len(current) >= 32:
            return current, None
        token = secrets.token_urlsafe(32)
        return token, token

    def _form(self, request: web.Request, lang: str, *, error: str | None = None, status: int = 200,
              values: dict[str, str] | None = None) -> web.Response:
        v = values or {}
        token, new = self._token(request)
        options = "".join(
            f'<option value="{escape(p.name)}"{" selected" if v.get("package") == p.name else ""}>'
            f'{escape(p.label or p.name)}</option>' for p in self.config.packages)

        def field(key: str) -> str:
            return escape(v.get(key, ""), quote=True)

        body = (f'{_error(error, lang)}<p>{escape(text("intro", lang))}</p>{self._chat_link(lang)}'
                f'<form method="post" action="/?lang={lang}">'
                f'<input type="hidden" name="csrf" value="{token}">'
                f'<label for="name">{escape(text("name", lang))}</label>'
                f'<input id="name" name="name" maxlength="60" required autocomplete="name" value="{field("name")}">'
                f'<label for="phone">{escape(text("phone", lang))}</label>'
                f'<input id="phone" name="phone" type="tel" inputmode="tel" maxlength="24" required '
                f'placeholder="0857 1234 5678" value="{field("phone")}">'
                f'<label for="package">{escape(text("package", lang))}</label>'
                f'<select id="package" name="package">{options}</select>'
                f'<label for="message">{escape(text("message", lang))}</label>'
                f'<textarea id="message" name="message" rows="3" maxlength="500">{field("message")}</textarea>'
                f'<div class="hp" aria-hidden="true"><label for="{HONEYPOT}">Website</label>'
                f'<input id="{HONEYPOT}" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></div>'
                f'<button type="submit">{escape(text("send", lang))}</button></form>')
        return self._page(request, lang, body, status=status, csrf=new)

    def _code_page(self, request: web.Request, lang: str, request_id: str, phone: str, *,
                   error: str | None = None, status: int = 200) -> web.Response:
        token, new = self._token(request)
        intro = text("code_sent", lang, phone=phone) if phone else ""
        body = (f'{_error(error, lang)}<p>{escape(intro)}</p>'
                f'<form method="post" action="/verify/{escape(request_id)}?lang={lang}">'
                f'<input type="hidden" name="csrf" value="{token}">'
                f'<label for="code">{escape(text("code", lang))}</label>'
                f'<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" '
                f'required><button type="submit">{escape(text("verify", lang))}</button></form>')
        return self._page(request, lang, body, status=status, csrf=new)


def _error(key: str | None, lang: str) -> str:
    return f'<p class="err" role="alert">{escape(text(key, lang))}</p>' if key else ""
