"""The registration page in headless Chromium (Debian package) at phone width: the person fills the
form, the code arrives on the fake WAHA gateway, the person types it, the admins get the request."""

from __future__ import annotations

import json
import re

import pytest

from monitor.config.model import parse_config
from monitor.engine import Engine
from tests.chromium import chromium_binary, chromium_page
from tests.fake_peers import telegram_peer, waha_peer
from tests.test_registration import engine_config, free_port


@pytest.mark.skipif(chromium_binary() is None,
                    reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
async def test_a_phone_browser_registers(tmp_path):
    port = free_port()
    async with waha_peer() as gw, telegram_peer() as tg:
        engine = Engine(parse_config(engine_config(tmp_path, gw.url, tg.url, port)))
        await engine.start()
        try:
            async with chromium_page(tmp_path / "profile") as page:
                await page.send("Page.navigate", url=f"http://127.0.0.1:{port}/")
                await page.wait_until("document.querySelector('#phone') !== null")
                # phone width, nothing scrolls sideways; the honeypot is off screen for people
                assert await page.evaluate("document.documentElement.scrollWidth <= 360")
                assert await page.evaluate("document.querySelector('#website').getBoundingClientRect().right < 0")
                fill = {"#name": "Siti Aminah", "#phone": "0812 3456 7890", "#message": "Dekat masjid"}
                for selector, value in fill.items():
                    await page.evaluate(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")
                await page.evaluate("document.querySelector('button[type=submit]').click()")
                await page.wait_until("document.querySelector('#code') !== null")
                await gw.wait_received(1, timeout=20)
                code = re.search(r"\b(\d{6})\b", gw.received[0].fields["text"]).group(1)
                await page.evaluate(f"document.querySelector('#code').value = {json.dumps(code)}")
                await page.evaluate("document.querySelector('button[type=submit]').click()")
                await page.wait_until("document.body.innerText.includes('Terima kasih, Siti Aminah')")
            await tg.wait_received(1, timeout=20)
            assert "Siti Aminah" in tg.received[0].fields["text"] and "6281234567890" in tg.received[0].fields["text"]
        finally:
            await engine.stop(grace=0.2)


@pytest.mark.skipif(chromium_binary() is None,
                    reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
async def test_a_phone_browser_chats_with_the_admin(tmp_path):
    """The page chat at 360 px: the visitor's message reaches the admins' Telegram chat; the admin's
    reply appears on the open page by itself (the polling script), escaped, with no reload."""
    from tests.bot_helpers import make_sim
    from tests.fake_peers import fonnte_peer
    from tests.fake_telegram_bot import FakeBotApi
    from tests.test_registration_chat import ADMIN, admin_reply, chat_config, relayed_with

    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        engine = Engine(parse_config(chat_config(tmp_path, sim.port, gw.url, api, port)))
        await engine.start()
        try:
            async with chromium_page(tmp_path / "profile") as page:
                await page.send("Page.navigate", url=f"http://127.0.0.1:{port}/")
                await page.wait_until("document.querySelector('a[href^=\"/chat\"]') !== null")
                await page.evaluate("document.querySelector('a[href^=\"/chat\"]').click()")
                await page.wait_until("document.querySelector('#chat-text') !== null")
                assert await page.evaluate("document.documentElement.scrollWidth <= 360")
                await page.evaluate("document.querySelector('#chat-text').value = 'Wifi mati sejak pagi'")
                await page.evaluate("document.querySelector('button[type=submit]').click()")
                await page.wait_until("document.querySelector('#log').innerText.includes('Wifi mati sejak pagi')")
                relayed = (await api.wait_for(lambda: relayed_with(api, "Wifi mati sejak pagi")))[0]
                marker = await page.evaluate("window.__same = 1")  # survives only if the page does not reload
                assert marker == 1
                await admin_reply(api, ADMIN, relayed["_message_id"], "Sedang diperbaiki <img src=x>")
                await page.wait_until("document.querySelector('#log').innerText.includes('Sedang diperbaiki <img src=x>')",
                                      timeout=30)
                assert await page.evaluate("window.__same === 1")  # shown by the poll, not a reload
                assert await page.evaluate("document.querySelectorAll('#log img').length === 0")
                assert await page.evaluate("document.documentElement.scrollWidth <= 360")
        finally:
            await engine.stop(grace=0.2)
