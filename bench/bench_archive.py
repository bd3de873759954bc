"""Archive benchmark, ratios measured in one run: rejudge throughput on 1 worker against one
worker per core (scaling ratio), index time per 1000 runs against reading the same runs once
with h5py, and the memory of a rejudge worker (peak RSS) against an idle one.

A synthetic archive of ``runs`` campaigns (default 24) is written first (``archive synth``,
one worker per core; its time is printed too). Rejudge: every run judged with the plan
replayed over it (as ``harness archive rejudge``), on a local Dask cluster of 1 worker, then of
one worker per core; each pass gets its own results folder. Index: ``update_index`` from
nothing, then again with nothing changed; the h5py baseline opens every ``run.h5`` and reads
every dataset once. A plain script: it prints and asserts nothing.
Run: ``python bench/bench_archive.py [runs]``.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import h5py  # noqa: E402

from harness.archive.cluster import dask_client, run_tasks  # noqa: E402
from harness.archive.index import archive_dir, find_runs, load_runs, update_index  # noqa: E402
from harness.defaults import LIMITS  # noqa: E402
from harness.archive.rejudge import rejudge_run, result_dir  # noqa: E402
from harness.archive.synth import synthesize  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak resident set size (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def rejudge_pass(root: Path, workers: int, limits: Path) -> tuple[float, list[float], list[float]]:
    """(wall s, idle RSS per worker MB, peak RSS per worker MB) of judging every run once."""
    out = result_dir(root, limits)
    out.mkdir(parents=True, exist_ok=True)
    todo = [(str(root), r["run_dir"], r["run_sha256"], str(limits),
             str(out / f"{r['run_sha256'][:16]}.parquet")) for r in load_runs(root) if r["status"] == "ok"]
    with dask_client(workers) as client:
        idle = list(client.run(current_rss_mb).values())
        t0 = time.perf_counter()
        failed = [reason for _, _, reason in run_tasks(client, rejudge_run, todo, "rejudge", False) if reason]
        wall = time.perf_counter() - t0
        peak = list(client.run(peak_rss_mb).values())
    if failed:
        print(f"  {len(failed)} run(s) failed: {failed[0]}")
    return wall, idle, peak


def h5py_read_all(root: Path) -> float:
    """Seconds to open every run.h5 under ``root`` and read every dataset once."""
    def read(name: str, obj: object) -> None:  # visititems stops at a non-None return
        if isinstance(obj, h5py.Dataset):
            obj[()]

    t0 = time.perf_counter()
    for run in find_runs(root):
        with h5py.File(run / "run.h5", "r") as f:
            f.visititems(read)
    return time.perf_counter() - t0


def main(runs: int = 24) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    root = work / "root"
    try:
        t0 = time.perf_counter()
        synthesize(root, runs, 5.0, seed=11, workers=cores, progress=False)
        synth_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
        print(f"archive: {runs} synthetic runs, {size:.0f} MB, written in {synth_s:.1f} s on "
              f"{cores} worker(s) ({runs / synth_s:.2f} runs/s)")

        t0 = time.perf_counter()
        update_index(root)
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        update_index(root)
        again_s = time.perf_counter() - t0
        h5_s = h5py_read_all(root)
        per_k = 1000.0 / runs
        print(f"index from nothing: {index_s * per_k:.1f} s per 1000 runs; unchanged re-index "
              f"{again_s * per_k:.2f} s per 1000 runs; h5py read-all baseline "
              f"{h5_s * per_k:.1f} s per 1000 runs")
        print(f"  ratio index / h5py read-all = {index_s / h5_s:.2f} (includes SHA-256 of every "
              f"file for verification); unchanged re-index / h5py = {again_s / h5_s:.3f}")

        results = {}
        for n in sorted({1, cores}):
            limits = work / f"limits-{n}.yaml"
            limits.write_text(LIMITS.read_text() + f"\n# bench pass with {n} worker(s)\n")
            results[n] = rejudge_pass(root, n, limits)
            wall, idle, peak = results[n]
            print(f"rejudge on {n} worker(s): {wall:.1f} s, {runs / wall:.2f} runs/s; worker RSS "
                  f"idle {max(idle):.0f} MB, peak {max(peak):.0f} MB")
        if cores > 1:
            print(f"  scaling ratio (throughput {cores} workers / 1 worker) = "
                  f"{results[1][0] / results[cores][0]:.2f} (ideal {cores})")
        wall, idle, peak = results[cores]
        print(f"  memory per worker: peak / idle = {max(peak) / max(idle):.2f} "
              f"(peak {max(peak):.0f} MB: bounded, one run at a time)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(archive_dir(root), ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
