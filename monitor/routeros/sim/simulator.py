"""A RouterOS API simulator: a real TCP (optionally TLS) server speaking the binary API protocol.

It is a product feature (``pantau demo`` runs on it) and the peer of every RouterOS test. It serves
``/login``, ``print`` (``=.proplist=``, ``?`` queries with the documented ``?#`` stack, ``=count-only=``),
``listen`` (tagged or not; ``.dead=true`` on removals, never ``!done`` until ``/cancel``), ``/cancel``
(the cancelled command's ``!trap`` "interrupted", then ``/cancel``'s own ``!done``, then the
cancelled command's ``!done``, as the API docs show), ``add``/``set``/``remove``, ``.tag`` on every
reply and ``!empty`` before ``!done`` on empty prints only when ``version`` is 7.18 or newer, on the
menus in ``MENUS``. Words are encoded with ``encoding`` (a router whose names were typed in Winbox
holds cp1252 bytes); ``ssl_context=anonymous_server_context()`` (sim/tls.py) is api-ssl without a
certificate.

Script it from Python (all methods are synchronous and must run in the simulator's event loop)::

    sim = RouterSimulator(username="pantau", password="secret")
    await sim.start()                       # sim.port is a free port on 127.0.0.1
    sim.add_hotspot_user("0123", comment="Kamar 3 — Budi 08123456789")
    sim.hotspot_login("0123", "10.5.50.10", "AA:BB:CC:00:00:01")
    sim.set_fault("drop")                   # drop | hang | delay | trap | fatal | refuse
    sim.clear_fault()
    sim.reboot()
    await sim.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

import structlog

import monitor.routeros.sim.extra as extra

from ..wire import UTF8, Codec, WireError, encode_sentence, read_sentence, split_attribute
from .login import LoginAuthority
from .menus import Menu, apply_proplist, format_routeros_duration
from .ping import PingTargets, run_ping, validate_ping
from .scripting import SimulatorScripting

log = structlog.get_logger("pantau.routeros.simulator")

MENUS = ("/ip/hotspot/active", "/ip/hotspot/user", "/ppp/active", "/ppp/secret", "/system/identity",
         "/system/resource", "/tool/netwatch", "/interface", "/system/health", *extra.EXTRA_MENUS)
SESSION_MENUS = ("/ip/hotspot/active", "/ppp/active")
FAULTS = ("drop", "hang", "delay", "trap", "fatal", "refuse")


UNTAGGED = ""  # the key of an untagged listen in _Conn.listens (its replies carry no .tag)


def tag_words(tag: str) -> list[str]:
    return [] if tag == UNTAGGED else [f".tag={tag}"]


def version_tuple(version: str) -> tuple[int, ...]:
    """``"7.18.2 (stable)"`` → (7, 18, 2)."""
    head = version.split()[0] if version.strip() else "0"
    return tuple(int(part) for part in head.split(".") if part.isdigit())


@dataclass(eq=False)
class _Conn:
    writer: asyncio.StreamWriter
    logged_in: bool = False
    challenge: str | None = None  # pre-6.43 login: the challenge this connection was given
    may_write: bool = True
    listens: dict[str, tuple[str, list[str] | None]] = field(default_factory=dict)  # tag → (menu, proplist)
    codec: Codec = UTF8
    commands: dict[str, asyncio.Task] = field(default_factory=dict)  # tag → running streamed command (/ping)

    def close(self) -> None:
        for task in self.commands.values():
            task.cancel()
        self.commands.clear()
        self.writer.close()

    def send(self, *sentences: list[str]) -> None:
        if not self.writer.is_closing():
            self.writer.write(b"".join(encode_sentence(s, self.codec) for s in sentences))


class RouterSimulator(SimulatorScripting, extra.ScriptingExtras):
    """A scripted RouterOS router. See the module docstring for the scripting API."""

    def __init__(self, *, username: str = "pantau", password: str = "pantau", identity: str = "MikroTik",
                 host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None,
                 empty_reply: bool | None = None, version: str = "7.18.2 (stable)", uptime: float = 0.0,
                 encoding: str = "utf-8"):
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.version = version
        # RouterOS 7.18+ sends !empty for an empty print; older versions only !done
        self.empty_reply = version_tuple(version) >= (7, 18) if empty_reply is None else empty_reply
        self.encoding = encoding
        self.fault: str | None = None
        self.fault_delay = 0.0
        self.fault_menu: str | None = None
        self.connections_accepted = 0
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task] = set()
        self._handlers: set[asyncio.Task] = set()  # one per accepted connection
        self._booted = time.monotonic() - uptime  # /system/resource uptime; reboot() restarts it at 0
        self.logins = LoginAuthority(username, password, legacy=version_tuple(version) < (6, 43))
        self.pings = PingTargets()  # which addresses answer this router's /ping
        self.resource: dict[str, str] = {}  # overrides of /system/resource (cpu-load, free-memory...)
        self.health: dict[str, str] = {}  # /system/health sensors, e.g. {"temperature": "41", "voltage": "24.1"}
        self.users: dict[str, tuple[str, bool]] = {}  # more API users: name → (password, may write)
        self.logins.others = self.users
        self.menus = {path: Menu(path, self._changed, singleton=path.startswith("/system/") or path in extra.SINGLETONS)
                      for path in MENUS}
        self.menus["/ip/dns"].add({"servers": "", "dynamic-servers": "", "allow-remote-requests": "false",
                                   "cache-size": "2048KiB", "cache-used": "0KiB"})
        self.traffic: dict[str, tuple[int, int]] = {}  # interface → (rx, tx) bits/s for monitor-traffic
        self.menus["/system/identity"].add({"name": identity})
        self.menus["/system/resource"].add({})

    @property
    def username(self) -> str:
        return self.logins.username

    @property
    def password(self) -> str:
        return self.logins.password

    @password.setter
    def password(self, value: str) -> None:
        self.logins.password = value

    # -- server lifecycle ------------------------------------------------------------------------

    async def start(self) -> RouterSimulator:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("simulator_started", host=self.host, port=self.port, tls=self.ssl_context is not None)
        return self

    async def stop(self) -> None:
        await self._stop_listening()
        self.drop_connections()
        handlers = [t for t in self._handlers if not t.done()]
        if handlers:  # let each connection's handler see its closed socket and end (no cancelled leftovers)
            await asyncio.wait(handlers, timeout=1.0)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RouterSimulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- faults ----------------------------------------------------------------------------------

    def set_fault(self, kind: str | None, *, delay: float = 0.0, menu: str | None = None) -> None:
        """Inject a fault until ``clear_fault()``.

        ``drop``: close every connection, and close new ones right after accept. ``hang``: accept,
        but never answer anything (listen pushes stop too). ``delay``: wait ``delay`` seconds
        before each reply. ``trap``: ``!trap`` "not enough permissions (9)" on print/listen of
        ``menu`` (all menus when None). ``fatal``: answer every command with ``!fatal`` and close.
        ``refuse``: stop listening (connects are refused) and close every connection.
        """
        if kind is not None and kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULTS)}")
        was = self.fault
        self.fault, self.fault_delay, self.fault_menu = kind, delay, menu
        log.info("simulator_fault", fault=kind, menu=menu, delay=delay)
        if kind in ("drop", "refuse"):
            self.drop_connections()
        if kind == "refuse":
            self._spawn(self._stop_listening())
        elif was == "refuse" and self._server is None:
            self._spawn(self.start())

    def clear_fault(self) -> None:
        self.set_fault(None)

    def drop_connections(self) -> None:
        """Close every open API connection once (a momentary link cut)."""
        for conn in list(self._conns):
            conn.close()
        self._conns.clear()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- scripting API ---------------------------------------------------------------------------

    def reboot(self) -> None:
        """Reboot: every connection drops, active sessions vanish, ``.id`` numbering restarts."""
        self.drop_connections()
        for path in SESSION_MENUS:
            self.menus[path].reset_ids()
        for item in self.menus["/interface"].items.values():  # counters start again at 0
            item.update({"rx-byte": "0", "tx-byte": "0", "link-downs": "0"})
        self._booted = time.monotonic()

    # -- protocol --------------------------------------------------------------------------------

    def _changed(self, menu: Menu, item_id: str, row: dict[str, str] | None) -> None:
        if self.fault == "hang":
            return
        for conn in self._conns:
            for tag, (path, proplist) in conn.listens.items():
                if path != menu.path:
                    continue
                if row is None:
                    conn.send(["!re", f"=.id={item_id}", "=.dead=yes", *tag_words(tag)])  # as the API page shows
                else:
                    out = apply_proplist(row, proplist)
                    if ".id" in row:
                        out = {".id": item_id, **out}
                    conn.send(["!re", *(f"={k}={v}" for k, v in out.items()), *tag_words(tag)])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        if self.fault in ("drop", "refuse"):
            writer.close()
            return
        conn = _Conn(writer, codec=Codec(self.encoding))
        self._conns.add(conn)
        try:
            while True:
                words = await read_sentence(reader, conn.codec)
                if self.fault == "hang":
                    continue
                if self.fault == "delay" and self.fault_delay > 0:
                    await asyncio.sleep(self.fault_delay)
                if self.fault == "fatal":
                    conn.send(["!fatal", "session terminated on request"])
                    break
                if not self._dispatch(conn, words):
                    break
                await writer.drain()
        except (WireError, ConnectionError, OSError):
            pass
        finally:
            self._conns.discard(conn)
            conn.close()

    def _dispatch(self, conn: _Conn, words: list[str]) -> bool:
        """Answer one sentence. Returns False when the connection must close."""
        cmd = words[0]
        attrs: dict[str, str] = {}
        queries: list[str] = []
        tag: str | None = None
        for word in words[1:]:
            if word.startswith("="):
                k, v = split_attribute(word)
                attrs[k] = v
            elif word.startswith(".tag="):
                tag = word[5:]
            elif word.startswith("?"):
                queries.append(word)
        t = [f".tag={tag}"] if tag is not None else []

        def trap(message: str, category: int | None = None) -> None:
            cat = [f"=category={category}"] if category is not None else []
            conn.send(["!trap", *cat, f"=message={message}", *t], ["!done", *t])

        if cmd == "/login":
            outcome, conn.challenge = self.logins.login(attrs, conn.challenge)
            conn.logged_in = conn.logged_in or outcome.logged_in
            if outcome.logged_in:  # the read-only users of extra.add_user(write=False) may not write
                other = self.users.get(outcome.user or "")
                conn.may_write = other[1] if other is not None and outcome.user != self.username else True
            if outcome.close:
                log.info("simulator_login_failed", user=attrs.get("name"))
                conn.send([*outcome.reply, *t], ["!done", *t])
                return False
            conn.send([*outcome.reply, *t])
            return True
        if not conn.logged_in:
            trap("not logged in")
            return True
        if cmd == "/quit":
            conn.send(["!fatal", "session terminated on request"])
            return False
        if cmd == "/cancel":
            # the documented order: each cancelled command's !trap "interrupted", /cancel's !done, their !done
            targets = [attrs["tag"]] if "tag" in attrs else [*conn.listens, *conn.commands]
            cancelled = []
            for target in targets:
                task = conn.commands.pop(target, None)
                if task is not None:
                    task.cancel()
                if conn.listens.pop(target, None) is not None or task is not None:
                    cancelled.append(target)
            for target in cancelled:
                conn.send(["!trap", "=category=2", "=message=interrupted", *tag_words(target)])
            conn.send(["!done", *t])
            for target in cancelled:
                conn.send(["!done", *tag_words(target)])
            return True
        if cmd == "/ping":
            if self.fault == "trap" and self.fault_menu in (None, "/ping"):  # e.g. a user without the test policy
                trap("not enough permissions (9)")
            else:
                self._ping(conn, attrs, tag, t, trap)
            return True
        if cmd in extra.SPECIAL_COMMANDS:  # one-shot commands outside the menus (extra.py)
            extra.special_command(self, conn, cmd, attrs, tag, t, trap)
            return True
        path, _, verb = cmd.rpartition("/")
        menu = self.menus.get(path)
        extra.normalize_booleans(attrs)
        if menu is None:
            trap("no such command prefix")
            return True
        if verb in ("print", "getall", "listen") and self.fault == "trap" and self.fault_menu in (None, path):
            trap("not enough permissions (9)", category=None)
            return True
        if verb in ("add", "set", "remove") and not conn.may_write:
            trap("not enough permissions (9)")
            return True
        proplist = [p for p in attrs.get(".proplist", "").split(",") if p] or None
        if verb in ("print", "getall"):
            self._print(conn, menu, proplist, queries, attrs, t)
        elif verb == "listen":
            conn.listens[UNTAGGED if tag is None else tag] = (path, proplist)
        elif verb in ("add", "set") and (refused := extra.bad_parameter(path, attrs, self.version)):
            trap(refused)
        elif verb == "add" and not menu.singleton and (refused := extra.add_refused(menu, attrs)):
            trap(refused)
        elif verb == "add" and not menu.singleton:
            conn.send(["!done", f"=ret={menu.add(attrs)}", *t])
        elif verb in ("set", "remove"):
            ids = [i for i in (attrs.pop(".id", None) or attrs.pop("numbers", "")).split(",") if i]
            ids = [i if i in menu.items else (menu.find(name=i) or i) for i in ids]  # a name works as .id too
            if menu.path == "/interface" and "disabled" in attrs:  # a disabled interface is not running
                attrs["running"] = "false" if attrs["disabled"] in ("yes", "true") else "true"
            if menu.singleton:
                ids = list(menu.items)
            missing = [i for i in ids if i not in menu.items]
            if missing or not ids:
                trap("no such item")
                return True
            for item_id in ids:
                menu.set(item_id, attrs) if verb == "set" else menu.remove(item_id)
            conn.send(["!done", *t])
        else:
            trap("no such command")
        return True

    def _print(self, conn: _Conn, menu: Menu, proplist: list[str] | None, queries: list[str],
               attrs: dict[str, str], t: list[str]) -> None:
        if menu.path == "/system/resource":
            rows = [{"uptime": format_routeros_duration(time.monotonic() - self._booted),
                     "version": self.version, "board-name": "CHR", "architecture-name": "x86_64",
                     "cpu-load": "1", "free-memory": "912261120", "total-memory": "1073741824",
                     **self.resource}]
        elif menu.path == "/system/health":  # v6: one row of sensors; v7: one row per sensor
            rows = [dict(self.health)] if self.version.startswith("6") and self.health else \
                [{".id": f"*{i + 1:X}", "name": k, "value": v} for i, (k, v) in enumerate(self.health.items())]
        else:
            rows = menu.rows(queries)
        if "count-only" in attrs:
            conn.send(["!done", f"=ret={len(rows)}", *t])
            return
        out = [["!re", *(f"={k}={v}" for k, v in apply_proplist(row, proplist).items()), *t] for row in rows]
        if not rows and self.empty_reply:
            out.append(["!empty", *t])
        out.append(["!done", *t])
        conn.send(*out)

    def _ping(self, conn: _Conn, attrs: dict[str, str], tag: str | None, t: list[str], trap) -> None:
        problem = validate_ping(attrs)
        if problem is not None:
            trap(problem)
            return
        key = tag if tag is not None else UNTAGGED
        task = asyncio.get_running_loop().create_task(
            run_ping(self.pings, attrs, conn.send, t, v6=self.version.startswith("6")))
        conn.commands[key] = task
        task.add_done_callback(lambda _t: conn.commands.pop(key, None) if conn.commands.get(key) is _t else None)
