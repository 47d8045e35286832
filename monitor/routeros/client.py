"""A small asyncio RouterOS API client over our own wire module (see wire.py for why not librouteros).

One connection multiplexes any number of commands by ``.tag``: a background reader routes each
reply sentence to the command that owns the tag. ``print`` collects rows until ``!done``; ``listen``
yields rows until cancelled. Every failure is translated into ``RouterError`` (kind: ``refused``,
``timeout``, ``login``, ``fatal``, ``broken``, ``tls``) or ``RouterTrap``. Values are always ``str``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import re
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from ..errors import RouterError, RouterTrap
from .pacing import Slicer
from .wire import UTF8, Codec, SentenceReader, WireError, encode_sentence, sentence_to_reply

if TYPE_CHECKING:
    from .config import RouterConfig

_CLOSED = object()

#: The RouterOS versions pantau is built and tested for (see docs/routeros.md).
SUPPORTED_FROM = (6, 40)
SUPPORTED_BELOW = (8, 0)
_VERSION = re.compile(r"^(\d+)\.(\d+)")
_CATEGORY = re.compile(r"\((\d+)\)\s*$")


class RouterClient:
    """A logged-in API connection. Create with ``await RouterClient.connect(...)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, timeout: float,
                 codec: Codec = UTF8):
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self._codec = codec
        self._tags = itertools.count(1)
        self._queues: dict[str, asyncio.Queue] = {}
        self._error: RouterError | None = None
        self.login_method = "password"  # or "challenge" (pre-6.43)
        self.resource_row: dict[str, str] = {}  # /system/resource at connect: version, uptime, board-name
        self._reader_task = asyncio.create_task(self._read_loop())

    @classmethod
    async def for_router(cls, config: RouterConfig, *, username: str | None = None,
                         password: str | None = None) -> RouterClient:
        """Connect to a configured router with its TLS, timeout and encoding (``username`` and
        ``password`` override the read-only user, e.g. for the manage user)."""
        return await cls.connect(config.address, int(config.port or 8728), username or config.username,
                                 password if password is not None else config.password.get_secret_value(),
                                 ssl_context=config.ssl_context(), timeout=config.timeout,
                                 encoding=config.encoding)

    @classmethod
    async def connect(cls, host: str, port: int, username: str, password: str, *,
                      ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0,
                      check_version: bool = True, encoding: str = "utf-8") -> RouterClient:
        """Open a connection, log in (either way) and check the RouterOS version. Raises RouterError
        on any failure (kind ``login`` for a refused login, ``version`` for an unsupported router)."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives as the inner call completes, and a watcher would then never stop.
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context,
                                                               server_hostname=host if ssl_context else None)
        except TimeoutError:
            raise RouterError(f"connect to {host}:{port} timed out after {timeout:g}s", kind="timeout") from None
        except ConnectionRefusedError:
            raise RouterError(f"connection to {host}:{port} refused", kind="refused") from None
        except ssl.SSLError as exc:
            raise RouterError(f"TLS handshake with {host}:{port} failed: {tls_reason(exc)}", kind="tls") from None
        except OSError as exc:
            if ssl_context is not None and isinstance(exc, ConnectionResetError | ConnectionAbortedError):
                raise RouterError(f"TLS handshake with {host}:{port} failed: the router closed the connection "
                                  f"({exc.strerror or exc}). {ANONYMOUS_HINT}", kind="tls") from None
            raise RouterError(f"cannot connect to {host}:{port}: {exc.strerror or exc}", kind="refused") from None
        client = cls(reader, writer, timeout=timeout, codec=Codec(encoding))
        try:
            await client._login(username, password)
            if check_version:
                await client._check_version()
        except BaseException:
            await client.close()
            raise
        return client

    async def _login(self, username: str, password: str) -> None:
        """Post-6.43 login first; a router that answers with a ``=ret=`` challenge (before 6.43) gets
        the MD5 challenge response instead (as go-routeros, node-routeros and MKTXP do)."""
        try:
            rows = await self.command("/login", {"name": username, "password": password})
            challenge = rows[-1].get("ret") if rows else None
            if challenge:
                self.login_method = "challenge"
                try:
                    raw = bytes.fromhex(challenge)
                except ValueError:
                    raise RouterError(f"login as {username!r} failed: the router sent a malformed "
                                      f"challenge", kind="login") from None
                digest = hashlib.md5(b"\x00" + password.encode("utf-8") + raw).hexdigest()
                await self.command("/login", {"name": username, "response": "00" + digest})
        except RouterTrap as exc:
            raise RouterError(f"login as {username!r} failed: {exc}", kind="login") from None

    async def _check_version(self) -> None:
        """Read ``/system/resource`` once: the version decides what pantau may expect, and a router
        outside the supported range is refused with a clear reason instead of odd errors later."""
        try:
            rows = await self.print("/system/resource", proplist=["version", "uptime", "board-name"])
        except RouterTrap:
            return  # no permission to read it: version unknown, carry on
        self.resource_row = rows[0] if rows else {}
        version = self.resource_row.get("version", "")
        problem = version_problem(version)
        if problem:
            raise RouterError(problem, kind="version")

    # -- low level -------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        sentences = SentenceReader(self._reader, self._codec)
        slicer = Slicer()  # a burst of 1,000 buffered sentences is parsed in slices: other routers run between
        try:
            while True:
                await slicer.tick()
                words = await sentences.read()
                reply, attrs, tag = sentence_to_reply(words)
                if reply == "!fatal":
                    message = attrs.get("message") or (words[1] if len(words) > 1 else "fatal")
                    self._fail(RouterError(f"router sent !fatal: {message}", kind="fatal"))
                    return
                queue = self._queues.get(tag or "")
                if queue is not None:
                    queue.put_nowait((reply, attrs))
        except WireError as exc:
            self._fail(RouterError(f"API stream broken: {exc}", kind="broken"))
        except (OSError, ssl.SSLError) as exc:
            self._fail(RouterError(f"API stream broken: {exc}", kind="broken"))

    def _fail(self, error: RouterError) -> None:
        if self._error is None:
            self._error = error
        for queue in self._queues.values():
            queue.put_nowait(_CLOSED)
        self._writer.close()

    def _send(self, words: list[str]) -> None:
        if self._error is not None:
            raise self._error
        self._writer.write(encode_sentence(words, self._codec))

    def _open(self) -> tuple[str, asyncio.Queue]:
        tag = str(next(self._tags))
        queue: asyncio.Queue = asyncio.Queue()
        self._queues[tag] = queue
        return tag, queue

    async def _next(self, queue: asyncio.Queue, timeout: float | None) -> tuple[str, dict[str, str]]:
        if not queue.empty():  # already here (the rows of a print arrive many per read): no timer
            item = queue.get_nowait()
        elif self._error is not None:
            raise self._error
        else:
            try:
                async with asyncio.timeout(timeout):  # not wait_for: see connect()
                    item = await queue.get()
            except TimeoutError:
                err = RouterError(f"no reply within {timeout:g}s (hung connection)", kind="timeout")
                self._fail(err)
                raise err from None
        if item is _CLOSED:
            assert self._error is not None
            raise self._error
        return item

    # -- commands --------------------------------------------------------------------------------

    async def command(self, cmd: str, attrs: dict[str, str] | None = None,
                      queries: Iterable[str] = (), *, reply_timeout: float | None = None) -> list[dict[str, str]]:
        """Run one command; return the ``!re`` rows, then the ``!done`` attributes (e.g. ``ret``) if any.

        ``reply_timeout`` (default ``timeout``) is the longest wait for each next reply: a streamed
        command such as ``/ping`` legitimately pauses between rows."""
        rows, done = await self._run(cmd, attrs, queries, reply_timeout)
        return rows + [done] if done else rows

    async def _run(self, cmd: str, attrs: dict[str, str] | None, queries: Iterable[str],
                   reply_timeout: float | None = None) -> tuple[list[dict[str, str]], dict[str, str]]:
        tag, queue = self._open()
        words = [cmd, *(f"={k}={v}" for k, v in (attrs or {}).items()), *queries, f".tag={tag}"]
        try:
            self._send(words)
            rows: list[dict[str, str]] = []
            trap: dict[str, str] | None = None
            while True:
                reply, data = await self._next(queue, reply_timeout or self.timeout)
                if reply == "!re":
                    rows.append(data)
                elif reply == "!trap":
                    trap = trap or data
                elif reply == "!done":
                    done = data
                    break
            if trap is not None:
                raise _trap(cmd, trap)
            return rows, done
        finally:
            self._queues.pop(tag, None)

    async def print(self, path: str, *, proplist: Iterable[str] | None = None,
                    queries: Iterable[str] = ()) -> list[dict[str, str]]:
        """``<path>/print``; ``proplist`` limits the returned properties; ``queries`` are ``?`` words."""
        attrs = {".proplist": ",".join(proplist)} if proplist else {}
        rows, _ = await self._run(f"{path}/print", attrs, queries)
        return rows

    async def listen(self, path: str, *, proplist: Iterable[str] | None = None) -> AsyncIterator[dict[str, str]]:
        """``<path>/listen``: yield every changed row (``.dead`` set on removals) until the caller stops.

        Leaving the iteration sends ``/cancel`` for the tag. Silence is not an error here; use
        ``print`` on the same connection as a heartbeat to detect a hung router.
        """
        tag, queue = self._open()
        attrs = [f"=.proplist={','.join(proplist)}"] if proplist else []
        try:
            self._send([f"{path}/listen", *attrs, f".tag={tag}"])
            while True:
                reply, data = await self._next(queue, None)
                if reply == "!re":
                    yield data
                elif reply == "!trap":
                    raise _trap(f"{path}/listen", data)
                elif reply == "!done":
                    raise RouterError(f"{path}/listen ended unexpectedly", kind="broken")
        finally:
            self._queues.pop(tag, None)
            if self._error is None:
                with contextlib.suppress(RouterError, OSError):
                    self._send(["/cancel", f"=tag={tag}"])

    @property
    def closed(self) -> bool:
        return self._error is not None

    async def close(self) -> None:
        if self._error is None:
            self._error = RouterError("connection closed", kind="closed")
        for queue in self._queues.values():
            queue.put_nowait(_CLOSED)
        self._reader_task.cancel()
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        with contextlib.suppress(BaseException):
            await self._reader_task


ANONYMOUS_HINT = ("A router whose api-ssl service has no certificate (the RouterOS default) only speaks "
                  "anonymous DH: set tls: {verify: false, anonymous: true}, or give the service a "
                  "certificate (/ip service set api-ssl certificate=...)")


def tls_reason(exc: ssl.SSLError) -> str:
    """Which TLS check failed, in words an operator can act on."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or "certificate not accepted"
        hints = {"certificate has expired": "the router's certificate has expired (renew it on the router)",
                 "Hostname mismatch": "the certificate was made for another name "
                                      "(make it for the address pantau connects to, or set tls.verify: false)",
                 "IP address mismatch": "the certificate was made for another address "
                                        "(make it for the address pantau connects to, or set tls.verify: false)",
                 "self-signed certificate": "the certificate is self-signed: give its CA as tls.ca",
                 "unable to get local issuer certificate": "unknown CA: give the CA that signed the router's "
                                                           "certificate as tls.ca"}
        for key, hint in hints.items():
            if key.lower() in why.lower():
                return f"{why}: {hint}"
        return why
    reason = exc.reason or str(exc)
    if reason in ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE",
                  "SSLV3_ALERT_INSUFFICIENT_SECURITY", "TLSV1_ALERT_INSUFFICIENT_SECURITY"):
        return f"{reason}: no cipher in common. {ANONYMOUS_HINT}"
    return reason


def version_problem(version: str) -> str | None:
    """Why pantau refuses a router of this version ("too old"/"too new"), or None when supported."""
    m = _VERSION.match(version.strip())
    if not m:
        return None  # unknown format: do not lock anybody out over a string
    found = (int(m.group(1)), int(m.group(2)))
    supported = f"pantau supports RouterOS {SUPPORTED_FROM[0]}.{SUPPORTED_FROM[1]} to {SUPPORTED_BELOW[0] - 1}.x"
    if found < SUPPORTED_FROM:
        return f"router too old: RouterOS {version.strip()}; {supported}"
    if found >= SUPPORTED_BELOW:
        return f"router too new: RouterOS {version.strip()}; {supported}"
    return None


def _trap(cmd: str, data: dict[str, str]) -> RouterTrap:
    message = data.get("message", "trap")
    category = data.get("category")
    if category is None:
        m = _CATEGORY.search(message)
        category = m.group(1) if m else None
    return RouterTrap(f"{cmd}: {message}", category=int(category) if category and category.isdigit() else None)
