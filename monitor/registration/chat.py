"""The chat on the registration page (``registration.chat``, issue 15 item 2): a visitor who has no
internet yet writes to the admins; each message is relayed to the bot's Telegram admins, and an
admin's reply to it shows on the visitor's page.

* Identity: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the DB keeps its hash.
  A browser that verified a number with a one-time code (the form) has that number on its chat
  session, so the admins see it and replies also go there over WhatsApp.
* Works without JavaScript: the form posts, the server answers 303 back to ``/chat`` (reload to see
  replies). With JavaScript, ``/chat.js`` (same listener; the page's CSP allows no inline script)
  asks ``/chat/messages`` every 5 s and redraws the list with ``textContent``.
* Abuse: CSRF as the form (double-submit token + Origin), messages per client address and per
  session per ``window``, at most ``chat_max_open`` open conversations, 500 characters a message;
  everything shown is HTML-escaped. Logs name the session id, never the token or a number.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

import structlog
from aiohttp import web

from .limits import WindowLimit
from .text import text
from .threads import RelayStore, token_hash

log = structlog.get_logger("pantau.registration")

CHAT_COOKIE = "pantau_reg_chat"
MAX_LENGTH = 500

_JS = """(function(){var log=document.getElementById('log');if(!log||!window.fetch)return;
var me=log.getAttribute('data-you'),admin=log.getAttribute('data-admin'),seen=log.getAttribute('data-seq');
function draw(ms){log.textContent='';ms.forEach(function(m){var p=document.createElement('p');
p.className=m.from==='admin'?'ok':'me';var b=document.createElement('b');
b.textContent=(m.from==='admin'?admin:me)+': ';p.appendChild(b);p.appendChild(document.createTextNode(m.text));
log.appendChild(p);});}
function poll(){fetch('/chat/messages',{credentials:'same-origin',cache:'no-store'}).then(function(r){
return r.ok?r.json():null;}).then(function(d){if(d&&String(d.seq)!==seen){seen=String(d.seq);draw(d.messages);}
}).catch(function(){});}
setInterval(poll,5000);})();
"""


class ChatPage:
    def __init__(self, page: Any, threads: RelayStore):  # page: monitor.registration.page.RegistrationPage
        self.page, self.threads = page, threads
        config = page.config
        self.per_ip = WindowLimit(config.chat_per_ip, config.window)
        self.per_session = WindowLimit(config.chat_per_session, config.window)
        self.max_open = config.chat_max_open
        self.relay: Any = None  # monitor.registration.relay.Relay, set when the service starts

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/chat", self.show), web.post("/chat", self.post),
                web.get("/chat/messages", self.messages), web.get("/chat.js", self.script)]

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(text=_JS, content_type="application/javascript")

    async def show(self, request: web.Request) -> web.Response:
        return self._chat(request, self.page._language(request))

    async def messages(self, request: web.Request) -> web.Response:
        """The visitor's conversation as JSON (for the polling script)."""
        session = self.threads.session(request.cookies.get(CHAT_COOKIE))
        rows = self.threads.messages(session.id) if session is not None else []
        return web.json_response({"seq": rows[-1].seq if rows else 0,
                                  "messages": [{"from": m.sender, "text": m.text} for m in rows]})

    async def post(self, request: web.Request) -> web.Response:
        lang = self.page._language(request)
        form = await self.page._checked_form(request)
        if form is None:
            return self._chat(request, lang, error="csrf", status=403)
        now = self.page.clock()
        remote = request.remote or "?"
        message = str(form.get("text", "")).strip()
        if not 1 <= len(message) <= MAX_LENGTH:
            return self._chat(request, lang, error="chat_bad", status=400, draft=message[:MAX_LENGTH])
        token, new_token = request.cookies.get(CHAT_COOKIE, ""), None
        if len(token) < 40:  # no (or a forged short) cookie: this browser starts a session now
            token = new_token = secrets.token_urlsafe(32)
        session = self.threads.session(token)
        # the per-session key is the token's hash: the same before and after the session row exists
        if not self.per_ip.allow(remote, now) or not self.per_session.allow(token_hash(token), now):
            log.warning("chat.limited", remote=remote, chat_session=session.id if session else None)
            return self._chat(request, lang, error="limited", status=429, draft=message)
        if session is None:
            self.threads.prune(now)
            if self.threads.open_count(now) >= self.max_open:
                log.warning("chat.full", open=self.max_open, remote=remote)
                return self._chat(request, lang, error="chat_busy", status=503, draft=message)
            session = self.threads.open_session(token, ip=remote, now=now)
        # stored first, so an admin's very quick answer is listed after the question
        seq = self.threads.add_message(session.id, "visitor", message, now=now)
        if self.relay is None or not await self.relay.forward_page(session, message):
            self.threads.drop_message(session.id, seq)
            log.warning("chat.relay_failed", chat_session=session.id)
            return self._chat(request, lang, error="chat_failed", status=502, draft=message, token=new_token)
        log.info("chat.message", chat_session=session.id, remote=remote, length=len(message))
        response = web.Response(status=303, headers={"Location": f"/chat?lang={lang}"})
        if new_token is not None:
            self.set_cookie(response, request, new_token)
        return response

    def link_phone(self, request: web.Request, phone: str, now: float) -> str | None:
        """A browser verified ``phone`` (the form's one-time code): its chat session carries it from
        now on. Returns a new cookie token to set when the browser had no session yet."""
        token = request.cookies.get(CHAT_COOKIE, "")
        session = self.threads.session(token)
        if session is not None:
            self.threads.set_phone(session.id, phone)
            return None
        new = secrets.token_urlsafe(32)
        self.threads.open_session(new, ip=request.remote or "?", now=now, phone=phone)
        return new

    def set_cookie(self, response: web.StreamResponse, request: web.Request, token: str) -> None:
        response.set_cookie(CHAT_COOKIE, token, max_age=int(self.threads.keep), path="/", httponly=True,
                            samesite="Strict", secure=request.secure)

    def _chat(self, request: web.Request, lang: str, *, error: str | None = None, status: int = 200,
              draft: str = "", token: str | None = None) -> web.Response:
        session = self.threads.session(token or request.cookies.get(CHAT_COOKIE))
        rows = self.threads.messages(session.id) if session is not None else []
        you, admin = text("chat_you", lang), text("chat_admin", lang)
        lines = "".join(f'<p class="{"ok" if m.sender == "admin" else "me"}"><b>{escape(admin if m.sender == "admin" else you)}'
                        f':</b> {escape(m.text)}</p>' for m in rows) or f'<p>{escape(text("chat_empty", lang))}</p>'
        csrf, new_csrf = self.page._token(request)
        error_html = f'<p class="err" role="alert">{escape(text(error, lang))}</p>' if error else ""
        body = (f'{error_html}<p>{escape(text("chat_intro", lang))}</p>'
                f'<div id="log" aria-live="polite" data-you="{escape(you)}" data-admin="{escape(admin)}" '
                f'data-seq="{rows[-1].seq if rows else 0}">{lines}</div>'
                f'<form method="post" action="/chat?lang={lang}">'
                f'<input type="hidden" name="csrf" value="{csrf}">'
                f'<label for="chat-text">{escape(text("chat_text", lang))}</label>'
                f'<textarea id="chat-text" name="text" rows="3" maxlength="{MAX_LENGTH}" required>'
                f'{escape(draft)}</textarea>'
                f'<button type="submit">{escape(text("send", lang))}</button></form>'
                f'<p><a href="/chat?lang={lang}">{escape(text("chat_reload", lang))}</a> · '
                f'<a href="/?lang={lang}">{escape(text("title", lang))}</a></p>'
                f'<script src="/chat.js"></script>')
        response = self.page._page(request, lang, body, status=status, csrf=new_csrf, title="chat_title",
                                   path="/chat")
        if not request.cookies.get(CHAT_COOKIE) and token is None:
            self.set_cookie(response, request, secrets.token_urlsafe(32))
        elif token is not None:
            self.set_cookie(response, request, token)
        return response
