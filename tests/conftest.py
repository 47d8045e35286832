"""Shared fixtures. Tests talk to real peers over real sockets on 127.0.0.1 (and netns test hosts)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (nethost, fake peers)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _isolated_structlog():
    """Each test starts from structlog's defaults, whatever a previous test configured."""
    import structlog

    yield
    structlog.reset_defaults()


@pytest.fixture
async def engine():
    """The one-socket ICMP engine (skips where ICMP is not permitted at all)."""
    from monitor.errors import ProbeError
    from monitor.hosts.icmp.engine import open_icmp_engine

    try:
        e = await open_icmp_engine(pps=20000)
    except ProbeError as exc:
        pytest.skip(f"no ICMP permission here: {exc}")
    yield e
    await e.aclose()


@pytest.fixture(scope="session", autouse=True)
def _foreign_icmp_load():
    """With ``PANTAU_ICMP_LOAD=PPS`` the whole session runs beside foreign ICMP traffic
    (tests/icmp_load.py): the ICMP tests must not notice it."""
    import os
    import subprocess

    pps = os.environ.get("PANTAU_ICMP_LOAD")
    if not pps:
        yield None
        return
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("icmp_load.py")), "--pps", str(int(pps)),
                             "--seconds", "900"])
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
