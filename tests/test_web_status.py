"""The status page: grouping and paging, the 24 h strip, languages, escaping, live updates over
SSE, and a real headless Chromium watching a host go down (screenshot kept as an artifact)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chromium import chromium_binary, chromium_page
from web_helpers import PASSWORD, ScriptedProbe, client, login, running, wait_for, web_config

from monitor.web.status_page import select_hosts
from monitor.web.status_source import HostView, strip_from_transitions

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def view(name: str, state: str, site: str | None = None) -> HostView:
    return HostView(name, "127.0.0.1", {"site": site} if site else {}, state, 0.0, 1.0, 0.0)


def test_select_hosts_groups_pages_and_puts_down_first():
    hosts = [view(f"h{i:04d}", "down" if i % 1000 == 7 else "up", "pasar" if i % 2 else "kampus")
             for i in range(10_000)]
    page = select_hosts(hosts, per_page=50)
    assert page.group_key == "site" and page.totals == {"up": 9990, "down": 10}
    assert [g for g, _ in page.groups] == ["pasar", "kampus"]  # the group with downs first
    assert dict(page.groups)["pasar"] == {"up": 4990, "down": 10}
    assert [h.name for h in page.rows[:10]] == [f"h{i * 1000 + 7:04d}" for i in range(10)]
    assert len(page.rows) == 50 and page.pages == 200 and page.total == 10_000
    last = select_hosts(hosts, group="kampus", page=999)
    assert last.page == last.pages == 100 and all(h.labels["site"] == "kampus" for h in last.rows)
    found = select_hosts(hosts, q="H0042", state="up")
    assert [h.name for h in found.rows] == ["h0042"] and found.filters == {"group": "site", "q": "H0042",
                                                                              "state": "up"}
    assert select_hosts([view("a", "up")]).group_key is None


def test_strip_from_transitions():
    now = 100 * 3600.0
    assert strip_from_transitions([], "up", now) == ["up"] * 24
    cells = strip_from_transitions([(now - 5 * 3600 + 10, "down"), (now - 3 * 3600 - 10, "up")], "up", now)
    assert cells[:19] == ["up"] * 19 and cells[19:21] == ["mixed", "mixed"] and cells[21:] == ["up"] * 3
    down_all_day = strip_from_transitions([(now - 30 * 3600, "down")], "down", now)
    assert down_all_day == ["down"] * 24
    assert strip_from_transitions([(now - 1800, "down")], "down", now)[-1] == "mixed"


async def test_page_languages_escaping_and_live_stream(tmp_path):
    probe = ScriptedProbe()
    config = web_config(tmp_path, hosts=3)
    async with running(config, probe) as (engine, base), client() as http:
        await wait_for(lambda: all(m.detector.state.value == "up" for m in engine.monitors.values()))
        assert (await login(http, base)).status == 303
        async with http.get(base + "/status") as r:
            html = await r.text()
        assert '<html lang="id">' in html and "Kejadian terbaru" in html and "site=kampus" in html
        async with http.get(base + "/status?lang=en") as r:
            assert "Recent events" in await r.text()
        async with http.get(base + "/status?part=main") as r:  # the cookie remembers the language
            part = await r.text()
            assert "Recent events" in part and "<html" not in part
        async with http.get(base + "/status?q=<script>alert(1)</script>") as r:
            text = await r.text()
            assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text

        async with http.get(base + "/status/stream") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            probe.down.add("127.0.0.2")
            line = await stream.content.readuntil(b"\n\n")
            assert line.startswith(b"event: change\ndata: ")
        async with http.get(base + "/status?state=down") as r:
            html = await r.text()
        assert 'data-host="host-01" data-state="down"' in html and "host-00" not in html
        assert PASSWORD not in html


@pytest.mark.skipif(chromium_binary() is None,
                    reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
async def test_chromium_sees_a_host_go_down(tmp_path):
    probe = ScriptedProbe()
    config = web_config(tmp_path, hosts=6)
    async with running(config, probe) as (engine, base), chromium_page(tmp_path / "profile") as page:
        await wait_for(lambda: all(m.detector.state.value == "up" for m in engine.monitors.values()))
        await page.send("Page.navigate", url=f"{base}/status")
        await page.wait_until("document.getElementById('password') !== null")  # redirected to the login
        await page.evaluate(f"""document.getElementById('user').value = 'admin';
            document.getElementById('password').value = {PASSWORD!r};
            document.getElementById('login').click(); true""")
        await page.wait_until("location.pathname === '/status' && "
                              "document.querySelector('[data-host=\"host-03\"]') !== null")
        assert await page.evaluate("document.querySelector('[data-host=\"host-03\"]').dataset.state") == "up"
        assert await page.evaluate("document.documentElement.lang") == "en"  # the browser's Accept-Language
        await page.send("Page.navigate", url=f"{base}/status?lang=id")  # the operator's choice wins
        await page.wait_until("document.documentElement.lang === 'id' && "
                              "document.querySelector('[data-host=\"host-03\"]') !== null")

        probe.down.add("127.0.0.4")  # host-03: the page must show it without a reload
        marker = await page.evaluate("window.__same_page = 1")
        assert marker == 1
        await page.wait_until("document.querySelector('[data-host=\"host-03\"]').dataset.state === 'down'", 15)
        assert await page.evaluate("window.__same_page") == 1  # updated in place (SSE), not reloaded
        assert await page.evaluate("document.getElementById('count-down').textContent.trim()") == "1"
        # usable on a 360 px phone: nothing wider than the screen
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        for path in (tmp_path / "status-360px.png", ARTIFACTS / "status-360px.png"):
            await page.screenshot(path)
        assert (tmp_path / "status-360px.png").stat().st_size > 5000
        await page.send("Emulation.setDeviceMetricsOverride", width=1200, height=800, deviceScaleFactor=1,
                        mobile=False)
        await page.screenshot(ARTIFACTS / "status-1200px.png")


async def test_routers_and_maintenance_on_the_page(tmp_path):
    """A simulated router's sessions and reachability; maintenance windows appear once the engine
    exposes them (the StatusSource hook the history wing plugs into) and not before."""
    from routeros_helpers import PASSWORD as ROUTER_PASSWORD

    from monitor.routeros.sim.simulator import RouterSimulator

    async with RouterSimulator(password=ROUTER_PASSWORD, identity="gw-pasar") as sim:
        sim.hotspot_login("budi", "10.5.50.2", "AA:AA:AA:AA:AA:01")
        sim.ppp_connect("pelanggan-1", caller_id="AA:BB:CC:00:00:01", address="10.9.0.2")
        sim.ppp_connect("pelanggan-2", caller_id="AA:BB:CC:00:00:02", address="10.9.0.3")
        config = web_config(tmp_path, routers=[
            {"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
             "password": ROUTER_PASSWORD, "mode": "poll", "poll_interval": "0.2s", "down_after": 1}])
        async with running(config) as (engine, base), client() as http:
            watcher = engine.watchers["core"]
            await wait_for(lambda: watcher.session_count("ppp") == 2 and watcher.identity == "gw-pasar")
            await login(http, base)
            async with http.get(base + "/status?lang=en") as r:
                html = await r.text()
            card = html[html.index('data-router="core"'):]
            card = card[:card.index("</div>\n    </div>") if "</div>\n    </div>" in card else 600]
            assert "reachable" in card and "Hotspot active: <b>1</b>" in card and "PPPoE active: <b>2</b>" in card
            section = html[html.index('id="maintenance"'):]  # the history wing: none in force yet
            assert "router:core" not in section

            window = engine.history.maintenance.add(["router:core"], 7200, reason="upgrade",
                                                    start=time.time() - 60)
            engine.history.reload_windows()  # what `pantau maintenance add` triggers within 5 s
            sim.set_fault("refuse")
            await wait_for(lambda: watcher.down)
            async with http.get(base + "/status?lang=en") as r:
                html = await r.text()
            assert 'class="card bad" data-router="core"' in html and "unreachable" in html
            section = html[html.index('id="maintenance"'):]
            assert "router:core" in section and "upgrade" in section and window.reason == "upgrade"
