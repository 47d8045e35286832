"""`pantau demo` as a user runs it: the scripted story produces exactly the notifications an
operator should see — no replay of users online before start, one router DOWN/UP, no false logout, an
access point behind the router going down and up (pinged by the router)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_tells_the_story_without_replays_or_false_logouts():
    """Run the real command (fast) and read what it printed."""
    proc = subprocess.run([sys.executable, "-m", "monitor", "demo", "--speed", "4"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    messages = [block for block in out.split("\n\n") if block.strip().startswith(("*", "🔴", "🟢"))]
    titles = [(m.splitlines()[0].strip(), next((line for line in m.splitlines() if line.startswith("User:")), ""))
              for m in messages]
    assert titles == [
        ("*Selamat Datang*", "User: 12345"),
        ("*Selamat Datang*", "User: budi"),
        ("*PPP Terhubung*", "User: pelanggan-017"),
        ("*Sampai Jumpa*", "User: 12345"),
        ("🔴 *ROUTER DOWN*", ""),
        ("🟢 *ROUTER UP*", ""),
        ("*Sampai Jumpa*", "User: budi"),
        ("*Selamat Datang*", "User: sari"),
        ("*PPP Terputus*", "User: pelanggan-017"),
        ("🔴 *HOST DOWN*", ""),
        ("🟢 *HOST UP*", ""),
    ], out
    budi_logout = messages[6]
    assert "Penyebab: router tidak terjangkau" in budi_logout
    assert "Pemakaian: tidak diketahui" in budi_logout  # never seen counting: unknown, not "0 B"
    assert "andi" not in "".join(messages) and "pelanggan-002" not in "".join(messages)
    assert "Tanggal:" in messages[0] and "Jam:" in messages[0] and "MAC: 3C:22:FB:10:20:30" in messages[0]
    # the access point is pinged by the simulated router (hosts[].via), so this part needs no root
    assert "Host: ap-lantai-2" in messages[9] and "Host: ap-lantai-2" in messages[10]
    assert "pantau demo: 11 events" in out


async def test_demo_also_feeds_the_users_own_notifiers(tmp_path):
    """`pantau demo -c FILE` sends the story's events to the notifiers of FILE, by its routes."""
    import asyncio

    import yaml
    from fake_peers import generic_peer

    async with generic_peer() as hook:
        cfg = {"notifiers": [{"name": "mine", "type": "webhook", "url": hook.url + "/demo"}],
               "routes": [{"events": ["router.*", "ppp.*"], "notify": ["mine"]}], "plugins_dir": None}
        path = tmp_path / "mine.yaml"
        path.write_text(yaml.safe_dump(cfg))
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "monitor", "demo", "--speed", "4", "-c", str(path)],
            capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r.json["type"] for r in hook.received] == ["ppp.connect", "router.down", "router.up", "ppp.disconnect"]
    assert all(r.path == "/demo" for r in hook.received)
