"""Default paths of the command line, in a module that imports nothing heavy (``harness --help``
and the file commands start without pytest, h5py or pyvisa)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STATION = Path("test_plans/stations/sim.yaml")
DEFAULT_LIMITS = Path("test_plans/limits.yaml")
DEFAULT_PLAN = Path("test_plans/acceptance")
DEFAULT_RESULTS = Path("results")
PLAN = REPO / "test_plans" / "acceptance"
"""The acceptance plan of this checkout (absolute: the archive tools run from any folder)."""
LIMITS = REPO / "test_plans" / "limits.yaml"
"""The plan's limits file of this checkout (absolute)."""
