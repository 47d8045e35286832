"""One bot command: its name, role, how it runs against a router, and the context it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PantauError
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig


class UsageError(PantauError):
    """The arguments do not fit the command; the reply shows its usage."""


class NotFound(PantauError):
    """The named user/secret/interface does not exist on the router."""


@dataclass
class Ctx:
    """What a command's ``run`` gets: the router, its arguments, connections on demand."""

    router: RouterConfig | None
    args: list[str]
    now: float
    state_path: str = ""
    routers: list[RouterConfig] = field(default_factory=list)
    store: Any = None  # monitor.bot.store.BotStore
    probe: Any = None  # pantau's own ICMP probe (monitor.hosts.probe.Probe) when it runs one
    identity: str = ""  # who asked (``tg:…``, ``wa:…``, ``ctl``), e.g. recorded as a window's author
    _clients: list[RouterClient] = field(default_factory=list)

    async def read(self) -> RouterClient:
        """A connection as the router's read-only user."""
        assert self.router is not None
        r = self.router
        return await self._open(r.username, r.password.get_secret_value())

    async def manage(self) -> RouterClient:
        """A connection as the router's write-capable ``manage:`` user."""
        assert self.router is not None and self.router.manage is not None
        m = self.router.manage
        return await self._open(m.username, m.password.get_secret_value())

    async def _open(self, username: str, password: str) -> RouterClient:
        assert self.router is not None
        # for_router: the router's TLS, timeout and encoding (a cp1252 router's names stay readable)
        client = await RouterClient.for_router(self.router, username=username, password=password)
        self._clients.append(client)
        return client

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()
        self._clients.clear()

    def arg(self, index: int, default: str | None = None) -> str | None:
        return self.args[index] if len(self.args) > index else default


Run = Callable[[Ctx], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    """``run`` returns the template context; the template is ``templates/{lang}.{name}.j2``."""

    name: str
    role: str  # viewer | operator | admin
    run: Run
    usage: str = ""
    min_args: int = 0
    router: bool = True  # runs against one router (False: /menu, /monitor)
    confirm: bool = False  # asks Ya/Batal first
    manage: bool = False  # needs the router's manage: credentials
    secret_args: tuple[int, ...] = ()  # argument positions masked in audit and logs
    summary: dict[str, str] = field(default_factory=dict)  # language → one line for /menu

    def masked(self, args: list[str]) -> list[str]:
        return ["***" if i in self.secret_args else a for i, a in enumerate(args)]


async def one(client: RouterClient, path: str, **match: str) -> dict[str, str]:
    """The single row of ``path`` matching ``match`` (``?name=x``), or NotFound."""
    rows = await client.print(path, queries=[f"?{k.replace('_', '-')}={v}" for k, v in match.items()])
    if not rows:
        raise NotFound(" ".join(match.values()))
    return rows[0]


def is_true(value: str | None) -> bool:
    return str(value).lower() in ("true", "yes")
