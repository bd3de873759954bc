"""Station files for end-to-end tests: the simulated station file, cut down to the fibres and
wavelengths a test needs, with span faults, and the ``harness`` command line as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "test_plans" / "stations" / "sim.yaml"
SPAN = REPO / "instruments" / "sim" / "spans" / "aktau_sumgait.yaml"
ROUTE = REPO / "test_plans" / "route" / "aktau_sumgait.yaml"
SHORT_SPAN = REPO / "instruments" / "sim" / "spans" / "short_land.yaml"
SHORT_ROUTE = REPO / "test_plans" / "route" / "short_land.yaml"
LIMITS = REPO / "test_plans" / "limits.yaml"


def harness(*args: str, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``harness ARGS`` run from the repository, output captured as text (``env``: variables
    added to this process's environment)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env} if env else None)


def station_file(tmp: Path, faults: Iterable[dict] = (), fibres: Iterable[str] | None = None,
                 wavelengths: list[int] | None = None, span: Path = SPAN, plan: Path = ROUTE,
                 name: str = "station.yaml", length_km: float | None = None) -> Path:
    """The simulated station file written to ``tmp/name``, on ``span`` with ``faults``; only
    the fibres whose name starts with one of ``fibres`` (e.g. ``FP1`` or ``FP2-F1``);
    ``length_km``: the route length (km) when the span is not the 380 km one."""
    data = yaml.safe_load(SIM.read_text())
    data["simulator"] = {"span": str(span), "faults": list(faults)}
    data["route"]["plan"] = str(plan)
    if length_km is not None:
        data["route"]["length_km"] = length_km
    if fibres is not None:
        keep = tuple(fibres)
        data["fibres"] = {k: v for k, v in data["fibres"].items() if k.startswith(keep)}
    if wavelengths:
        data["wavelengths_nm"] = wavelengths
    path = tmp / name
    path.write_text(yaml.safe_dump(data))
    return path


def limits_file(tmp: Path, parameters: dict[str, dict] | None = None,
                limits: dict[str, dict] | None = None, name: str = "limits.yaml") -> Path:
    """The project's limits file written to ``tmp/name`` with ``parameters`` sections and
    ``limits`` entries updated key by key (e.g. a short span's OTDR settings and budget)."""
    data = yaml.safe_load(LIMITS.read_text())
    for section, values in (parameters or {}).items():
        data["parameters"][section].update(values)
    for key, values in (limits or {}).items():
        data["limits"][key].update(values)
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
