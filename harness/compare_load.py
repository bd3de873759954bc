"""What ``harness compare`` reads of one run folder: its OTDR traces analysed as the plan
analyses them (per station, fibre and wavelength, and both stations joined), its received
channels (OSNR per channel) and each receiving card's Q. Nothing is written."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.analysis.bidir import Bidirectional, merge
from harness.analysis.osa import Channel, find_channels
from harness.analysis.otdr import OtdrAnalysis, analyse_otdr
from harness.config import StationFile, load_limits_file, load_station_file
from harness.errors import HarnessError, StoreError
from harness.manifest import verify_manifest
from harness.store import RunStore


@dataclass
class Trace:
    """One long-pulse OTDR trace of a run: x (m from the ODF), level (dB) and its analysis."""

    station: str
    fibre: str
    wavelength_nm: float
    distance_m: np.ndarray
    level_db: np.ndarray
    analysis: OtdrAnalysis


@dataclass
class RunView:
    """One run as compare sees it. Distances in m; ``route_events`` the inlined route plan."""

    run_dir: Path
    run_id: str
    started_utc: str
    stations: list[str]
    length_m: float
    route_events: list[dict[str, Any]]
    traces: dict[tuple[str, str, float], Trace] = field(default_factory=dict)
    joined: dict[tuple[str, float], Bidirectional] = field(default_factory=dict)
    channels: dict[tuple[str, str], list[Channel]] = field(default_factory=dict)
    q_db: dict[tuple[str, str], float] = field(default_factory=dict)


def load_run(run_dir: Path, trust: bool = False) -> RunView:
    """Read and analyse ``run_dir``; a missing or changed run folder raises a HarnessError."""
    run_dir = Path(run_dir)
    if not (run_dir / "run.h5").is_file():
        raise StoreError(f"{run_dir}: not a run folder (no run.h5)")
    if not trust:
        problems = verify_manifest(run_dir)
        if problems:
            raise StoreError(f"{run_dir}: refusing to compare a run whose files changed: {problems[0]}")
    sf: StationFile = load_station_file(run_dir / "inputs" / "station.yaml")
    lf = load_limits_file(run_dir / "inputs" / "limits.yaml")
    store = RunStore(run_dir / "run.h5")
    attrs = store.read_attrs()
    otdr = lf.parameter("otdr")
    cord = float(otdr.get("launch_cord_m", 0.0))
    view = RunView(run_dir, str(attrs.get("run_id", run_dir.name)), str(attrs.get("started_utc", "")),
                   list(sf.stations), sf.route_length_km * 1000.0, list(sf.route_events))
    by_port = {(s, f.otdr_port.get(s)): f.name for f in sf.fibres for s in sf.stations}
    long_pulse = float(otdr["pulse_width_ns"])
    for row in store.read_acquisitions().values():
        kind = row.get("kind")
        if kind == "otdr" and float(row.get("pulse_width_ns", 0)) == long_pulse:
            fibre = row.get("fibre") or by_port.get((row["station"], int(row.get("port", -1))), "")
            x = row["arrays"]["x"] - cord
            y = row["arrays"]["y"]
            try:
                analysis = analyse_otdr(x, y, pulse_width_ns=float(row["pulse_width_ns"]),
                                        group_index=float(row["group_index"]),
                                        wavelength_nm=float(row["wavelength_nm"]))
            except (ValueError, ArithmeticError) as exc:
                raise HarnessError(f"{run_dir}: OTDR trace {row['path']} cannot be analysed: {exc}") from None
            key = (str(row["station"]), fibre, float(row["wavelength_nm"]))
            view.traces[key] = Trace(*key, x, y, analysis)
        elif kind == "osa" and row.get("fibre"):
            view.channels[(row["station"], row["fibre"])] = find_channels(
                row["arrays"]["x"], row["arrays"]["y"], rbw_nm=float(row["rbw_nm"]),
                spacing_ghz=float(lf.parameter("osa").get("grid_spacing_ghz", 100.0)))
        elif kind == "pm" and row.get("fibre"):
            q = float(row["arrays"]["q_db"][0]) if "q_db" in row["arrays"] else math.nan
            view.q_db[(row["station"], row["fibre"])] = q
    if len(view.stations) == 2:
        first, second = view.stations
        for (station, fibre, wl), trace in view.traces.items():
            other = view.traces.get((second, fibre, wl))
            if station == first and other is not None:
                view.joined[(fibre, wl)] = merge(trace.analysis, other.analysis, view.length_m)
    if not view.traces and not view.channels and not view.q_db:
        raise HarnessError(f"{run_dir}: holds no OTDR trace, OSA sweep or PM reading to compare")
    return view
