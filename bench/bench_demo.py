"""Demo benchmark: the wall time of the whole simulated campaign, as ``make demo`` runs it once
the venv exists (``harness run`` on ``test_plans/stations/sim.yaml``, here into a temporary
results folder), against the 60 s target of issue #6, as a ratio.

The split comes from the same run: the run prints one line per check when its output is not a
terminal (harness/progress.py), and each line is time-stamped here as it arrives:
- start: process start to "Running N checks" (imports, files, simulator start, collection);
  the simulator's own start-up is measured alone beside it (``SimulatorProcess``);
- checks: from there to the last check's line, with the time per kind of check (the
  durations the lines carry, summed by test function);
- finish: from there to the exit (run.h5 assembled, summary, report PDF, manifest, summary
  printed).
A plain script: it prints and asserts nothing. Run: ``python bench/bench_demo.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATION = REPO / "test_plans" / "stations" / "sim.yaml"
TARGET_S = 60.0
CHECK_LINE = re.compile(r"\[ *(\d+)/(\d+)\] (\w+) +(?:\S+ +)?\S+::(\w+)\S*  \(([\d.]+) s\)$")


def one_run(results: Path) -> dict:
    """Run the campaign once; wall times (s) of its phases and per-check-kind durations."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--station", str(STATION),
                             "--results", str(results), "--run-id", "bench"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = last_check = None
    per_kind: dict[str, float] = defaultdict(float)
    verdicts: dict[str, int] = defaultdict(int)
    for line in proc.stdout:
        now = time.perf_counter() - t0
        if line.startswith("Running ") and started is None:
            started = now
        m = CHECK_LINE.search(line.rstrip())
        if m:
            last_check = now
            verdicts[m.group(3)] += 1
            per_kind[m.group(4)] += float(m.group(5))
    err = proc.stderr.read()
    code = proc.wait()
    total = time.perf_counter() - t0
    if started is None or last_check is None:
        raise SystemExit(f"the run printed no progress lines (exit {code}): {err.strip()[-500:]}")
    return {"total": total, "start": started, "checks": last_check - started,
            "finish": total - last_check, "per_kind": dict(per_kind), "verdicts": dict(verdicts),
            "code": code}


def simulator_start_s() -> float:
    """Wall time (s) to start the simulated stations alone and learn their addresses."""
    sys.path.insert(0, str(REPO))
    from harness.config import load_station_file
    from harness.simproc import SimulatorProcess

    sim_cfg = load_station_file(STATION).simulator
    t = time.perf_counter()
    sim = SimulatorProcess(sim_cfg["span"], sim_cfg.get("faults") or [],
                           instrument_faults=sim_cfg.get("instrument_faults") or [])
    elapsed = time.perf_counter() - t
    sim.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="campaign runs (median reported)")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
            runs.append(one_run(Path(tmp)))
    sim_s = statistics.median(simulator_start_s() for _ in range(3))
    med = {k: statistics.median(r[k] for r in runs) for k in ("total", "start", "checks", "finish")}
    last = runs[-1]
    n_checks = sum(last["verdicts"].values())
    each = ", ".join(f"{r['total']:.1f}" for r in runs)
    print(f"Demo campaign ({STATION.relative_to(REPO)}): {n_checks} checks, exit {last['code']}, "
          f"verdicts {dict(sorted(last['verdicts'].items()))}; median of {len(runs)} run(s)")
    print(f"  wall time       {med['total']:6.1f} s   ratio to the {TARGET_S:.0f} s target "
          f"{med['total'] / TARGET_S:.2f} (runs {each} s; target <= 1)")
    print(f"  start           {med['start']:6.1f} s   (simulator start-up alone: {sim_s:.1f} s)")
    print(f"  checks          {med['checks']:6.1f} s")
    for kind, spent in sorted(last["per_kind"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"    {kind:34s} {spent:6.1f} s")
    print(f"  finish          {med['finish']:6.1f} s   (run.h5, summary, report PDF, manifest)")


if __name__ == "__main__":
    main()
