"""``harness archive synth``: an archive of periodic campaigns on the simulated span, with ageing.

SYNTHETIC: each run's acquisitions are computed directly from the span model (the simulated
instruments' own physics: :func:`instruments.sim.otdr_physics.otdr_trace`,
:func:`~instruments.sim.osa_physics.osa_spectrum`, the AQ6370 WDM analysis,
:func:`~instruments.sim.transponder_physics.pm_values`) and stored as the recording
instruments would store them, WITHOUT going through the instruments' transport (no SCPI, no
TL1, no simulator process): that is what makes thousands of runs affordable. Every run says so
in its root attribute ``provenance``. The checks of each run are then judged by the real
acceptance plan replayed over those acquisitions (:mod:`harness.archive.judge`), so a
synthetic run folder holds what a real one holds (``run.h5`` schema ``caspian-harness/run/1``,
``junit.xml``, ``summary.json``, ``inputs/``, ``steps/``, ``manifest.json``) except the
report PDF (``harness report RUN_DIR`` builds it on demand).

To keep size and time down each run covers a few fibres (default one, FP2-F1) at 1550 nm only
(no 1625 nm shots, so no macrobend check). Ageing on the first fibre (ground truth in
``ROOT/truth.json``): one factory splice's loss grows linearly; a bend appears at a date; a cut
is found by one campaign (a break) and repaired before the next with two new splices.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness import __version__
from harness.archive.version import analysis_version
from harness.archive.judge import judge, scratch_dir
from harness.defaults import LIMITS, PLAN
from harness.config import load_limits_file, load_station_file, self_contained_station_yaml
from harness.errors import HarnessError
from harness.manifest import write_manifest
from harness.recording import (STATES, WDM_EXTRA, history_request, osa_request, otdr_request,
                               pm_request, state_request, wdm_request)
from harness.steps import Journal
from harness.store import RunStore
from harness.summary import write_summary
from instruments.protocols import PM_FIELDS, OsaSettings, OtdrSettings
from instruments.sim.osa_aq6370 import wdm_analysis
from instruments.sim.osa_physics import osa_spectrum
from instruments.sim.otdr_physics import launch_cord_m, otdr_trace
from instruments.sim.span import DEFAULT_SPAN, Event, Span, load_span, stable_seed
from instruments.sim.transponder_physics import BIN_S, DARK_DBM, pm_values

REPO = Path(__file__).resolve().parents[2]
SIM_STATION = REPO / "test_plans" / "stations" / "sim.yaml"
TRUTH = "truth.json"
PROVENANCE = ("SYNTHETIC (harness archive synth): acquisitions computed from the span model "
              "(instruments.sim physics) and stored as the recording instruments store them, "
              "without the instruments' transport; checks judged by the acceptance plan "
              "replayed over them. Ageing: see truth.json at the archive root.")
START = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
"""Date of the first (acceptance) campaign."""
DAYS_PER_YEAR = 365.25


def scenario(span: Span, fibre: str, years: float, seed: int) -> dict[str, Any]:
    """The injected ageing (ground truth), dates as fractions of a year from :data:`START`:
    the factory splice nearest 123.5 km grows 0.02 dB/year at 1550 nm (0.025 at 1625); a bend
    (0.25 dB at 1550 nm, 1.0 at 1625) appears at 147 km after 40 % of the period; a cut at
    250 km is found after 70 % and repaired with two new splices 3 km apart (the repair
    inserts a bight of cable, 2-3 times the water depth; the fibre's added length is left out:
    the splices sit 1.5 km either side of the cut). 3 km is beyond a 20 µs pulse (~2 km), so
    the OTDR resolves them as two events."""
    rng = np.random.default_rng(stable_seed(seed, "scenario"))
    splices = [e for e in span.fibre(fibre).events if e.kind == "splice"]
    aged = min(splices, key=lambda e: abs(e.position_km - 123.5))
    cut_km = round(250.0 + float(rng.uniform(-5, 5)), 3)
    return {
        "fibre": fibre, "start_utc": START.isoformat(), "years": years, "seed": seed,
        "wavelengths_nm": [1550.0],
        "splice_ageing": {"distance_km": aged.position_km,
                          "loss_db_at_start": aged.loss_db.get(1550.0),
                          "rate_db_per_year": {"1550": 0.02, "1625": 0.025}},
        "bend": {"distance_km": 147.0, "from_year": round(0.4 * years, 4),
                 "loss_db": {"1550": 0.25, "1625": 1.0}},
        "cut": {"distance_km": cut_km, "found_year": round(0.7 * years, 4),
                "repair_splices": [{"distance_km": round(cut_km - 1.5, 3), "loss_db": 0.07},
                                   {"distance_km": round(cut_km + 1.5, 3), "loss_db": 0.06}]},
    }


def span_at(base: Span, truth: dict[str, Any], year: float, cut_campaign: bool,
            noise_seed: int) -> Span:
    """The span as campaign ``year`` (years from the start) sees it: ``base`` with the ageing
    of ``truth`` applied, and its own measurement noise (``noise_seed``)."""
    span = dataclasses.replace(base, fibres=copy.deepcopy(base.fibres), seed=noise_seed)
    fb = span.fibre(truth["fibre"])
    age = truth["splice_ageing"]
    events = []
    for e in fb.events:
        if e.kind == "splice" and e.position_km == age["distance_km"]:
            grown = {float(wl): e.loss_db.get(1550.0, 0.0) + rate * year
                     for wl, rate in age["rate_db_per_year"].items()}
            e = dataclasses.replace(e, loss_db=grown)
        events.append(e)
    bend = truth["bend"]
    if year >= bend["from_year"]:
        events.append(Event(bend["distance_km"], "bend",
                            {float(k): v for k, v in bend["loss_db"].items()}, label="bend"))
    cut = truth["cut"]
    if cut_campaign:
        fb.break_km = cut["distance_km"]
    elif year >= cut["found_year"]:
        events += [Event(s["distance_km"], "splice", {1550.0: s["loss_db"]}, label="repair splice")
                   for s in cut["repair_splices"]]
    fb.events = sorted(events, key=lambda e: e.position_km)
    return span


def _station_file(work: Path, fibres: list[str]) -> Path:
    """The simulated station file cut down to ``fibres`` at 1550 nm, self-contained."""
    data = yaml.safe_load(SIM_STATION.read_text())
    data["simulator"]["span"] = str(DEFAULT_SPAN)
    data["route"]["plan"] = str((SIM_STATION.parent / data["route"]["plan"]).resolve())
    data["fibres"] = {k: v for k, v in data["fibres"].items() if k in fibres}
    if len(data["fibres"]) != len(fibres):
        raise HarnessError(f"--fibres {','.join(fibres)}: not all are fibres of {SIM_STATION.name}")
    data["wavelengths_nm"] = [1550]
    data["operator"] = "synth"
    data["campaign"] = "Trans-Caspian periodic campaign (SYNTHETIC archive)"
    staged = work / "station-staged.yaml"
    staged.write_text(yaml.safe_dump(data, sort_keys=False))
    out = work / "station.yaml"
    out.write_text(self_contained_station_yaml(staged))
    staged.unlink()
    return out


def synthesize(root: Path, runs: int, years: float, seed: int = 1,
               fibres: tuple[str, ...] = ("FP2-F1",), workers: int | None = None,
               scheduler: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Write ``runs`` campaigns evenly spread over ``years`` into ``root`` (created; must not
    hold run folders already) on Dask; returns the ground truth (also ``root/truth.json``)."""
    from harness.archive.cluster import check_scheduler, dask_client, run_tasks

    if runs < 2 or not 0 < years <= 50:
        raise HarnessError("synth: --runs must be 2 or more and --years in (0, 50]")
    root = Path(root)
    if root.exists() and any(p.name != ".archive" for p in root.iterdir()):
        raise HarnessError(f"{root}: not empty; synth writes a new archive")
    if scheduler:
        check_scheduler(scheduler)  # before a folder is made
    work = root / ".archive" / "synth"
    work.mkdir(parents=True, exist_ok=True)
    station = _station_file(work, list(fibres))
    limits = work / "limits.yaml"
    shutil.copy2(LIMITS, limits)
    truth = scenario(load_span(DEFAULT_SPAN), fibres[0], years, seed)
    step = years / (runs - 1)
    found = truth["cut"]["found_year"]
    cut_index = int(np.ceil(found / step - 1e-9))
    items, rows = [], []
    for i in range(runs):
        year = round(i * step, 6)
        when = START + dt.timedelta(days=year * DAYS_PER_YEAR)
        run_id = f"{when:%Y%m%dT%H%M%SZ}-synth-{i:05d}"
        rows.append({"run_id": run_id, "utc": when.isoformat(timespec="seconds"), "year": year,
                     "bend": year >= truth["bend"]["from_year"], "break": i == cut_index,
                     "repaired": i > cut_index})
        items.append((str(root), run_id, when.isoformat(timespec="seconds"), year,
                      i == cut_index, stable_seed(seed, "run", i), str(station), str(limits),
                      list(fibres), truth))
    truth["runs"] = rows
    failed = []
    with dask_client(workers, scheduler) as client:
        for item, _, reason in run_tasks(client, write_run, items, "synth", progress):
            if reason:
                failed.append({"run_id": item[1], "reason": reason})
    truth["failed"] = failed
    (root / TRUTH).write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def write_run(root: str, run_id: str, utc: str, year: float, cut_campaign: bool,
              noise_seed: int, station: str, limits: str, fibres: list[str],
              truth: dict[str, Any]) -> str:
    """Write one synthetic run folder (a Dask task); returns its overall verdict."""
    final = Path(root) / run_id
    if final.exists():
        raise HarnessError(f"{final}: exists already")
    staging = scratch_dir("synth")  # written in RAM (every step is fsync'd), then moved in
    try:
        verdict = _write_run(staging / run_id, utc, year, cut_campaign, noise_seed, station,
                             limits, truth)
        shutil.copytree(staging / run_id, final.with_name(f".{run_id}.partial"))
        os.replace(final.with_name(f".{run_id}.partial"), final)
        return verdict
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_run(run_dir: Path, utc: str, year: float, cut_campaign: bool, noise_seed: int,
               station: str, limits: str, truth: dict[str, Any]) -> str:
    run_id = run_dir.name
    (run_dir / "inputs").mkdir(parents=True)
    shutil.copy2(station, run_dir / "inputs" / "station.yaml")
    shutil.copy2(limits, run_dir / "inputs" / "limits.yaml")
    sf = load_station_file(run_dir / "inputs" / "station.yaml")
    lf = load_limits_file(run_dir / "inputs" / "limits.yaml")
    span = span_at(_base_span(), truth, year, cut_campaign, noise_seed)
    store = RunStore(run_dir / "run.h5")
    store.create({
        "run_id": run_id, "campaign": sf.campaign, "cable": sf.cable,
        "span_length_km": sf.route_length_km, "route": " – ".join(sf.stations),
        "stations": json.dumps(sf.stations), "operator": "synth",
        "station_file": str(run_dir / "inputs" / "station.yaml"), "station_file_sha256": sf.sha256,
        "limits_file": str(lf.path), "limits_file_sha256": lf.sha256,
        "software_version": __version__, "started_utc": utc, "finished_utc": utc,
        "overall_verdict": "error", "plan": str(PLAN), "allow_live_fibre": False,
        "provenance": PROVENANCE, "synthetic": True, "analysis_version": analysis_version()})
    _acquire(store, sf, lf, span, dt.datetime.fromisoformat(utc).timestamp())
    store.consolidate()
    _record_checks(run_dir, store)
    write_summary(run_dir)
    write_manifest(run_dir)
    return store.run_attrs().get("overall_verdict", "error")


_BASE: dict[str, Span] = {}


def _base_span() -> Span:
    """The default span, loaded once per worker process."""
    if "span" not in _BASE:
        _BASE["span"] = load_span(DEFAULT_SPAN)
    return _BASE["span"]


def _otdr_settings(lf: Any, wavelength_nm: float, section: str = "otdr") -> OtdrSettings:
    p, o = lf.parameter(section), lf.parameter("otdr")
    return OtdrSettings(wavelength_nm=float(p.get("wavelength_nm", wavelength_nm)),
                        pulse_width_ns=float(p["pulse_width_ns"]), range_km=float(p["range_km"]),
                        averaging_s=float(p["averaging_s"]), resolution_m=float(p["resolution_m"]),
                        group_index=float(o["group_index"]))


def _acquire(store: RunStore, sf: Any, lf: Any, span: Span, t0: float) -> None:
    """Store the acquisitions the plan asks for, computed from ``span`` (see module doc)."""
    idn = {"otdr": "SYNTH,OTDR-PHYSICS,0,{}", "osa": "SYNTH,OSA-PHYSICS,0,{}",
           "transponder": "SYNTH,COHERENT-SHELF,{},1.0"}
    for station, roles in sf.instruments.items():
        for role, spec in roles.items():
            store.add_instrument(station, role, {"model": spec.model, "resource": "synthetic",
                                                 "idn": idn[role].format(station)})
    cord = launch_cord_m(span)
    shots = [_otdr_settings(lf, wl) for wl in sf.wavelengths_nm] + [
        _otdr_settings(lf, 1550.0, "reflectance")]
    for station in sf.stations:
        other = next(s for s in sf.stations if s != station)
        for f in sf.fibres:
            port = f.otdr_port[station]
            for settings in shots:
                level = otdr_trace(span, f.name, station, settings, cord)
                x = np.arange(len(level), dtype=np.float64) * settings.resolution_m
                store.add_acquisition(
                    otdr_request(station, port, settings), x, level, ("m", "Distance"),
                    ("dB", "Level (5·log10)"),
                    {"kind": "otdr", "station": station, "port": port,
                     "instrument_idn": idn["otdr"].format(station), **dataclasses.asdict(settings),
                     "fibre": f.name, "direction": f"{station}→{other}"})
        aids = {f.och for f in sf.fibres}
        for aid in sorted(aids):  # the interlock's readings before each shot: dark, out of service
            for n in range(len(shots) * len(sf.fibres) + 1):
                store.add_acquisition(
                    state_request(station, aid, n), np.array([STATES.index("OOS")]),
                    np.array([DARK_DBM]), ("1", "In service (1) or not (0)"), ("dBm", "Tx power"),
                    {"kind": "och", "station": station, "aid": aid, "state": "OOS",
                     "fibre": "", "direction": ""}, {"rx_power_dbm": np.array([DARK_DBM])})
    p = lf.parameter("osa")
    osa = OsaSettings(start_nm=float(p["start_nm"]), stop_nm=float(p["stop_nm"]),
                      rbw_nm=float(p["rbw_nm"]), points=int(p["points"]))
    bins = max(int(round(float(lf.parameter("soak")["duration_h"]) * 3600.0 / BIN_S)), 2)
    for f in sf.fibres:
        rx, where = f.rx, {"fibre": f.name, "direction": f"{f.tx}→{f.rx}"}
        wl, level = osa_spectrum(span, f.name, osa)
        base = {"kind": "osa", "station": rx, "port": f.osa_port, **dataclasses.asdict(osa), **where}
        store.add_acquisition(osa_request(rx, f.osa_port, osa), wl, level, ("nm", "Wavelength"),
                              ("dBm", "Power in RBW"),
                              {**base, "instrument_idn": idn["osa"].format(rx)})
        rows = wdm_analysis(wl, level, rbw_nm=osa.rbw_nm)
        store.add_acquisition(
            wdm_request(rx, f.osa_port, osa), np.array([r["center_nm"] for r in rows]),
            np.array([r["osnr_db"] for r in rows]), ("nm", "Channel peak wavelength"),
            ("dB", "Instrument SNR"), {**base, "kind": "osa_wdm"},
            {k: np.array([r[k] for r in rows]) for k in WDM_EXTRA})
        history = [pm_values(span, f.name, k)[0] for k in range(bins)]
        extra = {n: np.array([h.get(n, np.nan) for h in history]) for n in PM_FIELDS}
        store.add_acquisition(
            history_request(rx, f.och, bins), t0 + BIN_S * np.arange(bins), extra["q_db"],
            ("s", "Bin start (Unix time)"), ("dB", "Q"),
            {"kind": "pm_history", "station": rx, "aid": f.och, "bins": bins, **where}, extra)
        values, alarms = pm_values(span, f.name, bins)
        store.add_acquisition(
            pm_request(rx, f.och), np.array([t0 + BIN_S * bins]),
            np.array([values.get("q_db", np.nan)]), ("s", "Bin start (Unix time)"), ("dB", "Q"),
            {"kind": "pm", "station": rx, "aid": f.och, "period": "15-MIN",
             "alarms": json.dumps(alarms), **where},
            {n: np.array([values.get(n, np.nan)]) for n in PM_FIELDS})


def _record_checks(run_dir: Path, store: RunStore) -> None:
    """Judge the run with the plan (replayed over its acquisitions, in a scratch folder) and
    take the checks, prompts and JUnit report into the run's own steps; consolidate again."""
    scratch = scratch_dir("judge")
    try:
        judged = judge(run_dir, scratch / "run")
        src = Journal(judged.parent / "steps")
        for name, entry in sorted(src.verified().items()):
            if name.startswith("check-"):
                shutil.copy2(judged.parent / "steps" / name, store.steps / name)
                store.journal.append(name, entry["sha256"], check=entry.get("check", ""),
                                     verdict=entry.get("verdict", ""))
        prompts = json.loads((judged.parent / "steps" / "prompts.json").read_text()) \
            if (judged.parent / "steps" / "prompts.json").exists() else {}
        for row in prompts.get("prompts", []):
            store.add_prompt(row)
        shutil.copy2(judged.parent / "junit.xml", run_dir / "junit.xml")
        verdict = RunStore(judged).read_attrs().get("overall_verdict", "error")
        store.set_attrs({"overall_verdict": verdict})
        store.consolidate()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


