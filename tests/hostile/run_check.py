"""Run ``pantau check`` (the CLI's main) on each config file given, in one interpreter, and print
one JSON line per file: exit code, stderr, seconds, and whether a traceback escaped.

Used by tests/test_config_hostile.py in a subprocess with a memory limit and a timeout, so a
config that hangs or balloons fails that test instead of the machine."""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
import traceback

resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))

from monitor.cli.main import main  # noqa: E402

for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    escaped = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["check", "-c", path])
        except BaseException:  # noqa: BLE001 - exactly what the test looks for
            escaped = traceback.format_exc()
            code = None
    took = time.perf_counter() - started
    print(json.dumps({"path": path, "code": code, "stderr": err.getvalue(), "stdout": out.getvalue(),
                      "seconds": took, "traceback": escaped}), flush=True)
