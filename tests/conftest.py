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
