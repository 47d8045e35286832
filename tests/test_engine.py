"""The engine in-process: events routed to notifiers through the durable outbox, per-route
templates, and secrets kept out of every log line on the full delivery path."""

from __future__ import annotations

import io
import json

from fake_peers import form_peer, telegram_error, telegram_peer

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.events import Event, Source
from monitor.logs import configure_logging


def login(user: str, phone: str | None) -> Event:
    return Event("hotspot.login", Source("router", "core", "127.0.0.1", {}, identity="RB"),
                 {"user": user, "address": "10.5.50.9", "mac": "AA:BB:CC:00:00:09", "server": "hs1",
                  "login_by": "http-chap", "subscriber": {"phone": phone} if phone else None})


async def test_routes_pick_notifiers_and_route_templates_apply(tmp_path):
    """hotspot.* uses the route's own template (to admin and subscriber); host.* uses the
    notifier's default Indonesian template — each delivered once to the seed's form gateway."""
    async with form_peer() as gw:
        config = parse_config({
            "notifiers": [{"name": "wa", "type": "whatsapp", "provider": "form", "url": gw.url + "/send-message",
                           "to": ["0857-1111-2222", "subscriber"], "rate_limit": {"per_recipient": ["off"]}}],
            "routes": [{"events": ["hotspot.*"], "notify": ["wa"],
                        "templates": {"hotspot.login": "Halo {{ data.user }}, selamat datang!"}},
                       {"events": ["host.*"], "notify": ["wa"]}],
            "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}, env={})
        engine = Engine(config)
        await engine.start()
        try:
            await engine.emit(login("0123", "6281234567890"))
            await engine.emit(Event("host.down", Source("host", "olt-1", "127.0.0.9"),
                                    {"loss": 1.0, "rtt_avg_ms": None, "reason": "timeout", "checks_failed": 3}))
            await gw.wait_received(3, timeout=5)
        finally:
            await engine.stop()
    sent = sorted((r.fields["number"], r.fields["message"]) for r in gw.received)
    assert ("6281234567890", "Halo 0123, selamat datang!") in sent
    assert ("6285711112222", "Halo 0123, selamat datang!") in sent
    host_msgs = [m for _, m in sent if "HOST DOWN" in m]
    assert len(host_msgs) == 1 and "Host: olt-1" in host_msgs[0] and "Tanggal:" in host_msgs[0]
    assert len(gw.received) == 3


async def test_failing_notifier_leaks_no_secret_into_logs(tmp_path):
    """A Telegram bot token (in the URL path) and a webhook secret never reach the JSON logs,
    even while deliveries fail and are retried."""
    token = "123456:AAF-very-secret-bot-token"
    buf = io.StringIO()
    configure_logging("debug", "json", stream=buf)
    async with telegram_peer() as tg:
        tg.queue(telegram_error(500, f"Internal error for bot{token}"), telegram_error(401, "Unauthorized"))
        config = parse_config({
            "notifiers": [{"name": "tg", "type": "telegram", "token": token, "chat_id": -1001234,
                           "api_url": tg.url}],
            "routes": [{"events": ["*"], "notify": ["tg"]}],
            "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}, env={})
        engine = Engine(config)
        await engine.start()
        try:
            await engine.emit(login("budi", None))
            await tg.wait_received(2, timeout=8)
        finally:
            await engine.stop()
    assert token in tg.received[0].path  # the token was really used...
    text = buf.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(entry.get("notifier") == "tg" and entry.get("attempt") for entry in lines)
    assert token not in text and "AAF-very-secret" not in text  # ...and never logged
