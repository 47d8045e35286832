"""Phone numbers never reach a log line at info or above in full, wherever they sit: a hotspot user
named by its number, a number an admin typed in a bot command, nested values. Debug keeps them."""

from __future__ import annotations

import io
import json

import structlog

from monitor.logs import configure_logging


def lines(fmt: str = "json") -> tuple[io.StringIO, object]:
    out = io.StringIO()
    configure_logging("debug", fmt, out)
    return out, structlog.get_logger("pantau.test")


def test_numbers_in_any_value_are_masked_at_info_and_above():
    out, log = lines()
    log.info("hotspot_login", user="085277441963", address="10.5.50.9")
    log.warning("bot.command", identity="wa:6285277441963", args=["0852 7744 1963", "budi"],
                detail={"to": "+62 852-7744-1963@c.us", "count": 3})
    log.info("bot.audit", identity="tg:6298877665", event_id="01a208fe-4509-7794-9347-f4f7442aceab")
    log.debug("wa.raw", to="085277441963")
    got = [json.loads(x) for x in out.getvalue().splitlines()]
    text = "\n".join(out.getvalue().splitlines()[:3])
    for number in ("085277441963", "6285277441963", "85277441963", "852-7744"):
        assert number not in text
    assert got[0]["user"] == "62852*****963" and got[0]["address"] == "10.5.50.9"
    assert got[1]["args"] == ["62852*****963", "budi"] and got[1]["identity"] == "wa:62852*****963"
    assert got[1]["detail"]["count"] == 3 and "*****" in got[1]["detail"]["to"]
    assert got[2]["identity"] == "tg:6298877665"  # a Telegram user id stays
    assert got[2]["event_id"] == "01a208fe-4509-7794-9347-f4f7442aceab"
    assert got[3]["to"] == "085277441963"  # debug: kept for troubleshooting


def test_console_lines_are_masked_too():
    out, log = lines("console")
    log.info("hotspot_logout", user="0852 7744 1963", reason="lost-service")
    assert "7744 1963" not in out.getvalue() and "62852*****963" in out.getvalue()
