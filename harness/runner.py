"""Running a test plan as an acceptance run, and finishing a run folder.

A run folder holds ``run.h5`` (the record), ``junit.xml``, ``summary.json``, ``report.pdf``,
``inputs/`` (the station and limits files used) and ``manifest.json`` (SHA-256 of all of them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from harness.config import (StationFile, load_limits_file, load_station_file,
                            self_contained_station_yaml)
from harness.credentials import instrument_logins, simulator_logins
from harness.errors import HarnessError, RunInterrupted, StoreError
from harness.manifest import sha256_file, verify_manifest, write_manifest
from harness.preflight import InstrumentCheck, preflight, require_ready
from harness.simproc import SimulatorHandover, SimulatorProcess, start_for
from harness.store import RunStore
from harness.summary import print_summary, write_summary

from harness.defaults import DEFAULT_LIMITS, DEFAULT_PLAN, DEFAULT_RESULTS, DEFAULT_STATION


def new_run_id(suffix: str = "") -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{suffix}" if suffix else stamp


PROBE_BYTES = 1024 * 1024
"""Bytes the results-folder probe writes and fsyncs: about 4x the largest step file of a run
(a 380 km OTDR trace, ~270 kB compressed), so a disk that cannot take the next step fails now."""
MIN_FREE_BYTES = 64 * 1024 * 1024
"""Free space a run needs on the results filesystem (a whole simulated campaign takes ~20 MB)."""


def prepare_run_dir(results: Path, run_id: str) -> Path:
    """Create the run folder; a read-only or full results folder is refused now, before any shot.

    The folder's filesystem must have :data:`MIN_FREE_BYTES` free, and :data:`PROBE_BYTES`
    must be written and fsync'd in it (a read-only mount, a quota, a file-size limit or a
    failing disk shows here). On refusal nothing is left behind.
    """
    if not re.fullmatch(r"[A-Za-z0-9_+=-][A-Za-z0-9._+=-]{0,199}", run_id):
        raise StoreError(f"run id {run_id[:80]!r}: use letters, digits and . _ + = - "
                         "(not starting with a dot)")
    run_dir = Path(results) / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise StoreError(f"{run_dir}: a run with this id exists already") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{results}: cannot write results: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        stats = os.statvfs(run_dir)
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            raise StoreError(f"{results}: only {free / 1e6:.1f} MB free, a run needs "
                             f"{MIN_FREE_BYTES / 1e6:.0f} MB")
        probe = run_dir / ".write-test"
        with open(probe, "wb") as f:
            f.write(b"\0" * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except (OSError, StoreError) as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"{results}: cannot write results: {exc.strerror or exc}") from None
    return run_dir


def pytest_args(plan: Path, station: Path, limits: Path, run_dir: Path,
                credentials: Path | None = None) -> list[str]:
    """The pytest command line that runs ``plan`` into ``run_dir`` through the harness plugin
    (``credentials``: the credentials file's path; no password is ever on a command line).

    Only the harness plugin is loaded: a pytest plugin that happens to be installed on the
    laptop (xdist, randomly, rerunfailures, hypothesis...) must not reorder, rerun or slow a
    campaign."""
    return [str(plan), "--station", str(station), "--limits", str(limits),
            "--run-dir", str(run_dir), "--junitxml", str(run_dir / "junit.xml"),
            "--disable-plugin-autoload", "-p", "harness.plugin", "-p", "no:cacheprovider",
            "--strict-markers", "-q", "--no-header", "-rN",
            "--rootdir", str(Path(plan).resolve().parent)] + (
        ["--credentials", str(credentials)] if credentials else [])


def run_plan(station: Path = DEFAULT_STATION, limits: Path = DEFAULT_LIMITS,
             results: Path = DEFAULT_RESULTS, plan: Path = DEFAULT_PLAN, run_id: str | None = None,
             replay: list[Path] | None = None, operator: str = "", quiet: bool = False,
             yes: bool = False, answers: Path | None = None,
             allow_live_fibre: bool = False,
             credentials: Path | None = None) -> tuple[Path, int]:
    """Run ``plan`` against ``station``; returns (run folder, exit code: 0 pass, 1 fail/error).

    ``allow_live_fibre``: the OTDR may fire into a fibre carrying traffic (recorded).
    ``credentials``: credentials file of the instrument logins (see harness.credentials)."""
    station_file = load_station_file(station)
    load_limits_file(limits)
    if not replay:  # every login resolvable now, before a run folder exists
        instrument_logins(station_file, credentials)
        simulator_logins(station_file)
    if not Path(plan).exists():
        raise HarnessError(f"{plan}: no such test plan")
    sim = None if replay else ready_instruments(station_file, credentials)
    try:
        run_dir = prepare_run_dir(Path(results), run_id or new_run_id())
        inputs = run_dir / "inputs"
        inputs.mkdir()
        (inputs / "station.yaml").write_text(self_contained_station_yaml(station))
        shutil.copy2(limits, inputs / "limits.yaml")
    except BaseException:
        if sim is not None:
            sim.stop()
        raise
    args = pytest_args(plan, station, limits, run_dir, None if replay else credentials)
    if operator or station_file.operator:
        args += ["--operator", operator or station_file.operator]
    for source in replay or []:
        args += ["--replay", str(source)]
    if yes:
        args.append("--yes")
    if answers:
        args += ["--answers", str(answers)]
    if allow_live_fibre:
        args.append("--allow-live-fibre")
    code = run_pytest(args, sim)
    if code == pytest.ExitCode.INTERRUPTED:
        # judging the checks done so far would call a part of the campaign a pass: leave the
        # durable steps for 'harness resume' and say so
        raise RunInterrupted(f"run interrupted; every completed measurement is kept in {run_dir}: "
                             f"continue with 'harness resume {run_dir}'")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        if not (run_dir / "run.h5").exists():
            raise HarnessError(f"the test plan did not run (pytest exit {int(code)})")
    summary = finish_run(run_dir)
    if not quiet:
        print_summary(summary, run_dir)
    return run_dir, 0 if summary["overall_verdict"] == "pass" else 1


def resume_run(run_dir: Path, plan: Path | None = None, quiet: bool = False,
               credentials: Path | None = None) -> tuple[Path, int]:
    """Continue a killed run in place: every verified measurement is served from its step file,
    the rest are taken, every check is judged again, and the run folder is finished."""
    run_dir = Path(run_dir)
    store = RunStore(run_dir / "run.h5")
    if not store.journal.path.exists():
        raise StoreError(f"{run_dir}: not a run folder (no steps/journal.jsonl)")
    attrs = store.run_attrs()
    station = Path(attrs.get("station_file", ""))
    if not station.is_file() or sha256_file(station) != attrs.get("station_file_sha256"):
        raise StoreError(f"{run_dir}: the station file {station} is gone or changed since the run started")
    limits = run_dir / "inputs" / "limits.yaml"
    stored_plan = Path(attrs.get("plan", "").split(",")[0]) if attrs.get("plan") else DEFAULT_PLAN
    plan = Path(plan) if plan else stored_plan
    instrument_logins(load_station_file(station), credentials, run_dir)
    args = pytest_args(plan, station, limits, run_dir, credentials) + ["--resume"]
    if attrs.get("operator"):
        args += ["--operator", attrs["operator"]]
    if attrs.get("allow_live_fibre"):
        args.append("--allow-live-fibre")
    sim = ready_instruments(load_station_file(station), credentials)
    if run_pytest(args, sim) == pytest.ExitCode.INTERRUPTED:
        raise RunInterrupted(f"resume interrupted; every completed measurement is kept in "
                             f"{run_dir}: continue with 'harness resume {run_dir}'")
    summary = finish_run(run_dir)
    if not quiet:
        print_summary(summary, run_dir)
    return run_dir, 0 if summary["overall_verdict"] == "pass" else 1


def ready_instruments(station_file: StationFile,
                      credentials: Path | None = None) -> SimulatorProcess | None:
    """Start the station file's simulator, if it has one, and run the preflight with the logins
    the run will use (``credentials``: a credentials file): every instrument answers, accepts
    the login and is the model named, or :class:`~harness.preflight.PreflightFailed` (the
    simulator stopped). Returns the running simulator for the run to use."""
    logins = instrument_logins(station_file, credentials)
    sim = start_for(station_file)
    try:
        require_ready(preflight(station_file, logins=logins))
    except BaseException:
        if sim is not None:
            sim.stop()
        raise
    return sim


def check_station(station: Path, credentials: Path | None = None) -> list[InstrumentCheck]:
    """``harness check``: the preflight alone, with the run's logins (a simulated station is
    started and stopped)."""
    station_file = load_station_file(station)
    logins = instrument_logins(station_file, credentials)
    simulator_logins(station_file)
    sim = start_for(station_file)
    try:
        return preflight(station_file, logins=logins)
    finally:
        if sim is not None:
            sim.stop()


def run_pytest(args: list[str], sim: SimulatorProcess | None) -> int:
    """``pytest.main(args)``, handing it the simulator the preflight started (stopped after)."""
    try:
        return pytest.main(args, plugins=[SimulatorHandover(sim)] if sim else None)
    finally:
        if sim is not None:
            sim.stop()


def finish_run(run_dir: Path, signers: Path | None = None) -> dict:
    """Write summary.json, report.pdf and manifest.json for a run folder; ``signers`` (a
    signers file) is kept as ``inputs/signers.yaml`` and named on the sign-off page."""
    from harness.report import build_report
    from harness.signing import load_signers, signers_yaml

    if signers:
        text = signers_yaml(load_signers(signers))
        (Path(run_dir) / "inputs").mkdir(exist_ok=True)
        (Path(run_dir) / "inputs" / "signers.yaml").write_text(text)
    summary = write_summary(run_dir)
    build_report(run_dir)
    write_manifest(run_dir)
    return summary


def replay_run(run_dir: Path, limits: Path | None = None, results: Path | None = None,
               plan: Path | None = None, trust: bool = False, quiet: bool = False) -> tuple[Path, int, list[str]]:
    """Re-judge a stored run from its record with no instrument attached.

    Returns (new run folder, exit code, differences from the original verdicts).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.h5").exists():
        raise StoreError(f"{run_dir}: not a run folder (no run.h5)")
    if not trust:
        problems = verify_manifest(run_dir)
        if problems:
            raise StoreError(f"{run_dir}: refusing to replay a run whose files changed: {problems[0]}")
    original = RunStore(run_dir / "run.h5")
    attrs = original.read_attrs()
    station = run_dir / "inputs" / "station.yaml"
    limits = Path(limits) if limits else run_dir / "inputs" / "limits.yaml"
    stored_plan = Path(attrs.get("plan", "").split(",")[0]) if attrs.get("plan") else DEFAULT_PLAN
    plan = Path(plan) if plan else (stored_plan if stored_plan.exists() else DEFAULT_PLAN)
    new_dir, code = run_plan(station, limits, Path(results) if results else run_dir.parent, plan,
                             run_id=new_run_id(f"replay-of-{attrs.get('run_id', run_dir.name)}"),
                             replay=[run_dir], quiet=quiet,
                             allow_live_fibre=bool(attrs.get("allow_live_fibre")))
    before = {k: v["verdict"] for k, v in original.read_checks().items()}
    after = {k: v["verdict"] for k, v in RunStore(new_dir / "run.h5").read_checks().items()}
    diffs = [f"{k}: {before.get(k, 'absent')} -> {after.get(k, 'absent')}"
             for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return new_dir, code, diffs



def merge_runs(run_a: Path, run_b: Path, results: Path | None = None, plan: Path | None = None,
               trust: bool = False, quiet: bool = False) -> tuple[Path, int]:
    """Join two single-station runs (one per landing station) into one acquisition run.

    The merged station file holds both stations' instruments; the plan is replayed over the
    acquisitions of both runs, so the checks that need both ends (splice loss averaged over
    two directions, stitched end-to-end loss) are judged too.
    """
    import yaml

    runs = [Path(run_a), Path(run_b)]
    merged: dict | None = None
    for run in runs:
        if not (run / "run.h5").exists():
            raise StoreError(f"{run}: not a run folder (no run.h5)")
        if not trust:
            problems = verify_manifest(run)
            if problems:
                raise StoreError(f"{run}: refusing to merge a run whose files changed: {problems[0]}")
        data = yaml.safe_load((run / "inputs" / "station.yaml").read_text())
        if merged is None:
            merged = data
        else:
            for station, roles in data.get("stations", {}).items():
                if station in merged["stations"]:
                    raise HarnessError(f"{run}: station {station} is in both runs")
                merged["stations"][station] = roles
    merged.pop("simulator", None)
    used = {}
    for run in runs:  # the addresses the instruments really had (nothing is opened: replayed)
        for station, roles in RunStore(run / "run.h5").read_instruments().items():
            for role, attrs in roles.items():
                used[(station, role)] = attrs.get("resource", "")
    for station, roles in merged["stations"].items():
        for role, spec in roles.items():
            if spec.get("resource") == "sim":
                spec["resource"] = used.get((station, role), "sim")
    results = Path(results) if results else runs[0].parent
    staging = results / f".merge-{new_run_id()}.yaml"
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.write_text(yaml.safe_dump(merged, sort_keys=False))
    names = "+".join(r.name for r in runs)
    stored_plan = RunStore(runs[0] / "run.h5").read_attrs().get("plan", "").split(",")[0]
    plan = Path(plan) if plan else (Path(stored_plan) if stored_plan and Path(stored_plan).exists() else DEFAULT_PLAN)
    try:
        return run_plan(staging, runs[0] / "inputs" / "limits.yaml", results, plan,
                        run_id=new_run_id(f"merge-of-{names}"), replay=runs, quiet=quiet)
    finally:
        staging.unlink(missing_ok=True)
