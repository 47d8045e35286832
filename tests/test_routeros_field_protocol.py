"""RouterOS as it is in the field, client against the simulator: Winbox encodings, api-ssl without a
certificate (anonymous DH), TLS errors that say which check failed, the documented ``?#`` stack,
untagged listen, the /cancel order and ``!empty`` only from 7.18 on."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
import trustme
from routeros_helpers import PASSWORD, RawApi

from monitor.errors import RouterError
from monitor.routeros.client import RouterClient
from monitor.routeros.config import RouterConfig, TlsConfig
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.sim.tls import anonymous_server_context


def config(port: int, **kw) -> RouterConfig:
    return RouterConfig(name="r", address="127.0.0.1", port=port, username="pantau", password=PASSWORD,
                        timeout=2, **kw)


# -- encodings ------------------------------------------------------------------------------------

async def test_winbox_cp1252_names_read_queried_and_written_with_auto():
    """A router whose names were typed in Winbox holds cp1252 bytes: `auto` reads them, finds them
    with ?name=, and writes new ones back in the bytes the router has; plain UTF-8 cannot."""
    async with RouterSimulator(password=PASSWORD, encoding="cp1252") as sim:
        sim.add_hotspot_user("José", comment="Kamar 3 – Budi")
        client = await RouterClient.for_router(config(sim.port))  # encoding: auto (the default)
        rows = await client.print("/ip/hotspot/user", proplist=["name", "comment"])
        assert rows == [{"name": "José", "comment": "Kamar 3 – Budi"}]
        assert [r["name"] for r in await client.print("/ip/hotspot/user", queries=["?name=José"])] == ["José"]
        await client.close()

        utf8 = await RouterClient.for_router(config(sim.port, encoding="utf-8"))
        assert (await utf8.print("/ip/hotspot/user", proplist=["name"]))[0]["name"] == "Jos\ufffd"
        assert await utf8.print("/ip/hotspot/user", queries=["?name=José"]) == []  # the old miss
        await utf8.close()

        fixed = await RouterClient.for_router(config(sim.port, encoding="cp1252"))
        await fixed.command("/ip/hotspot/user/add", {"name": "Zoë", "comment": "café"})
        assert sim.menus["/ip/hotspot/user"].rows(["?name=Zoë"])[0]["comment"] == "café"
        await fixed.close()


async def test_cp1251_router():
    async with RouterSimulator(password=PASSWORD, encoding="cp1251", identity="Маршрутизатор") as sim:
        client = await RouterClient.for_router(config(sim.port, encoding="cp1251"))
        assert await client.print("/system/identity") == [{"name": "Маршрутизатор"}]
        await client.close()


def test_bad_encoding_is_a_config_error():
    with pytest.raises(ValueError, match="encoding"):
        config(8728, encoding="ebcdic")


# -- api-ssl ----------------------------------------------------------------------------------------

async def test_api_ssl_without_a_certificate_needs_anonymous_dh():
    async with RouterSimulator(password=PASSWORD, identity="adh", ssl_context=anonymous_server_context()) as sim:
        client = await RouterClient.for_router(config(sim.port, tls={"verify": False, "anonymous": True}))
        assert await client.print("/system/identity") == [{"name": "adh"}]
        await client.close()
        with pytest.raises(RouterError) as info:  # what every operator hits first
            await RouterClient.for_router(config(sim.port, tls={"verify": False}))
        assert info.value.kind == "tls" and "anonymous: true" in str(info.value)


def test_anonymous_without_verify_false_is_refused():
    with pytest.raises(ValueError, match="verify: false"):
        TlsConfig(anonymous=True)


@pytest.mark.parametrize(("case", "expected"), [
    ("expired", "certificate has expired"),
    ("hostname", "the certificate was made for another address"),
    ("unknown-ca", "unknown CA"),
])
async def test_tls_errors_say_which_check_failed(case, expected, tmp_path):
    ca = trustme.CA()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    if case == "expired":
        leaf = ca.issue_cert("127.0.0.1", not_before=past - dt.timedelta(days=60), not_after=past)
    elif case == "hostname":
        leaf = ca.issue_cert("router.example.test")
    else:
        leaf = ca.issue_cert("127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = {"verify": True} if case == "unknown-ca" else {"verify": True, "ca": str(ca_file)}
    async with RouterSimulator(password=PASSWORD, ssl_context=server) as sim:
        with pytest.raises(RouterError) as info:
            await RouterClient.for_router(config(sim.port, tls=tls))
    assert info.value.kind == "tls" and expected in str(info.value), str(info.value)


# -- queries, listen, cancel, !empty --------------------------------------------------------------

async def test_query_stack_index_zero_is_the_top():
    """``?#1`` copies the value one below the top. Stack [name=a, -comment]: ``?#1|`` leaves
    [name=a, (-comment or name=a)], so user a matches with or without a comment; counting from the
    bottom would give [name=a, -comment] and drop a-with-comment."""
    async with RouterSimulator(password=PASSWORD) as sim:
        sim.add_hotspot_user("a", comment="has one")
        sim.add_hotspot_user("b")
        sim.add_hotspot_user("c", profile="vip")
        client = await RouterClient.for_router(config(sim.port))

        async def names(*queries: str) -> list[str]:
            return sorted(r["name"] for r in await client.print("/ip/hotspot/user", queries=list(queries)))

        assert await names("?name=a", "?-comment", "?#1|") == ["a"]
        assert await names("?name=a", "?name=b", "?#|!") == ["c"]  # the docs' "neither … nor" example
        assert await names("?profile=default", "?-comment", "?#&.") == ["b"]
        await client.close()


async def test_untagged_listen_and_cancel_order():
    async with RouterSimulator(password=PASSWORD) as sim:
        api = await RawApi.open(sim.port)
        api.send("/ppp/active/listen")
        api.send("/system/identity/print", ".tag=sync")  # answered after the listen is in place
        assert (await api.read_until_done("sync"))[-1] == ["!done", ".tag=sync"]
        item = sim.ppp_connect("p1", caller_id="AA:BB:CC:00:00:01", address="10.9.0.1")
        row = await api.read()
        assert row[0] == "!re" and f"=.id={item}" in row and not any(w.startswith(".tag=") for w in row)
        api.send("/cancel")
        assert [await api.read() for _ in range(3)] == [
            ["!trap", "=category=2", "=message=interrupted"], ["!done"], ["!done"]]
        api.close()


@pytest.mark.parametrize(("version", "empty"), [("6.49.10 (long-term)", False), ("7.17.2 (stable)", False),
                                               ("7.18 (stable)", True), ("7.19.1 (stable)", True)])
async def test_empty_reply_only_from_7_18(version, empty):
    async with RouterSimulator(password=PASSWORD, version=version) as sim:
        api = await RawApi.open(sim.port)
        api.send("/ppp/active/print", ".tag=p")
        replies = await api.read_until_done("p")
        assert replies == ([["!empty", ".tag=p"]] if empty else []) + [["!done", ".tag=p"]]
        api.close()
        client = await RouterClient.for_router(config(sim.port))
        assert await client.print("/ppp/active") == []  # the client takes both
        await client.close()
