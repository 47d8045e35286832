"""Login both ways (post-6.43 and the pre-6.43 MD5 challenge), version range, and login backoff
counted at the simulator."""

from __future__ import annotations

import hashlib

import pytest
from routeros_helpers import PASSWORD, RawApi, Recorder, Running, router_config, wait_until

from monitor.errors import RouterError
from monitor.routeros.client import RouterClient, version_problem
from monitor.routeros.sim.login import challenge_response
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher


async def _sim(version: str, **kw) -> RouterSimulator:
    return await RouterSimulator(password=PASSWORD, version=version, **kw).start()


@pytest.mark.parametrize(("version", "method", "attempts"), [
    ("6.42.12 (long-term)", "challenge", ["challenge", "response"]),
    ("6.49.10 (long-term)", "password", ["password"]),
    ("7.18.2 (stable)", "password", ["password"]),
])
async def test_client_logs_in_either_way(version: str, method: str, attempts: list[str]) -> None:
    """Post-6.43 login first; a router that answers =ret= gets the MD5 challenge response."""
    sim = await _sim(version)
    try:
        client = await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, timeout=1.0)
        try:
            assert client.login_method == method
            assert client.resource_row["version"] == version
            assert await client.print("/system/identity") == [{"name": "MikroTik"}]
        finally:
            await client.close()
        assert sim.logins.attempts == attempts
    finally:
        await sim.stop()


async def test_wrong_password_on_a_pre_643_router_is_a_login_error() -> None:
    sim = await _sim("6.40.9")
    try:
        with pytest.raises(RouterError) as info:
            await RouterClient.connect("127.0.0.1", sim.port, "pantau", "not-it-7731", timeout=1.0)
        assert info.value.kind == "login" and "cannot log in" in str(info.value)
        assert "not-it-7731" not in str(info.value)
        assert sim.logins.attempts == ["challenge", "failed"]
    finally:
        await sim.stop()


async def test_bare_login_gets_a_challenge_the_documented_response_answers() -> None:
    """The documented exchange: `/login` → `!done =ret=<hex>`; `/login =name= =response=00<md5>` → `!done`."""
    sim = await _sim("7.18.2 (stable)")
    api = await RawApi.open(sim.port, login=False)
    try:
        api.send("/login")
        reply = await api.read()
        assert reply[0] == "!done" and reply[1].startswith("=ret=") and len(reply[1]) == 5 + 32
        challenge = reply[1][5:]
        expected = "00" + hashlib.md5(b"\x00" + PASSWORD.encode() + bytes.fromhex(challenge)).hexdigest()
        assert challenge_response(PASSWORD, challenge) == expected
        api.send("/login", "=name=pantau", f"=response={expected}")
        assert await api.read() == ["!done"]
        api.send("/system/identity/print")
        assert (await api.read())[0] == "!re"
    finally:
        api.close()
        await sim.stop()


@pytest.mark.parametrize(("version", "problem"), [
    ("6.38.7", "router too old: RouterOS 6.38.7; pantau supports RouterOS 6.40 to 7.x"),
    ("8.1", "router too new: RouterOS 8.1; pantau supports RouterOS 6.40 to 7.x"),
])
async def test_unsupported_version_is_refused_with_the_reason(version: str, problem: str) -> None:
    sim = await _sim(version)
    try:
        with pytest.raises(RouterError) as info:
            await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, timeout=1.0)
        assert (info.value.kind, str(info.value)) == ("version", problem)
    finally:
        await sim.stop()


@pytest.mark.parametrize("version", ["6.40", "6.49.10 (long-term)", "7.1", "7.18.2 (stable)", "weird"])
def test_supported_versions(version: str) -> None:
    assert version_problem(version) is None


async def test_failed_logins_back_off_exponentially_and_router_down_says_why() -> None:
    """A wrong password: the simulator sees one login per backoff step (poll_interval doubling, driven
    clock), not one per poll; one router.down names the refused login; the right password → router.up."""
    sim = await _sim("7.18.2 (stable)")
    now = [1_000_000.0]
    rec = Recorder()
    cfg = router_config(sim.port, password="wrong-pw-1", poll_interval=0.05, down_after=2)
    watcher = RouterWatcher(cfg, emit=rec, clock=lambda: now[0])

    async def polls(n: int) -> None:  # let the control loop run n more (failing) rounds
        start = watcher._failures
        await wait_until(lambda: watcher._failures >= start + n)

    try:
        async with Running(watcher):
            await rec.wait_for("router.down")
            await polls(6)
            assert sim.logins.tries == 1
            steps = []
            for wait in (0.05, 0.1, 0.2, 0.4):
                now[0] += wait * 0.9  # not yet due
                await polls(3)
                assert sim.logins.tries == len(steps) + 1
                now[0] += wait * 0.2
                await wait_until(lambda n=len(steps) + 2: sim.logins.tries == n)
                steps.append(sim.logins.tries)
            assert steps == [2, 3, 4, 5]
            sim.password = "wrong-pw-1"  # the operator fixes the router side
            now[0] += 400  # beyond the 5 min cap
            await rec.wait_for("router.up")
        assert [e.type for e in rec.events] == ["router.down", "router.up"]
        assert "login as 'pantau' failed" in rec.events[0].data["error"]
        assert "invalid user name or password (6)" in rec.events[0].data["error"]
        assert sim.logins.failures == 5
    finally:
        await sim.stop()


async def test_too_old_router_is_one_router_down_with_the_reason() -> None:
    sim = await _sim("6.39.3")
    rec = Recorder()
    now = [5000.0]
    watcher = RouterWatcher(router_config(sim.port, poll_interval=0.05, down_after=2), emit=rec,
                            clock=lambda: now[0])
    try:
        async with Running(watcher):
            await rec.wait_for("router.down")
            await wait_until(lambda: watcher._failures >= 8)
        assert [e.type for e in rec.events] == ["router.down"]
        assert rec.events[0].data["error"].startswith("router too old: RouterOS 6.39.3")
        assert sim.logins.tries == 1  # logged in fine, but no reconnect storm to a router pantau refuses
    finally:
        await sim.stop()


@pytest.mark.parametrize(("text", "expected"), [
    ("nov/23/2022 10:00:00", (2022, 11, 23, 10, 0, 0)),
    ("jan/02/2025", (2025, 1, 2, 0, 0, 0)),
    ("2022-11-23 10:00:00", (2022, 11, 23, 10, 0, 0)),
    ("2025-01-02", (2025, 1, 2, 0, 0, 0)),
    ("13:05:09", (2026, 11, 23, 13, 5, 9)),
])
def test_v6_and_v7_dates_parse_the_same(text: str, expected: tuple[int, ...]) -> None:
    import datetime as dt

    from monitor.routeros.dates import parse_routeros_datetime

    assert parse_routeros_datetime(text, today=dt.date(2026, 11, 23)) == dt.datetime(*expected)


@pytest.mark.parametrize("text", ["", "foo/23/2022", "2022/11/23", "13:05", "nov/23/22"])
def test_bad_dates_are_refused(text: str) -> None:
    from monitor.routeros.dates import parse_routeros_datetime

    with pytest.raises(ValueError):
        parse_routeros_datetime(text)


@pytest.mark.parametrize(("version", "empty"), [("6.49.10 (long-term)", False), ("7.17.2", False),
                                                ("7.18.2 (stable)", True)])
async def test_empty_reply_only_from_7_18(version: str, empty: bool) -> None:
    """The simulator sends !empty before !done on an empty print only in 7.18+ mode; the client reads
    an empty list either way."""
    sim = await _sim(version)
    try:
        api = await RawApi.open(sim.port)
        api.send("/ppp/active/print", ".tag=e")
        replies = await api.read_until_done("e")
        api.close()
        assert [r[0] for r in replies] == (["!empty", "!done"] if empty else ["!done"])
        client = await RouterClient.connect("127.0.0.1", sim.port, "pantau", PASSWORD, timeout=1.0)
        try:
            assert await client.print("/ppp/active") == []
        finally:
            await client.close()
    finally:
        await sim.stop()
