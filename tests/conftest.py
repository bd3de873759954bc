"""Fixtures shared by the project's tests: the simulated stations, served for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.sim.span import load_span
from instruments.sim.stations import start_stations

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def span():
    """The default Aktau-Sumgait span, fault-free."""
    return load_span()


@pytest.fixture(scope="session")
def stations(span):
    """Both simulated stations on loopback TCP ports and pseudo-terminals (in-process threads)."""
    sim = start_stations(span)
    yield sim
    sim.stop()
