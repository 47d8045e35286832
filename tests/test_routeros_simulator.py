"""The RouterOS API simulator over real TCP: protocol details, faults, TLS, and librouteros as a peer."""

from __future__ import annotations

import asyncio
import ssl

import librouteros
import pytest
import trustme
from routeros_helpers import PASSWORD, RawApi

from monitor.errors import RouterError, RouterTrap
from monitor.routeros.client import RouterClient
from monitor.routeros.sim.simulator import RouterSimulator


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD, identity="core-gw")
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _client(sim: RouterSimulator, timeout: float = 1.0) -> RouterClient:
    return await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, timeout=timeout)


async def test_librouteros_logs_in_and_prints_from_the_simulator(sim: RouterSimulator) -> None:
    """librouteros' own async_connect (a client we did not write) logs in and prints identity and users."""
    sim.add_hotspot_user("budi", comment="Kamar 3 — Budi")
    api = await librouteros.async_connect("127.0.0.1", "pantau", PASSWORD, port=sim.port,
                                          encoding="utf-8", timeout=2)
    try:
        identity = [row async for row in api.path("/system/identity")]
        users = [row async for row in api.path("/ip/hotspot/user").select("name", "comment")]
    finally:
        await api.close()
    assert identity == [{"name": "core-gw"}]
    assert users == [{"name": "budi", "comment": "Kamar 3 — Budi"}]


async def test_librouteros_wrong_password_gets_the_routeros_trap(sim: RouterSimulator) -> None:
    """A wrong password is answered with RouterOS' own message, which librouteros raises as a trap."""
    with pytest.raises(librouteros.exceptions.TrapError, match=r"invalid user name or password \(6\)"):
        await librouteros.async_connect("127.0.0.1", "pantau", "wrong", port=sim.port, timeout=2)


async def test_wrong_password_is_a_login_error_without_the_secret(sim: RouterSimulator) -> None:
    """Our client turns a failed login into RouterError(kind=login) and never echoes the password."""
    with pytest.raises(RouterError) as info:
        await RouterClient.connect("127.0.0.1", sim.port, "pantau", "hunter2-wrong", timeout=1)
    assert info.value.kind == "login"
    assert "hunter2-wrong" not in str(info.value)


async def test_tags_and_empty_reply_and_switch(sim: RouterSimulator) -> None:
    """Every reply carries the command's .tag; an empty print gets !empty first unless switched off."""
    api = await RawApi.open(sim.port)
    api.send("/ppp/active/print", ".tag=a1")
    assert await api.read_until_done() == [["!empty", ".tag=a1"], ["!done", ".tag=a1"]]
    sim.empty_reply = False
    api.send("/ppp/active/print", ".tag=a2")
    assert await api.read_until_done() == [["!done", ".tag=a2"]]
    api.close()


async def test_values_stay_strings_and_proplist_limits_fields(sim: RouterSimulator) -> None:
    """Names that look like numbers or booleans come back verbatim; .proplist returns only those keys."""
    for name in ("0123", "12345", "yes"):
        sim.hotspot_login(name, "10.5.50.2", "AA:AA:AA:AA:AA:01", uptime=3723)
    client = await _client(sim)
    rows = await client.print("/ip/hotspot/active", proplist=["user", "uptime"])
    await client.close()
    assert rows == [{"user": n, "uptime": "1h2m3s"} for n in ("0123", "12345", "yes")]


async def test_queries_including_stack_operations(sim: RouterSimulator) -> None:
    """?name=value, ?name, ?-name and the ?#| / ?#! / ?#& stack operations select the right rows."""
    sim.add_hotspot_user("a", comment="x")
    sim.add_hotspot_user("b")
    sim.add_hotspot_user("c", email="c@example.org")
    client = await _client(sim)

    async def names(*queries: str) -> list[str]:
        return [r["name"] for r in await client.print("/ip/hotspot/user", queries=queries)]

    assert await names("?name=b") == ["b"]
    assert await names("?comment") == ["a"]
    assert await names("?-comment") == ["b", "c"]
    assert await names("?name=a", "?name=c", "?#|") == ["a", "c"]
    assert await names("?name=a", "?#!") == ["b", "c"]
    assert await names("?-comment", "?-email", "?#&") == ["b"]
    await client.close()


async def test_listen_pushes_changes_with_dead_and_cancel_ends_it(sim: RouterSimulator) -> None:
    """listen sends each new row and .dead=true on removal, no !done until /cancel, which interrupts it."""
    api = await RawApi.open(sim.port)
    api.send("/ppp/active/listen", ".tag=L")
    with pytest.raises(TimeoutError):
        await api.read(timeout=0.1)  # nothing yet, and certainly no !done
    item_id = sim.ppp_connect("pelanggan-7", caller_id="AA:BB:CC:00:00:07", address="10.9.0.7")
    added = await api.read()
    assert added[0] == "!re" and f"=.id={item_id}" in added and "=name=pelanggan-7" in added and ".tag=L" in added
    sim.ppp_disconnect("pelanggan-7")
    assert await api.read() == ["!re", f"=.id={item_id}", "=.dead=true", ".tag=L"]
    api.send("/cancel", "=tag=L", ".tag=C")
    # the API docs' order: the cancelled command's trap, /cancel's own !done, then the cancelled !done
    assert [await api.read() for _ in range(3)] == [
        ["!trap", "=category=2", "=message=interrupted", ".tag=L"], ["!done", ".tag=C"], ["!done", ".tag=L"]]
    api.close()


async def test_add_set_remove(sim: RouterSimulator) -> None:
    """add returns the new .id, set changes it, remove deletes it, an unknown .id is a trap."""
    client = await _client(sim)
    [done] = await client.command("/ip/hotspot/user/add", {"name": "v1", "comment": "old"})
    item_id = done["ret"]
    await client.command("/ip/hotspot/user/set", {".id": item_id, "comment": "new"})
    assert (await client.print("/ip/hotspot/user"))[0]["comment"] == "new"
    await client.command("/ip/hotspot/user/remove", {".id": item_id})
    assert await client.print("/ip/hotspot/user") == []
    with pytest.raises(RouterTrap, match="no such item"):
        await client.command("/ip/hotspot/user/remove", {".id": item_id})
    await client.close()


async def test_reboot_reuses_ids_and_drops_connections(sim: RouterSimulator) -> None:
    """After reboot() the active list is empty, the next login reuses .id *1, and old links are closed."""
    first = sim.hotspot_login("u1", "10.5.50.2", "AA:AA:AA:AA:AA:01")
    client = await _client(sim)
    sim.reboot()
    with pytest.raises(RouterError):
        await client.print("/ip/hotspot/active")
    assert sim.hotspot_login("u2", "10.5.50.3", "AA:AA:AA:AA:AA:02") == first


@pytest.mark.parametrize(("fault", "kind"), [("hang", "timeout"), ("fatal", "fatal"), ("refuse", "refused"),
                                             ("drop", "broken")])
async def test_faults_become_router_errors(sim: RouterSimulator, fault: str, kind: str) -> None:
    """Each injected fault surfaces as RouterError of the matching kind, and clearing it restores service."""
    sim.set_fault(fault)
    await asyncio.sleep(0.05)
    with pytest.raises(RouterError) as info:
        client = await _client(sim, timeout=0.3)
        await client.print("/system/identity")
    assert info.value.kind == kind
    sim.clear_fault()
    await asyncio.sleep(0.05)
    client = await _client(sim)
    assert await client.print("/system/identity") == [{"name": "core-gw"}]
    await client.close()


async def test_trap_fault_on_one_menu(sim: RouterSimulator) -> None:
    """A trap fault makes print of that menu a RouterTrap; other menus and the link keep working."""
    sim.set_fault("trap", menu="/ip/hotspot/active")
    client = await _client(sim)
    with pytest.raises(RouterTrap, match="not enough permissions"):
        await client.print("/ip/hotspot/active")
    assert await client.print("/system/identity") == [{"name": "core-gw"}]
    await client.close()


async def test_delay_fault_slows_replies(sim: RouterSimulator) -> None:
    """The delay fault holds each reply back by the given time."""
    client = await _client(sim)
    sim.set_fault("delay", delay=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.print("/system/identity")
    assert loop.time() - start >= 0.19
    await client.close()


async def test_api_ssl_with_trustme_certificate() -> None:
    """api-ssl: the simulator serves TLS with a test CA's certificate and a verifying client logs in."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with RouterSimulator(password=PASSWORD, identity="tls-gw", ssl_context=server_ctx) as sim:
        client = await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD,
                                            ssl_context=client_ctx, timeout=2)
        assert await client.print("/system/identity") == [{"name": "tls-gw"}]
        await client.close()
        untrusting = ssl.create_default_context()  # does not know the test CA
        with pytest.raises(RouterError) as info:
            await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, ssl_context=untrusting,
                                       timeout=2)
        assert info.value.kind == "tls"
