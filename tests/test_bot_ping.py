"""``/ping ADDR [count]`` from the router (simulator's /ping) and from pantau (the ICMP engine)."""

from __future__ import annotations

from monitor.bot.core import BotCore
from monitor.bot.store import BotStore
from tests.bot_helpers import VIEWER, Clock, bot_config, make_core, make_sim, router, who


async def test_ping_from_the_router(tmp_path):
    async with make_sim() as sim:
        sim.pings.set("10.10.1.2", pattern="!!.!", rtt_ms=3.0)
        core = make_core(tmp_path, [router(sim.port)])
        text = (await core.handle(who(VIEWER), "telegram", "/Ping 10.10.1.2 4"))[0].text
        assert "UP" in text and "3/4 balas" in text and "loss 25%" in text and "3.0 ms" in text
        assert "Dari pantau" not in text  # no ICMP probe in this core
        text = (await core.handle(who(VIEWER), "telegram", "/ping 10.99.0.1 2"))[0].text
        assert "DOWN" in text and "0/2 balas (timeout)" in text


async def test_ping_usage_errors(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        for text in ("/ping", "/ping 10.0.0.1 99", "/ping 'a b'"):
            assert "Cara pakai: /ping ADDR [count]" in (await core.handle(who(VIEWER), "telegram", text))[0].text


async def test_ping_from_pantau_too_when_it_has_a_probe(tmp_path, engine):
    async with make_sim() as sim:
        sim.pings.set("127.0.0.1")
        core = BotCore(bot_config(), [router(sim.port)], BotStore(tmp_path / "s.db"), clock=Clock(), probe=engine)
        text = (await core.handle(who(VIEWER), "telegram", "/ping 127.0.0.1 2"))[0].text
        assert "Dari router core: *UP*, 2/2 balas" in text
        assert "Dari pantau: *UP*, 2/2 balas" in text
