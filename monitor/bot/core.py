"""The command core: parse → authorize → rate-limit → (confirm) → execute → render → audit.

Channel-independent: adapters turn an incoming message into ``handle(identity, channel, text)``
and a button press into ``decide(...)``, then deliver the ``Reply`` objects. Time is passed in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from ..errors import RouterError, RouterTrap
from ..events import Event, Source
from ..routeros.config import RouterConfig
from .access import Identity, RateLimiter
from .command import Command, Ctx, NotFound, UsageError
from .commands import COMMANDS
from .config import BotConfig
from .parse import parse
from .render import BotRenderer, paginate
from .store import BotStore, Pending

log = structlog.get_logger("pantau.bot")

Emit = Callable[[Event], Awaitable[None]]
_REPLY_CODE = re.compile(r"^\s*(ya|yes|y|batal|cancel|tidak|no)\s+(\d{4})\s*$", re.IGNORECASE)
# a registration request's decision code (4 letters/digits), like the confirmation codes above:
# ``SETUJUI K7F2`` / ``SETUJUI K7F2 PAKET`` / ``TOLAK K7F2 alasan``
_DECIDE_CODE = re.compile(r"^\s*(setujui|approve|tolak|reject)\s+([a-z0-9]{4})(?:\s+(.*))?$",
                          re.IGNORECASE | re.DOTALL)
# another wing's handler: (identity, channel, args, markup) → replies, or None when it does not apply
Public = Callable[[Identity, str, list[str], str], Awaitable["list[Reply] | None"]]


@dataclass
class Reply:
    """One message to send. ``buttons``: (label, callback data) for Telegram; ``edit``: replace the
    message with this id instead of sending a new one (the confirmation prompt becomes the result)."""

    pages: list[str]
    buttons: list[tuple[str, str]] = field(default_factory=list)
    edit: str | None = None
    pending_id: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


class BotCore:
    def __init__(self, config: BotConfig, routers: list[RouterConfig], store: BotStore, *, state_path: str = "",
                 emit: Emit | None = None, clock: Callable[[], float] = time.time, probe: Any = None):
        self.config = config
        self.routers = {r.name: r for r in routers}
        self.store = store
        self.state_path = state_path
        self.emit = emit
        self.clock = clock
        self.probe = probe  # pantau's ICMP probe, for /ping from pantau as well as from the router
        self.limiter = RateLimiter(config.rate_limit.count, config.rate_limit.per)
        self._renderers: dict[str, BotRenderer] = {}
        # commands open to identities on no list (the registration wing's /daftar, /start, /bantuan)
        self.public: dict[str, Public] = {}
        # (identity, channel, code, approve, rest, markup) → replies: registration decision codes
        self.decision_code: Any = None

    def renderer(self, markup: Literal["html", "text"]) -> BotRenderer:
        if markup not in self._renderers:
            self._renderers[markup] = BotRenderer(self.config.language, markup)
        return self._renderers[markup]

    def _msg(self, markup: Literal["html", "text"], macro: str, **ctx: Any) -> list[str]:
        r = self.renderer(markup)
        module = r.env.from_string(r.template_source("_messages")).make_module()
        text = str(getattr(module, macro)(**ctx)).strip()
        return paginate("\n".join(line.rstrip() for line in text.splitlines()))

    # -- entry points ----------------------------------------------------------------------------

    async def handle(self, who: Identity, channel: str, text: str, *,
                     markup: Literal["html", "text"] = "text") -> list[Reply]:
        """Answer one message. An empty list: nothing to say (not a command, or silent refusal)."""
        now = self.clock()
        m = _REPLY_CODE.match(text)
        if m:
            return await self.decide_code(who, channel, m.group(2), m.group(1).lower() in ("ya", "yes", "y"),
                                          markup=markup)
        d = _DECIDE_CODE.match(text) if self.decision_code is not None else None
        parsed = None if d else parse(text, set(COMMANDS))
        if parsed is None and d is None:
            return []
        command = parsed.command if parsed is not None else "registration.code"
        if not self.limiter.allow(who.key, now):  # strangers too: a flood must not flood the audit route
            log.warning("bot.rate_limited", identity=who.key, channel=channel, command=command)
            return [] if who.role is None else [Reply(self._msg(markup, "rate_limited"))]
        if who.role is None and parsed is not None and command in self.public:  # e.g. /daftar
            replies = await self.public[command](who, channel, parsed.args, markup)
            if replies is not None:
                return replies
        if who.role is None:
            log.warning("bot.refused", identity=who.key, channel=channel, command=command)
            await self._audit(who, channel, None, command, [], "refused", "unknown identity", now)
            return [] if self.config.unknown == "silent" else [Reply(self._msg(markup, "refused"))]
        if d is not None:
            return await self.decision_code(who, channel, d.group(2).upper(), d.group(1).lower() in
                                            ("setujui", "approve"), (d.group(3) or "").strip(), markup)
        assert parsed is not None
        cmd = COMMANDS.get(parsed.command)
        if cmd is None:
            return [Reply(self._msg(markup, "unknown", command=parsed.command))]
        args = parsed.args
        if not who.may(cmd.role):
            log.warning("bot.refused", identity=who.key, channel=channel, command=cmd.name, role=who.role,
                        needs=cmd.role)
            await self._audit(who, channel, parsed.router, cmd.name, cmd.masked(args), "denied",
                              f"needs {cmd.role}", now)
            return [Reply(self._msg(markup, "denied", command=cmd.name, needs=cmd.role))]
        router: RouterConfig | None = None
        if cmd.router:
            if parsed.router is not None:
                router = self.routers.get(parsed.router)
                if router is None:
                    return [Reply(self._msg(markup, "no_router", name=parsed.router, routers=list(self.routers)))]
            elif len(self.routers) == 1:
                router = next(iter(self.routers.values()))
            elif not self.routers:
                return [Reply(self._msg(markup, "no_router", name="", routers=[]))]
            else:
                return [Reply(self._msg(markup, "pick_router", text=text.strip(), routers=list(self.routers)))]
        if len(args) < cmd.min_args:
            return [Reply(self._msg(markup, "usage", command=cmd.name, usage=cmd.usage))]
        if cmd.manage and (router is None or router.manage is None):
            await self._audit(who, channel, router and router.name, cmd.name, cmd.masked(args), "not_enabled",
                              None, now)
            return [Reply(self._msg(markup, "not_enabled", router=router.name if router else ""))]
        if cmd.confirm:
            pending = self.store.add_pending(channel=channel, chat=who.chat, requester=who.key, command=cmd.name,
                                             router=router.name if router else "", args=args, role=cmd.role,
                                             now=now, timeout=self.config.confirm_timeout)
            await self._audit(who, channel, pending.router, cmd.name, cmd.masked(args), "pending",
                              f"confirmation {pending.id}", now)
            pages = self._msg(markup, "confirm", command=cmd.name, args=cmd.masked(args), router=pending.router,
                              code=pending.code, seconds=int(self.config.confirm_timeout), channel=channel)
            return [Reply(pages, buttons=[("Ya", f"cf:{pending.id}:y"), ("Batal", f"cf:{pending.id}:n")],
                          pending_id=pending.id)]
        return [await self._execute(who, channel, cmd, router, args, markup, now)]

    async def decide_code(self, who: Identity, channel: str, code: str, yes: bool, *,
                          markup: Literal["html", "text"] = "text") -> list[Reply]:
        pending = self.store.find_code(code, who.chat)
        if pending is None or who.role is None:
            if who.role is None:
                log.warning("bot.refused", identity=who.key, channel=channel, command="confirm")
                return [] if self.config.unknown == "silent" else [Reply(self._msg(markup, "refused"))]
            return [Reply(self._msg(markup, "no_pending", code=code))]
        return await self.decide(who, channel, pending.id, yes, markup=markup)

    async def decide(self, who: Identity, channel: str, pending_id: int, yes: bool, *,
                     markup: Literal["html", "text"] = "text") -> list[Reply]:
        """Ya/Batal on a pending confirmation: executes at most once, whoever presses and however often."""
        now = self.clock()
        pending = self.store.pending(pending_id)
        if pending is None:
            return [Reply(self._msg(markup, "no_pending", code=str(pending_id)))]
        cmd = COMMANDS[pending.command]
        if not who.may(pending.role) or who.chat != pending.chat:
            log.warning("bot.refused", identity=who.key, channel=channel, command=cmd.name, role=who.role,
                        needs=pending.role, confirmation=pending.id)
            if who.role is None and self.config.unknown == "silent":
                return []
            return [Reply(self._msg(markup, "denied", command=cmd.name, needs=pending.role))]
        outcome = self.store.claim(pending.id, decision="confirmed" if yes else "cancelled", by=who.key, now=now)
        edit = pending.message_id
        if outcome != "ok":
            log.info("bot.confirmation_stale", identity=who.key, confirmation=pending.id, state=outcome)
            return [Reply(self._msg(markup, "stale", state=outcome, command=cmd.name))]
        if not yes:
            await self._audit(who, channel, pending.router, cmd.name, cmd.masked(pending.args), "cancelled",
                              f"confirmation {pending.id}", now)
            return [Reply(self._msg(markup, "cancelled", command=cmd.name), edit=edit)]
        router = self.routers.get(pending.router)
        if router is None or router.manage is None:
            return [Reply(self._msg(markup, "not_enabled", router=pending.router), edit=edit)]
        reply = await self._execute(who, channel, cmd, router, pending.args, markup, now)
        reply.edit = edit
        return [reply]

    def pending(self, pending_id: int) -> Pending | None:
        return self.store.pending(pending_id)

    # -- execution -------------------------------------------------------------------------------

    async def _execute(self, who: Identity, channel: str, cmd: Command, router: RouterConfig | None,
                       args: list[str], markup: Literal["html", "text"], now: float) -> Reply:
        ctx = Ctx(router=router, args=args, now=now, state_path=self.state_path,
                  routers=list(self.routers.values()), store=self.store, probe=self.probe, identity=who.key)
        rname = router.name if router else None
        started = time.monotonic()
        try:
            data = await cmd.run(ctx)
        except RouterTrap as exc:
            return await self._failed(who, channel, cmd, rname, args, markup, now, "trap", str(exc))
        except RouterError as exc:
            return await self._failed(who, channel, cmd, rname, args, markup, now, "router_down", str(exc))
        except UsageError as exc:
            await self._audit(who, channel, rname, cmd.name, cmd.masked(args), "usage", str(exc), now)
            return Reply(self._msg(markup, "usage", command=cmd.name, usage=cmd.usage))
        except NotFound as exc:
            await self._audit(who, channel, rname, cmd.name, cmd.masked(args), "not_found", str(exc), now)
            return Reply(self._msg(markup, "not_found", name=str(exc), router=rname))
        finally:
            await ctx.aclose()
        if cmd.name == "menu":
            data = {"commands": [c for c in COMMANDS.values() if who.may(c.role)]}
        text = self.renderer(markup).render(cmd.name.replace(".", "_"), router=rname, args=args, **data)
        log.info("bot.command", identity=who.key, channel=channel, role=who.role, router=rname, command=cmd.name,
                 args=cmd.masked(args), result="ok", latency_ms=round((time.monotonic() - started) * 1000, 1))
        await self._audit(who, channel, rname, cmd.name, cmd.masked(args), "ok", None, now, logged=True)
        return Reply(paginate(text))

    async def _failed(self, who: Identity, channel: str, cmd: Command, router: str | None, args: list[str],
                      markup: Literal["html", "text"], now: float, kind: str, error: str) -> Reply:
        log.warning("bot.command", identity=who.key, channel=channel, role=who.role, router=router,
                    command=cmd.name, args=cmd.masked(args), result=kind, error=error)
        await self._audit(who, channel, router, cmd.name, cmd.masked(args), kind, error, now, logged=True)
        return Reply(self._msg(markup, kind, router=router, error=error))

    async def _audit(self, who: Identity, channel: str, router: str | None, command: str, args: list[str],
                     result: str, detail: str | None, now: float, *, logged: bool = False) -> None:
        self.store.audit(at=now, channel=channel, identity=who.key, role=who.role, router=router,
                         command=command, args=args, result=result, detail=detail)
        if not logged:
            log.info("bot.audit", identity=who.key, channel=channel, role=who.role, router=router,
                     command=command, args=args, result=result)
        if self.emit is not None:
            kind = "audit.refused" if result in ("refused", "denied") else "audit.command"
            await self.emit(Event(kind, Source(kind="bot", name=channel),
                                  {"identity": who.key, "channel": channel, "role": who.role, "router": router,
                                   "command": command, "args": args, "result": result, "detail": detail}))
