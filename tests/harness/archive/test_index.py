"""``harness archive index``: every run, check and measurement in Parquet, incremental, and a
run folder whose files fail verification listed as such, never indexed."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from archivetools import RUNS, harness, truth_of
from harness.archive.index import load_measurements, load_runs, update_index


def test_index_holds_every_run_check_and_measurement(archive):
    proc = harness("archive", "index", str(archive))
    assert proc.returncode == 0, proc.stderr
    runs = load_runs(archive)
    assert len(runs) == RUNS and all(r["status"] == "ok" for r in runs)
    rows = load_measurements(archive).to_pylist()
    assert {r["run_id"] for r in rows} == {r["run_id"] for r in runs}
    row = next(r for r in rows if r["measurement"] == "attenuation")
    for column in ("run_id", "time", "stations", "fibre", "wavelength_nm", "requirement", "value",
                   "units", "high", "verdict", "software_version", "analysis_version", "run_sha256"):
        assert row[column] not in (None, ""), column
    # the bend is in the event rows from its date on, at 147 km
    truth = truth_of(archive)
    bent = {r["run_id"] for r in truth["runs"] if r["bend"]}
    near = {r["run_id"] for r in rows if r["measurement"] == "event_loss"
            and r["distance_m"] is not None and abs(r["distance_m"] - 147_000) < 1000}
    assert near and near <= bent


def test_index_reads_only_new_or_changed_folders_and_lists_a_failing_one(archive, tmp_path):
    root = tmp_path / "root"
    names = sorted(p.name for p in archive.iterdir() if p.is_dir() and not p.name.startswith("."))
    for name in names[:3]:
        shutil.copytree(archive / name, root / name)
    assert update_index(root)["read"] == 3
    assert update_index(root) == {"runs": 3, "read": 0, "kept": 3, "removed": 0,
                                  "integrity": 0, "unreadable": 0, "rows": pytest.approx(0, abs=10**6)}
    shutil.copytree(archive / names[3], root / names[3])
    counts = update_index(root)
    assert counts["read"] == 1 and counts["kept"] == 3
    # a file changed after the run: listed as failing verification, its values gone
    with open(root / names[1] / "summary.json", "a") as f:
        f.write(" ")
    counts = update_index(root)
    assert counts["read"] == 1 and counts["integrity"] == 1
    bad = [r for r in load_runs(root) if r["status"] == "integrity"]
    assert [r["run_dir"] for r in bad] == [names[1]] and "summary.json" in bad[0]["problem"]
    assert names[1] not in set(pq.read_table(root / ".archive" / "measurements.parquet")
                               .column("run_dir").to_pylist())
    proc = harness("archive", "index", str(root))
    assert proc.returncode == 1 and "NOT INDEXED (integrity)" in proc.stdout
    shutil.rmtree(root / names[0])
    assert update_index(root)["removed"] == 1


def test_index_of_a_missing_folder_is_bad_input(tmp_path):
    proc = harness("archive", "index", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
