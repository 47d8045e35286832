"""`pantau --version` answers without importing the heavy parts (speed itself: benchmarks/startup.py)."""

from __future__ import annotations

import subprocess
import sys


def test_version_imports_neither_asyncio_nor_pydantic_nor_aiohttp():
    code = ("import sys; from monitor.cli import main; rc = main(['--version']); "
            "print(sorted(m for m in ('asyncio', 'pydantic', 'aiohttp', 'yaml', 'structlog') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    version, loaded = out.stdout.strip().splitlines()
    assert version.startswith("pantau ") and loaded == "[]"
