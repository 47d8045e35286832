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
