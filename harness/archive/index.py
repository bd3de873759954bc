"""``harness archive index ROOT``: one table of every run, check and measurement under ROOT.

Stored as Parquet in ``ROOT/.archive/``: ``runs.parquet`` (one row per run folder: its
fingerprint, status, and why it is not indexed when it is not) and ``measurements.parquet``
(one row per measurement of a check, one per event of a check's event tables, measurement
``event_loss`` with its ``distance_m``, and one with an empty measurement for a check that
recorded no value, so its verdict is still indexed). Incremental: a run folder is read again only when its
fingerprint changed (the SHA-256 of ``manifest.json`` and the size and mtime of every file), so
an unchanged archive costs one ``stat`` per file. A folder whose files fail the manifest or a
signature (:func:`harness.manifest.verify_manifest`, :func:`harness.signing.verify_signatures`)
is listed with status ``integrity`` and the first problem, and none of its values is indexed.
Rows re-judged by ``archive rejudge`` live beside them (``rejudged/``) and are read with
:func:`load_measurements`.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import h5py
import pyarrow as pa
import pyarrow.parquet as pq

from harness.errors import HarnessError, StoreError
from harness.manifest import MANIFEST, verify_manifest
from harness.signing import verify_signatures
from harness.store import RunStore

ARCHIVE = ".archive"
RUNS = "runs.parquet"
MEASUREMENTS = "measurements.parquet"
REJUDGED = "rejudged"

RUN_SCHEMA = pa.schema([
    ("run_dir", pa.string()), ("fingerprint", pa.string()), ("run_sha256", pa.string()),
    ("status", pa.string()), ("problem", pa.string()), ("run_id", pa.string()),
    ("started_utc", pa.string()), ("overall_verdict", pa.string()), ("synthetic", pa.bool_()),
])
ROW_SCHEMA = pa.schema([
    ("run_dir", pa.string()), ("run_id", pa.string()), ("started_utc", pa.string()),
    ("time", pa.timestamp("s", tz="UTC")), ("stations", pa.string()), ("check", pa.string()),
    ("requirement", pa.string()), ("station", pa.string()), ("fibre", pa.string()),
    ("wavelength_nm", pa.float64()), ("measurement", pa.string()), ("value", pa.float64()),
    ("units", pa.string()), ("low", pa.float64()), ("high", pa.float64()),
    ("marginal_low", pa.float64()), ("marginal_high", pa.float64()), ("limit", pa.string()),
    ("verdict", pa.string()), ("check_verdict", pa.string()), ("distance_m", pa.float64()),
    ("event_type", pa.string()), ("software_version", pa.string()),
    ("analysis_version", pa.string()), ("limits_sha256", pa.string()),
    ("run_sha256", pa.string()), ("source", pa.string()),
])


def archive_dir(root: Path) -> Path:
    return Path(root) / ARCHIVE


def find_runs(root: Path) -> Iterator[Path]:
    """Every run folder under ``root`` (a folder holding ``run.h5`` or ``manifest.json``), not
    descending into one, nor into hidden folders (``.archive``)."""
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "run.h5" in files or MANIFEST in files:
            dirs[:] = []
            yield Path(here)


def fingerprint(run_dir: Path) -> str:
    """SHA-256 over the manifest's bytes and every file's relative path, size and mtime."""
    h = hashlib.sha256()
    manifest = run_dir / MANIFEST
    h.update(manifest.read_bytes() if manifest.is_file() else b"(no manifest)")
    for here, dirs, files in os.walk(run_dir):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(here, name))
            rel = os.path.relpath(os.path.join(here, name), run_dir)
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _time(utc: str) -> Any:
    import datetime as dt

    try:
        t = dt.datetime.fromisoformat(utc)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def check_rows(record: Path, base: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measurement and per event of every check in ``record`` (a ``run.h5``),
    each starting from ``base`` (run identity columns)."""
    store = RunStore(record)
    rows = []
    checks = store.read_checks()
    with h5py.File(record, "r") as f:
        events = {key: {name: ds[()] for name, ds in f["checks"][key].get("events", {}).items()}
                  for key in checks}
    for key, c in sorted(checks.items()):
        where = {"check": key, "requirement": c.get("requirement", ""),
                 "station": c.get("station", ""), "fibre": c.get("fibre", ""),
                 "wavelength_nm": _f(c.get("wavelength_nm")), "check_verdict": c.get("verdict", "")}
        for name, m in sorted(c["measurements"].items()):
            rows.append({**base, **where, "measurement": name, "value": _f(m["value"]),
                         "units": m.get("units", ""), "low": _f(m.get("low")), "high": _f(m.get("high")),
                         "marginal_low": _f(m.get("marginal_low")),
                         "marginal_high": _f(m.get("marginal_high")), "limit": m.get("limit", ""),
                         "verdict": m.get("verdict", "")})
        if not c["measurements"]:  # e.g. an error before any value: the verdict still counts
            rows.append({**base, **where, "measurement": "", "value": None, "units": "",
                         "verdict": c.get("verdict", "")})
        for set_name, table in sorted(events[key].items()):
            for e in table:
                rows.append({**base, **where, "measurement": "event_loss", "value": _f(e["loss_db"]),
                             "units": "dB", "distance_m": _f(e["distance_m"]),
                             "event_type": e["type"].decode(errors="replace"),
                             "limit": f"events/{set_name}"})
    return rows


def read_run(root: Path, run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``runs`` row of one run folder and its measurement rows (none when it fails
    verification or cannot be read)."""
    rel = run_dir.relative_to(root).as_posix()
    row = {"run_dir": rel, "fingerprint": fingerprint(run_dir), "run_sha256": "", "status": "ok",
           "problem": "", "run_id": run_dir.name, "started_utc": "", "overall_verdict": "",
           "synthetic": False}
    try:
        problems = verify_manifest(run_dir) + verify_signatures(run_dir)
    except (StoreError, HarnessError, OSError, ValueError) as exc:
        problems = [str(exc)]
    if problems:
        return {**row, "status": "integrity", "problem": problems[0]}, []
    row["run_sha256"] = hashlib.sha256((run_dir / MANIFEST).read_bytes()).hexdigest()
    try:
        attrs = RunStore(run_dir / "run.h5").read_attrs()
        base = {"run_dir": rel, "run_id": str(attrs.get("run_id", run_dir.name)),
                "started_utc": str(attrs.get("started_utc", "")),
                "time": _time(str(attrs.get("started_utc", ""))),
                "stations": str(attrs.get("stations", "")),
                "software_version": str(attrs.get("software_version", "")),
                "analysis_version": str(attrs.get("analysis_version", "")),
                "limits_sha256": str(attrs.get("limits_file_sha256", "")),
                "run_sha256": row["run_sha256"], "source": "recorded"}
        rows = check_rows(run_dir / "run.h5", base)
    except (StoreError, OSError, KeyError, ValueError) as exc:
        return {**row, "status": "unreadable", "problem": str(exc).splitlines()[0][:300]}, []
    row.update(run_id=base["run_id"], started_utc=base["started_utc"],
               overall_verdict=str(attrs.get("overall_verdict", "")),
               synthetic=bool(attrs.get("synthetic", False)))
    return row, rows


def write_table(table: pa.Table, path: Path) -> None:
    """Write Parquet atomically (a temporary name of this process's own, then rename: two
    indexers or rejudges on one archive at once never write into each other's file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def update_index(root: Path) -> dict[str, Any]:
    """Bring ``ROOT/.archive/`` up to date; returns counts (runs, read, kept, removed,
    integrity, unreadable, rows)."""
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root}: no such archive folder")
    out = archive_dir(root)
    out.mkdir(exist_ok=True)
    old_runs: dict[str, dict[str, Any]] = {}
    old_rows: dict[str, list[dict[str, Any]]] = {}
    if (out / RUNS).is_file() and (out / MEASUREMENTS).is_file():
        try:
            old_runs = {r["run_dir"]: r for r in pq.read_table(out / RUNS).to_pylist()}
            for r in pq.read_table(out / MEASUREMENTS).to_pylist():
                old_rows.setdefault(r["run_dir"], []).append(r)
        except (OSError, pa.ArrowException):
            old_runs, old_rows = {}, {}  # a damaged index is rebuilt
    runs, rows = [], []
    read = kept = 0
    for run_dir in find_runs(root):
        rel = run_dir.relative_to(root).as_posix()
        prev = old_runs.get(rel)
        if prev is not None and prev["fingerprint"] == fingerprint(run_dir):
            runs.append(prev)
            rows += old_rows.get(rel, [])
            kept += 1
            continue
        run_row, run_rows = read_run(root, run_dir)
        runs.append(run_row)
        rows += run_rows
        read += 1
    write_table(pa.Table.from_pylist(runs, schema=RUN_SCHEMA), out / RUNS)
    write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), out / MEASUREMENTS)
    status = [r["status"] for r in runs]
    return {"runs": len(runs), "read": read, "kept": kept,
            "removed": len(set(old_runs) - {r["run_dir"] for r in runs}),
            "integrity": status.count("integrity"), "unreadable": status.count("unreadable"),
            "rows": len(rows)}


def load_runs(root: Path) -> list[dict[str, Any]]:
    path = archive_dir(root) / RUNS
    if not path.is_file():
        raise HarnessError(f"{root}: no index yet: run 'harness archive index {root}'")
    return pq.read_table(path).to_pylist()


def load_measurements(root: Path, source: str = "recorded") -> pa.Table:
    """The indexed rows: ``recorded`` (as each run judged itself) or ``rejudged`` (every
    ``archive rejudge`` result, all analysis versions and limits)."""
    if source == "recorded":
        path = archive_dir(root) / MEASUREMENTS
        if not path.is_file():
            raise HarnessError(f"{root}: no index yet: run 'harness archive index {root}'")
        return pq.read_table(path)
    files = sorted((archive_dir(root) / REJUDGED).rglob("*.parquet"))
    if not files:
        return ROW_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f) for f in files])
