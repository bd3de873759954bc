"""``harness archive synth``: run folders that look like real ones, with the injected ageing."""

from __future__ import annotations

import json

import h5py
import pytest

from archivetools import RUNS, YEARS, harness, truth_of
from harness.manifest import verify_manifest


def summaries(root):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(root.glob("*/summary.json"))}


def test_every_run_is_a_complete_verified_run_folder_marked_synthetic(archive):
    runs = sorted(p for p in archive.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(runs) == RUNS
    for run in runs[:: max(len(runs) // 6, 1)]:
        assert verify_manifest(run) == []
        assert {"run.h5", "summary.json", "manifest.json", "junit.xml"} <= {p.name for p in run.iterdir()}
        with h5py.File(run / "run.h5") as f:
            assert f.attrs["schema"] == "caspian-harness/run/1"
            assert "SYNTHETIC" in f.attrs["provenance"] and "without the instruments' transport" in f.attrs["provenance"]
            kinds = {g.attrs["kind"] for g in f["acquisitions"].values()}
            assert {"otdr", "osa", "osa_wdm", "pm", "pm_history", "och"} <= kinds
            assert len(f["checks"]) >= 15


def test_the_injected_ageing_shows_in_the_recorded_verdicts(archive):
    truth = truth_of(archive)
    assert len(truth["runs"]) == RUNS and truth["years"] == YEARS
    sums = summaries(archive)
    for run in truth["runs"]:
        checks = {c["key"]: c for c in sums[run["run_id"]]["checks"]}
        splice = checks["test_splice_loss[FP2-F1-1550nm]"]
        if run["break"]:
            e2e = checks["test_end_to_end_loss[FP2-F1-1550nm]"]
            assert e2e["verdict"] == "fail" and "ends at" in e2e["message"]
        elif run["bend"]:  # 0.25 dB at 147 km: the worst "splice", and unexplained by the plan
            assert splice["verdict"] == "fail" and "147.0" in splice["message"], splice["message"]
        elif run["year"] < 1.5:  # the aged splice is still under 0.09 dB: everything passes
            assert sums[run["run_id"]]["overall_verdict"] == "pass", run


def test_synth_refuses_bad_input_in_one_line(archive, tmp_path):
    for args in (("archive", "synth", str(archive), "--runs", "3", "--years", "1"),
                 ("archive", "synth", str(tmp_path / "new"), "--runs", "1", "--years", "1"),
                 ("archive", "synth", str(tmp_path / "new2"), "--runs", "3", "--years", "1",
                  "--fibres", "FP9-F1")):
        proc = harness(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "transport" in harness("archive", "synth", "--help").stdout
