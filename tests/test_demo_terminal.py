"""`pantau demo` in the terminals people really have: piped into `head`, LANG=C, a non-UTF-8
console — and no raw log lines between the messages (they go to the demo's log file)."""

from __future__ import annotations

import os
import subprocess
import sys


def demo_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": extra.pop("TMPDIR"), **extra}


def test_piped_into_head_ends_quietly(tmp_path):
    """`pantau demo | head -5`: head leaves early; pantau exits 0 with no BrokenPipe traceback."""
    env = demo_env(TMPDIR=str(tmp_path))
    demo = subprocess.Popen([sys.executable, "-m", "monitor", "demo", "--speed", "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    head = subprocess.run(["head", "-5"], stdin=demo.stdout, capture_output=True, text=True, timeout=60)
    demo.stdout.close()  # only head holds the pipe now: when head exits, pantau's writes fail
    err = demo.stderr.read().decode()
    assert demo.wait(timeout=60) == 0, err
    assert len(head.stdout.splitlines()) == 5
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_lang_c_and_an_ascii_terminal_and_no_log_lines_on_screen(tmp_path):
    """LANG=C and an ASCII-only stdout (PYTHONIOENCODING=ascii stands in for a non-UTF-8 terminal):
    the story completes, characters the terminal cannot show become '?', and the outage's warnings
    are in the log file, not between the messages."""
    for extra in ({"LANG": "C", "LC_ALL": "C"}, {"PYTHONIOENCODING": "ascii"}):
        proc = subprocess.run([sys.executable, "-m", "monitor", "demo", "--speed", "4"], capture_output=True,
                              env=demo_env(TMPDIR=str(tmp_path), **extra), timeout=90)
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err and "UnicodeEncodeError" not in err
        assert "ROUTER DOWN" in out and "ROUTER UP" in out and "pantau demo: 11 events" in out
        assert "router_listen_failed" not in out + err and "[warning" not in out + err
    log = (tmp_path / f"pantau-demo-{os.getuid()}.log").read_text()
    assert "router_listen_failed" in log or "router_poll_failed" in log
    assert "? *ROUTER DOWN*" in out  # the ascii run: the red circle emoji replaced, not a crash
