"""api-ssl without a certificate (anonymous DH), TLS errors that name the failed check, and the
per-router encoding of words (Winbox writes windows-125x) in both directions."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
import trustme
from routeros_helpers import PASSWORD

from monitor.config.model import parse_config
from monitor.errors import ConfigError, RouterError
from monitor.routeros.client import RouterClient
from monitor.routeros.config import TlsConfig
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.sim.tls import anonymous_server_context
from monitor.routeros.wire import Codec


async def _connect(sim: RouterSimulator, ctx: ssl.SSLContext | None = None, **kw) -> RouterClient:
    return await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, ssl_context=ctx, timeout=2.0, **kw)


async def test_api_ssl_without_certificate_needs_anonymous_and_says_so() -> None:
    """A factory-default api-ssl (ADH only): anonymous: true works; a normal context fails with a hint."""
    sim = await RouterSimulator(password=PASSWORD, ssl_context=anonymous_server_context()).start()
    try:
        client = await _connect(sim, TlsConfig(verify=False, anonymous=True).ssl_context())
        try:
            assert client._writer.get_extra_info("cipher")[0].startswith("ADH-")
            assert await client.print("/system/identity") == [{"name": "MikroTik"}]
        finally:
            await client.close()
        with pytest.raises(RouterError) as info:
            await _connect(sim, TlsConfig(verify=False).ssl_context())
        assert info.value.kind == "tls" and "tls: {verify: false, anonymous: true}" in str(info.value)
    finally:
        await sim.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_ctx(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def _client_ctx(ca: trustme.CA | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca is not None:
        ca.configure_trust(ctx)
    return ctx


@pytest.mark.parametrize(("case", "expected"), [
    ("expired", "certificate has expired"),
    ("hostname", "made for another"),
    ("unknown_ca", "unknown CA"),
])
async def test_tls_errors_name_the_failed_check(ca: trustme.CA, case: str, expected: str) -> None:
    if case == "expired":
        cert = ca.issue_cert("127.0.0.1", not_before=dt.datetime(2020, 1, 1), not_after=dt.datetime(2021, 1, 1))
    elif case == "hostname":
        cert = ca.issue_cert("router.example.net")
    else:
        cert = ca.issue_cert("127.0.0.1")
    sim = await RouterSimulator(password=PASSWORD, ssl_context=_server_ctx(cert)).start()
    try:
        with pytest.raises(RouterError) as info:
            await _connect(sim, _client_ctx(None if case == "unknown_ca" else ca))
        assert info.value.kind == "tls" and expected in str(info.value), str(info.value)
    finally:
        await sim.stop()


def test_anonymous_tls_with_verification_is_a_config_error() -> None:
    data = {"plugins_dir": None, "routers": [{"name": "core", "address": "127.0.0.1", "username": "u",
                                              "password": "p", "tls": {"anonymous": True}}]}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith("routers[0].tls") and "verify: false" in p for p in info.value.problems)


@pytest.mark.parametrize(("encoding", "problem"), [("latin-9", "routers[0].encoding:"), (1252, "routers[0].encoding:")])
def test_bad_encoding_is_a_config_error(encoding: object, problem: str) -> None:
    data = {"plugins_dir": None, "routers": [{"name": "core", "address": "127.0.0.1", "username": "u",
                                              "password": "p", "encoding": encoding}]}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(problem) for p in info.value.problems)


async def test_windows_1252_router_reads_and_queries_right_with_cp1252_or_auto() -> None:
    """Winbox wrote cp1252 bytes: utf-8 shows U+FFFD and ?name= misses; cp1252 and auto read them
    right, and auto writes the query back in cp1252 so the lookup hits."""
    sim = await RouterSimulator(password=PASSWORD, encoding="cp1252").start()
    sim.add_hotspot_user("josé", comment="Kamar 3 — Café Budi 0857")
    sim.add_hotspot_user("plain", comment="ascii only")
    try:
        for encoding, name_ok in (("utf-8", False), ("cp1252", True), ("auto", True)):
            client = await _connect(sim, encoding=encoding)
            try:
                users = {r["name"]: r.get("comment") for r in await client.print("/ip/hotspot/user")}
                if name_ok:
                    assert users["josé"] == "Kamar 3 — Café Budi 0857"
                    found = await client.print("/ip/hotspot/user", queries=["?name=josé"])
                    assert [r["comment"] for r in found] == ["Kamar 3 — Café Budi 0857"]
                else:
                    assert "\ufffd" in "".join(users) and "josé" not in users
                    assert await client.print("/ip/hotspot/user", queries=["?name=josé"]) == []
                assert users["plain"] == "ascii only"
            finally:
                await client.close()
    finally:
        await sim.stop()


async def test_cp1251_router_needs_its_encoding() -> None:
    sim = await RouterSimulator(password=PASSWORD, encoding="cp1251").start()
    sim.add_hotspot_user("ivan", comment="Иван, кв. 7")
    try:
        client = await _connect(sim, encoding="cp1251")
        try:
            assert (await client.print("/ip/hotspot/user"))[0]["comment"] == "Иван, кв. 7"
        finally:
            await client.close()
    finally:
        await sim.stop()


def test_auto_codec_decodes_utf8_first_and_remembers_legacy_values() -> None:
    codec = Codec("auto")
    assert codec.decode("=name=josé".encode()) == "=name=josé"
    assert codec.encode("?name=josé") == "?name=josé".encode()  # came as UTF-8: stays UTF-8
    legacy = Codec("auto")
    assert legacy.decode("=name=josé".encode("cp1252")) == "=name=josé"
    assert legacy.encode("?name=josé") == "?name=josé".encode("cp1252")
    with pytest.raises(ValueError):
        Codec("no-such-codec")
