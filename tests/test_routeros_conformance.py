"""Documented RouterOS API exchanges, replayed against pantau's client and against the simulator.

Each exchange is written as the API documentation shows it (client sentences ``>``, router
sentences ``<``). Against the client, a scripted router reads exactly the documented client words
(tags may be any value; the script follows the client's) and answers the documented replies; the
client's result must be what the documentation means. Against the simulator, the documented client
words are sent raw and its replies must have the documented shape (reply words, attribute names,
tags, order).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from routeros_helpers import PASSWORD, RawApi

from monitor.errors import RouterError, RouterTrap
from monitor.routeros.client import RouterClient
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.wire import encode_sentence, read_sentence

# (who, words). "{tag}" in a router sentence is the tag the client put on its command.
LOGIN = [(">", ["/login", "=name=pantau", f"=password={PASSWORD}", ".tag={tag}"]), ("<", ["!done", ".tag={tag}"])]
RESOURCE_PRINT = [
    (">", ["/system/resource/print", "=.proplist=uptime,cpu-load", ".tag={tag}"]),
    ("<", ["!re", "=uptime=01:22:53", "=cpu-load=0", ".tag={tag}"]),
    ("<", ["!done", ".tag={tag}"]),
]
TRAP_PRINT = [
    (">", ["/ip/hotspot/user/print", ".tag={tag}"]),
    ("<", ["!trap", "=message=not enough permissions (9)", ".tag={tag}"]),
    ("<", ["!done", ".tag={tag}"]),
]
EMPTY_PRINT = [
    (">", ["/ppp/active/print", ".tag={tag}"]),
    ("<", ["!empty", ".tag={tag}"]),
    ("<", ["!done", ".tag={tag}"]),
]


class ScriptedRouter:
    """A TCP peer that plays the router's side of documented exchanges, checking the client's words."""

    def __init__(self, script: list[tuple[str, list[str]]]):
        self.script = script
        self.problems: list[str] = []
        self.done = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ScriptedRouter:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tag = ""
        try:
            for who, words in self.script:
                if who == ">":
                    got = await asyncio.wait_for(read_sentence(reader), 5)
                    tag = next((w[5:] for w in got if w.startswith(".tag=")), "")
                    expected = [w.replace("{tag}", tag) for w in words]
                    if sorted(got[1:]) != sorted(expected[1:]) or got[0] != expected[0]:
                        self.problems.append(f"client sent {got}, the docs say {expected}")
                else:
                    writer.write(encode_sentence([w.replace("{tag}", tag) for w in words]))
                    await writer.drain()
        except Exception as exc:  # noqa: BLE001 - reported as a conformance problem
            self.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.set()
            await asyncio.sleep(0.05)
            writer.close()


async def _client(port: int) -> RouterClient:
    return await RouterClient.connect("127.0.0.1", port, "pantau", PASSWORD, timeout=3)


async def test_client_login_and_print_with_proplist():
    async with ScriptedRouter(LOGIN + RESOURCE_PRINT) as router:
        client = await _client(router.port)
        rows = await client.print("/system/resource", proplist=["uptime", "cpu-load"])
        await client.close()
    assert router.problems == []
    assert rows == [{"uptime": "01:22:53", "cpu-load": "0"}]  # values stay strings, as sent


async def test_client_trap_then_done_is_one_error():
    async with ScriptedRouter(LOGIN + TRAP_PRINT) as router:
        client = await _client(router.port)
        with pytest.raises(RouterTrap) as info:
            await client.print("/ip/hotspot/user")
        await client.close()
    assert router.problems == [] and info.value.category == 9


async def test_client_takes_empty_before_done():
    async with ScriptedRouter(LOGIN + EMPTY_PRINT) as router:
        client = await _client(router.port)
        assert await client.print("/ppp/active") == []
        await client.close()
    assert router.problems == []


async def test_client_sees_fatal_as_a_broken_connection():
    script = LOGIN + [(">", ["/ppp/active/print", ".tag={tag}"]), ("<", ["!fatal", "session terminated on request"])]
    async with ScriptedRouter(script) as router:
        client = await _client(router.port)
        with pytest.raises(RouterError) as info:
            await client.print("/ppp/active")
        await client.close()
    assert info.value.kind == "fatal" and "session terminated on request" in str(info.value)


async def test_client_listen_rows_and_dead():
    script = LOGIN + [
        (">", ["/interface/listen", ".tag={tag}"]),
        ("<", ["!re", "=.id=*1", "=disabled=yes", "=dynamic=no", "=running=no", "=name=ether1", "=mtu=1500",
               "=type=ether", ".tag={tag}"]),
        ("<", ["!re", "=.id=*1", "=.dead=yes", ".tag={tag}"]),
    ]
    async with ScriptedRouter(script) as router:
        client = await _client(router.port)
        got = []
        async for row in client.listen("/interface"):
            got.append(row)
            if len(got) == 2:
                break
        await client.close()
    assert router.problems == []
    assert got[0]["name"] == "ether1" and got[0]["running"] == "no" and got[1] == {".id": "*1", ".dead": "yes"}


# -- the same documented exchanges, the simulator's side ---------------------------------------------

def shape(sentence: list[str]) -> tuple:
    """Reply word, attribute names (values vary), and the tag."""
    return (sentence[0], tuple(sorted(w.split("=")[1] for w in sentence if w.startswith("=") and "=" in w[1:])),
            next((w for w in sentence if w.startswith(".tag=")), None))


async def test_simulator_answers_the_documented_exchanges():
    async with RouterSimulator(password=PASSWORD, version="7.18.2 (stable)") as sim:
        api = await RawApi.open(sim.port, login=False)
        api.send(*[w.replace("{tag}", "1") for w in LOGIN[0][1]])
        assert await api.read() == ["!done", ".tag=1"]

        api.send("/system/resource/print", "=.proplist=uptime,cpu-load", ".tag=2")
        replies = await api.read_until_done("2")
        assert [shape(r) for r in replies] == [shape([w.replace("{tag}", "2") for w in s]) for _, s in RESOURCE_PRINT[1:]]

        api.send("/ppp/active/print", ".tag=3")
        assert await api.read_until_done("3") == [["!empty", ".tag=3"], ["!done", ".tag=3"]]

        # the docs' /cancel example: tag 3 is the command, 7 the /cancel
        api.send("/ppp/active/listen", ".tag=3")
        api.send("/cancel", "=tag=3", ".tag=7")
        assert [await api.read() for _ in range(3)] == [
            ["!trap", "=category=2", "=message=interrupted", ".tag=3"], ["!done", ".tag=7"], ["!done", ".tag=3"]]

        api.send("/quit")
        assert await api.read() == ["!fatal", "session terminated on request"]
        api.close()
