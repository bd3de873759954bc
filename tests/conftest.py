"""Fixtures shared by the project's tests: the simulated stations, served for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.sim.span import load_span
from instruments.sim.stations import start_stations

REPO = Path(__file__).resolve().parents[1]
SOR_DATA = REPO / "tests" / "data" / "sor"
"""Real instruments' .sor files, kept in the repository with their origin and licence (README.md)."""


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


@pytest.fixture
def lit(span):
    """``lit(fibre)`` puts the transmitter feeding ``fibre`` in service on the shared span (as
    the plan's traffic step does) for one test, and restores the state afterwards."""
    before = dict(span.in_service)

    def light(fibre: str) -> str:
        span.set_in_service(fibre, True)
        return fibre
    yield light
    span.in_service.clear()
    span.in_service.update(before)
