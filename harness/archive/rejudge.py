"""``harness archive rejudge ROOT``: every indexed run judged again with the current analysis
and limits, on Dask.

One task per run folder (a worker streams one run at a time: bounded memory): the plan is
replayed over the run's stored acquisitions in a scratch folder (:mod:`harness.archive.judge`;
the run folder itself is only read), and the new rows go to
``ROOT/.archive/rejudged/<analysis version>-<limits SHA-256[:12]>/<run>.parquet``, written
atomically. A run whose file exists there (same run SHA-256, analysis version and limits) is
not judged again, so an interrupted rejudge continues where it stopped. Runs that failed
verification at indexing are not judged and are listed as failed, as are runs whose replay
fails, each with its reason.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from harness.archive.index import (REJUDGED, ROW_SCHEMA, archive_dir, check_rows, load_runs,
                                   update_index, write_table, _time)
from harness.archive.judge import judge, scratch_dir
from harness.archive.version import analysis_version
from harness.defaults import LIMITS
from harness.errors import HarnessError
from harness.store import RunStore


def result_dir(root: Path, limits: Path) -> Path:
    """Where this analysis version's results under ``limits`` go."""
    digest = hashlib.sha256(Path(limits).read_bytes()).hexdigest()
    return archive_dir(root) / REJUDGED / f"{analysis_version()}-{digest[:12]}"


def rejudge_run(root: str, rel: str, run_sha256: str, limits: str, out: str) -> str:
    """Judge one run (a Dask task) and write its rows to ``out``; returns the new overall
    verdict."""
    run_dir = Path(root) / rel
    attrs = RunStore(run_dir / "run.h5").read_attrs()
    scratch = scratch_dir("rejudge")
    try:
        record = judge(run_dir, scratch / "run", Path(limits))
        base = {"run_dir": rel, "run_id": str(attrs.get("run_id", run_dir.name)),
                "started_utc": str(attrs.get("started_utc", "")),
                "time": _time(str(attrs.get("started_utc", ""))),
                "stations": str(attrs.get("stations", "")),
                "software_version": str(attrs.get("software_version", "")),
                "analysis_version": analysis_version(),
                "limits_sha256": hashlib.sha256(Path(limits).read_bytes()).hexdigest(),
                "run_sha256": run_sha256, "source": "rejudged"}
        rows = check_rows(record, base)
        verdict = RunStore(record).read_attrs().get("overall_verdict", "error")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), Path(out))
    return str(verdict)


def rejudge(root: Path, limits: Path | None = None, workers: int | None = None,
            scheduler: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Re-judge every indexed run not yet judged with this analysis version and ``limits``;
    returns ``{"judged", "skipped", "failed": [{run_dir, reason}], "changed": [...]}``."""
    from harness.archive.cluster import check_scheduler, dask_client, run_tasks

    if scheduler:
        check_scheduler(scheduler)
    root = Path(root)
    limits = Path(limits) if limits else LIMITS
    if not limits.is_file():
        raise HarnessError(f"{limits}: no such limits file")
    from harness.config import load_limits_file

    load_limits_file(limits)  # a bad limits file is one line and exit 2, before any task
    update_index(root)
    out = result_dir(root, limits)
    out.mkdir(parents=True, exist_ok=True)
    failed, todo, skipped = [], [], 0
    for run in load_runs(root):
        if run["status"] != "ok":
            failed.append({"run_dir": run["run_dir"], "reason": f"not judged: {run['status']}: {run['problem']}"})
            continue
        target = out / f"{run['run_sha256'][:16]}-{Path(run['run_dir']).name}.parquet"
        if target.is_file():
            skipped += 1
            continue
        todo.append((str(root), run["run_dir"], run["run_sha256"], str(limits.resolve()), str(target)))
    judged = 0
    if todo:
        with dask_client(workers, scheduler) as client:
            for item, _, reason in run_tasks(client, rejudge_run, todo, "rejudge", progress):
                if reason:
                    failed.append({"run_dir": item[1], "reason": reason})
                else:
                    judged += 1
    return {"judged": judged, "skipped": skipped, "failed": failed, "results": str(out),
            "changed": changed_verdicts(root, out)}


def changed_verdicts(root: Path, results: Path) -> list[dict[str, str]]:
    """Checks whose verdict in ``results`` differs from the one recorded in the run."""
    import pyarrow.parquet as pq

    from harness.archive.index import load_measurements

    recorded: dict[tuple[str, str], str] = {}
    for r in load_measurements(root).select(["run_dir", "check", "check_verdict"]).to_pylist():
        recorded[(r["run_dir"], r["check"])] = r["check_verdict"]
    now: dict[tuple[str, str], tuple[str, str]] = {}
    for f in sorted(results.glob("*.parquet")):
        for r in pq.read_table(f, columns=["run_dir", "run_id", "check", "check_verdict"]).to_pylist():
            now[(r["run_dir"], r["check"])] = (r["run_id"], r["check_verdict"])
    runs = {k[0] for k in now}
    out = []
    for key in sorted(set(now) | {k for k in recorded if k[0] in runs}):
        before = recorded.get(key, "absent")
        run_id, after = now.get(key, (key[0], "absent"))
        if before != after:
            out.append({"run_dir": key[0], "run_id": run_id, "check": key[1],
                        "recorded": before, "now": after})
    return out
