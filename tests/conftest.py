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
