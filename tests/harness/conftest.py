"""Fixtures for the harness tests: one small campaign shared by the tests that only read it."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from simstation import harness, station_file


@dataclass(frozen=True)
class Campaign:
    """A finished ``harness run``: its station file, run folder, process and wall time (s)."""

    station: Path
    run_dir: Path
    proc: subprocess.CompletedProcess
    seconds: float


@pytest.fixture(scope="session")
def fp1_campaign(tmp_path_factory) -> Campaign:
    """``harness run`` of fibre pair FP1 at 1550 nm, its output in a pipe (as in CI), on the
    fault-free simulated span. Tests only read it (its folder is never written to)."""
    tmp = tmp_path_factory.mktemp("fp1")
    station = station_file(tmp, fibres=["FP1"], wavelengths=[1550])
    t0 = time.monotonic()
    proc = harness("run", "--station", str(station), "--results", str(tmp), "--run-id", "fp1")
    return Campaign(station, tmp / "fp1", proc, time.monotonic() - t0)
