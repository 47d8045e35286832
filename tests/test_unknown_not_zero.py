"""Unknown is not zero: a logout whose counters pantau never saw carries null in the event JSON and
says "tidak diketahui" / "unknown" in the message — never "0 detik, 0 B"."""

from __future__ import annotations

import json

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.delivery.templates.renderer import TemplateRenderer
from monitor.events import Event, Source
from monitor.routeros.sessions import SPECS, logout_data, make_record
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher

HOTSPOT, PPP = SPECS["hotspot"], SPECS["ppp"]


def test_a_row_without_uptime_or_counters_is_unknown_after_an_outage():
    row = {".id": "*1", "user": "sari", "address": "10.5.50.31", "mac-address": "F0:9F:C2:01:02:03"}
    record = make_record(HOTSPOT, row, now=1000.0)
    data = logout_data(HOTSPOT, record, None, reason="while_unreachable", now=1500.0)
    assert (data["uptime_s"], data["bytes_in"], data["bytes_out"]) == (None, None, None)
    ppp = make_record(PPP, {".id": "*2", "name": "p-1", "caller-id": "AA:BB:CC:00:00:01"}, now=1000.0)
    assert logout_data(PPP, ppp, None, reason="while_stopped", now=2000.0)["uptime_s"] is None


def test_counters_seen_stay_numbers_and_a_live_logout_knows_its_uptime():
    row = {".id": "*1", "user": "budi", "uptime": "1h", "bytes-in": "1000", "bytes-out": "0"}
    record = make_record(HOTSPOT, row, now=1000.0)
    data = logout_data(HOTSPOT, record, None, reason="while_unreachable", now=5000.0)
    # uptime seen: 1h; the totals of a session that ended unseen are unknown (null), and what pantau
    # last saw is given as such (a 0 then is no measure of the whole session)
    assert (data["uptime_s"], data["bytes_in"], data["bytes_out"]) == (3600, None, None)
    assert (data["bytes_in_last_seen"], data["bytes_out_last_seen"]) == (1000, 0)
    live = logout_data(HOTSPOT, record, None, reason="logout", now=1010.0)
    assert (live["uptime_s"], live["bytes_in"], live["bytes_out"]) == (3610, 1000, 0)


def test_a_listen_update_without_uptime_keeps_the_last_uptime_seen():
    first = make_record(HOTSPOT, {".id": "*1", "user": "budi", "uptime": "10m", "bytes-in": "5"}, now=100.0)
    update = make_record(HOTSPOT, {".id": "*1", "user": "budi"}, now=200.0, previous=first)
    assert (update["uptime_s"], update["bytes_in"]) == (600.0, 5)


@pytest.mark.parametrize(("language", "words"), [("id", ["Lama online: tidak diketahui",
                                                          "Pemakaian: tidak diketahui"]),
                                                  ("en", ["Online for: unknown", "Usage: unknown"])])
def test_messages_say_unknown_and_json_carries_null(language, words):
    source = Source(kind="router", name="core", address="127.0.0.1")
    data = {"user": "sari", "address": "10.5.50.31", "mac": "", "server": "", "login_by": "", "comment": None,
            "subscriber": None, "uptime_s": None, "bytes_in": None, "bytes_out": None, "reason": "while_unreachable"}
    event = Event(type="hotspot.logout", source=source, data=data)
    text = TemplateRenderer(language=language, markup="text").render(event)
    for line in words:
        assert line in text
    assert " 0 B" not in text and "0 detik" not in text
    body = json.loads(event.to_json())
    assert body["data"]["uptime_s"] is None and body["data"]["bytes_in"] is None
    ppp = Event(type="ppp.disconnect", source=source, data={"name": "p-1", "uptime_s": None, "reason": "while_stopped"})
    assert words[0] in TemplateRenderer(language=language, markup="text").render(ppp)


async def test_a_user_who_leaves_during_an_outage_has_unknown_usage():
    """Budi was online with nothing counted yet when pantau last looked; he leaves while the router
    is unreachable: after router.up his logout carries null byte counters, not 0 B."""
    async with RouterSimulator(password=PASSWORD) as sim:
        sim.add_hotspot_user("budi")
        sim.hotspot_login("budi", "10.5.50.24", "AC:BC:32:7E:11:02")
        rec = Recorder()
        watcher = RouterWatcher(router_config(sim.port, mode="listen"), emit=rec)
        async with Running(watcher):
            await wait_until(lambda: len(watcher.sessions("hotspot")) == 1)
            sim.set_fault("refuse")
            await rec.wait_for("router.down", timeout=4)
            sim.hotspot_logout("budi")
            sim.clear_fault()
            await rec.wait_for("hotspot.logout", timeout=6)
    [logout] = rec.of("hotspot.logout")
    assert logout.data["reason"] == "while_unreachable"
    assert logout.data["bytes_in"] is None and logout.data["bytes_out"] is None
    assert "tidak diketahui" in TemplateRenderer(language="id", markup="text").render(logout)
