"""Conformance: the exchanges of the official RouterOS "API" page, replayed against the simulator
(router side) and against pantau's client (client side, with a scripted peer sending the documented
replies). Attribute order is not significant per the page, so rows compare as sets of words;
``yes``/``no`` (v6, the page) and ``true``/``false`` (v7) are the same boolean."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from routeros_helpers import PASSWORD, RawApi

from monitor.errors import RouterTrap
from monitor.routeros.client import RouterClient
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.wire import encode_sentence, read_sentence

_BOOL = {"=yes": "=true", "=no": "=false"}


def norm(sentence: list[str]) -> tuple[str, frozenset[str]]:
    words = []
    for w in sentence[1:]:
        for old, new in _BOOL.items():
            if w.endswith(old) and w.count("=") == 2:
                w = w[: -len(old)] + new
        words.append(w)
    return sentence[0], frozenset(words)


# -- router side: the simulator ----------------------------------------------------------------------

async def test_documented_old_login_exchange_byte_for_byte() -> None:
    """The page's example output: /login → !done =ret=93b4…; /login =name=admin =response=00e1… → !done."""
    sim = await RouterSimulator(username="admin", password="", version="6.42.12").start()
    sim.logins.fixed_challenge = "93b438ec9b80057c06dd9fe67d56aa9a"
    api = await RawApi.open(sim.port, login=False)
    try:
        api.send("/login")
        assert await api.read() == ["!done", "=ret=93b438ec9b80057c06dd9fe67d56aa9a"]
        api.send("/login", "=name=admin", "=response=00e134102a9d330dd7b1849fedfea3cb57")
        assert await api.read() == ["!done"]
    finally:
        api.close()
        await sim.stop()


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD, version="6.49.10 (long-term)")
    for name, kind in (("ether1", "ether"), ("ether2", "ether"), ("vlan10", "vlan"), ("bridge1", "bridge")):
        simulator.add_interface(name, type=kind)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_documented_cancel_and_simultaneous_commands(sim: RouterSimulator) -> None:
    """"/cancel, simultaneous commands": listen (tag 2), set disabled by name (3, 4), getall (5),
    /cancel =tag=2 (7) → !trap interrupted (2), !done (7), !done (2)."""
    api = await RawApi.open(sim.port)
    try:
        api.send("/interface/listen", ".tag=2")
        api.send("/interface/set", "=disabled=yes", "=.id=ether1", ".tag=3")
        first = [await api.read(), await api.read()]
        assert ["!done", ".tag=3"] in first
        update = next(s for s in first if s[0] == "!re")
        assert {"=disabled=true", "=running=false", "=name=ether1", ".tag=2"} <= norm(update)[1]
        api.send("/interface/set", "=disabled=no", "=.id=ether1", ".tag=4")
        second = [await api.read(), await api.read()]
        assert ["!done", ".tag=4"] in second
        assert {"=disabled=false", "=running=true", ".tag=2"} <= norm(next(s for s in second if s[0] == "!re"))[1]
        api.send("/interface/getall", ".tag=5")
        rows = await api.read_until_done("5")
        assert [norm(r)[0] for r in rows] == ["!re"] * 4 + ["!done"]
        assert all("=.id=" in " ".join(r) for r in rows[:-1])  # getall replies carry .id
        api.send("/cancel", "=tag=2", ".tag=7")
        assert [await api.read() for _ in range(3)] == [
            ["!trap", "=category=2", "=message=interrupted", ".tag=2"], ["!done", ".tag=7"], ["!done", ".tag=2"]]
    finally:
        api.close()


@pytest.mark.parametrize(("queries", "names"), [
    (["?type=ether", "?type=vlan", "?#|"], ["ether1", "ether2", "vlan10"]),  # the page's example
    (["?type=ether", "?type=vlan", "?#|!"], ["bridge1"]),  # the page's sentence example
    (["?>name=ether1", "?type=ether", "?#&!"], ["ether1", "vlan10", "bridge1"]),  # like the route example
    (["?type=ether", "?type=vlan", "?#1|"], ["ether1", "ether2"]),  # index 1 = one below the top (ether)
    (["?type=ether", "?type=vlan", "?#1"], ["ether1", "ether2"]),  # index at the end: replaces the stack
    (["?type=vlan", "?#0!"], []),  # copy of the top, negated: a and not a
    (["?type=ether", "?#.!"], []),  # '.' after an operation start duplicates the top
    (["?type=ether", "?#0.!"], []),  # '.' after an index does nothing: copy(top) then not
    (["?#|"], ["ether1", "ether2", "vlan10", "bridge1"]),  # the stack starts with infinitely many true
])
async def test_documented_query_semantics(sim: RouterSimulator, queries: list[str], names: list[str]) -> None:
    api = await RawApi.open(sim.port)
    try:
        api.send("/interface/print", "=.proplist=name", *queries)
        rows = await api.read_until_done()
        assert [r[1] for r in rows if r[0] == "!re"] == [f"=name={n}" for n in names]
    finally:
        api.close()


async def test_documented_oid_style_proplist_and_untagged_listen(sim: RouterSimulator) -> None:
    """/system/resource/print =.proplist=uptime,cpu-load → one !re with just those, !done; an untagged
    listen (the /user/active/listen example) gets untagged rows and =.dead=yes."""
    api = await RawApi.open(sim.port)
    try:
        api.send("/system/resource/print", "=.proplist=uptime,cpu-load")
        rows = await api.read_until_done()
        assert [r[0] for r in rows] == ["!re", "!done"]
        assert {w.split("=")[1] for w in rows[0][1:]} == {"uptime", "cpu-load"}
        api.send("/ppp/active/listen")
        api.send("/system/identity/print", ".tag=sync")  # sentences run in order: the listen is set up
        await api.read_until_done("sync")
        item = sim.ppp_connect("p1", caller_id="AA:00:00:00:00:01", address="10.0.0.1")
        added = await api.read()
        assert added[0] == "!re" and not any(w.startswith(".tag=") for w in added)
        sim.ppp_disconnect("p1")
        assert await api.read() == ["!re", f"=.id={item}", "=.dead=yes"]
    finally:
        api.close()


async def test_documented_trap_has_category_and_message(sim: RouterSimulator) -> None:
    api = await RawApi.open(sim.port)
    try:
        api.send("/interface/set", "=.id=asdf", "=mtu=1500")
        trap = await api.read()
        assert trap[0] == "!trap" and any(w.startswith("=message=") for w in trap)
        assert await api.read() == ["!done"]
    finally:
        api.close()


# -- client side: a scripted peer sending the documented replies -------------------------------------

class ScriptedRouter:
    """Answers each received sentence with the next scripted replies; records what the client sent."""

    def __init__(self, script: list[list[list[str]]]):
        self.script = list(script)
        self.received: list[list[str]] = []
        self.port = 0

    async def __aenter__(self) -> ScriptedRouter:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self.script:
                words = await read_sentence(reader)
                self.received.append(words)
                tag = next((w[5:] for w in words if w.startswith(".tag=")), None)
                for reply in self.script.pop(0):
                    writer.write(encode_sentence([w.replace("{tag}", tag or "") for w in reply]))
                await writer.drain()
            await reader.read()  # keep the connection until the client closes it
        except Exception:
            pass
        finally:
            writer.close()


async def test_client_speaks_the_documented_old_login() -> None:
    """Against a router that answers the password login with the page's challenge, pantau sends the
    page's exact response for admin with an empty password."""
    script = [[["!done", "=ret=93b438ec9b80057c06dd9fe67d56aa9a", ".tag={tag}"]], [["!done", ".tag={tag}"]]]
    async with ScriptedRouter(script) as peer:
        client = await RouterClient.connect("127.0.0.1", peer.port, "admin", "", timeout=2.0, check_version=False)
        await client.close()
    assert peer.received[0][:3] == ["/login", "=name=admin", "=password="]
    assert peer.received[1][:3] == ["/login", "=name=admin", "=response=00e134102a9d330dd7b1849fedfea3cb57"]
    assert client.login_method == "challenge"


async def test_client_reads_documented_replies() -> None:
    """!empty before !done (7.18) is an empty print; a listen ends cleanly on the documented cancel
    order with .dead=yes rows passed through; a !trap carries its category."""
    script = [
        [["!done", ".tag={tag}"]],  # login
        [["!empty", ".tag={tag}"], ["!done", ".tag={tag}"]],  # print of an empty menu
        [["!re", "=.id=*68", "=name=admin", ".tag={tag}"], ["!re", "=.id=*68", "=.dead=yes", ".tag={tag}"]],
        [["!trap", "=category=2", "=message=interrupted", ".tag=3"], ["!done", ".tag={tag}"], ["!done", ".tag=3"]],
        [["!trap", "=category=1", "=message=input does not match any value of interface", ".tag={tag}"],
         ["!done", ".tag={tag}"]],
    ]
    async with ScriptedRouter(script) as peer:
        client = await RouterClient.connect("127.0.0.1", peer.port, "admin", "", timeout=2.0, check_version=False)
        try:
            assert await client.print("/ppp/active") == []
            rows = []
            async with contextlib.aclosing(client.listen("/user/active")) as stream:  # closing sends /cancel
                async for row in stream:
                    rows.append(row)
                    if len(rows) == 2:
                        break
            assert rows == [{".id": "*68", "name": "admin"}, {".id": "*68", ".dead": "yes"}]
            with pytest.raises(RouterTrap) as info:
                await client.command("/ip/address/add", {"address": "192.168.88.1", "interface": "asdf"})
            assert info.value.category == 1
        finally:
            await client.close()
    assert peer.received[3][0] == "/cancel" and peer.received[3][1] == "=tag=3"
