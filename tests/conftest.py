"""Fixtures shared by the project's tests: the simulated stations, served for real."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from instruments.sim.span import load_span
from instruments.sim.stations import start_stations

REPO = Path(__file__).resolve().parents[1]
SOR_DATA = REPO / "tests" / "data" / "sor"
"""Real instruments' .sor files, kept in the repository with their origin and licence (README.md)."""


WORKERS_PER_CORE = 2
"""``pytest -n auto`` (``make test``) starts this many xdist workers per core: most of a
campaign test's time is spent waiting (on a child ``harness`` process, a simulated instrument's
averaging or timeout, a Dask cluster), so one worker per core leaves the cores a third idle
(2 cores: 316-376 s with 2 workers, 223-263 s with 4)."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """What ``-n auto`` means for this suite: :data:`WORKERS_PER_CORE` per usable core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return WORKERS_PER_CORE * (cores or 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``campaign`` (whole simulated campaigns, the slowest) run first, so that
    under pytest-xdist no worker starts a long one while the other has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("campaign") is None)


@pytest.fixture(scope="session", autouse=True)
def private_lock_dir_for_this_worker(tmp_path_factory) -> Iterator[None]:
    """Instrument locks of this pytest process (one xdist worker) and of every ``harness`` it
    starts live in its own directory: never shared with another worker or another checkout."""
    before = os.environ.get("CASPIAN_LOCK_DIR")
    os.environ["CASPIAN_LOCK_DIR"] = str(tmp_path_factory.getbasetemp() / "locks")
    yield
    if before is None:
        os.environ.pop("CASPIAN_LOCK_DIR", None)
    else:
        os.environ["CASPIAN_LOCK_DIR"] = before


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
