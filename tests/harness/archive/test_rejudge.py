"""``harness archive rejudge``: on a local Dask cluster and on an external scheduler/worker
pair; resumable; original run folders never modified; changed verdicts and failed runs listed."""

from __future__ import annotations

import shutil

import yaml

from archivetools import REPO, file_hashes, harness, truth_of
from harness.archive.rejudge import rejudge, result_dir
from harness.manifest import write_manifest


def tightened(tmp_path, **highs):
    """The plan's limits file with some ``high`` limits changed."""
    raw = yaml.safe_load((REPO / "test_plans" / "limits.yaml").read_text())
    for name, value in highs.items():
        raw["limits"][name.replace("__", ".")]["high"] = value
        raw["limits"][name.replace("__", ".")].pop("marginal_high", None)
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_local_cluster_rejudges_every_run_without_touching_it_and_resumes(archive, tmp_path):
    """On a private copy of 8 of the shared archive's runs (rejudging writes the archive's index
    and results, which other tests read; the stress test rejudges a few hundred runs)."""
    root, picked = small_copy(archive, tmp_path, 8)
    before = file_hashes(root)
    proc = harness("archive", "rejudge", str(root), "--workers", "2", "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Every verdict equals the recorded one" in proc.stdout
    assert f"{len(picked)} run(s) judged" in proc.stdout
    assert file_hashes(root) == before
    n = len(picked)
    assert len(list(result_dir(root, REPO / "test_plans" / "limits.yaml").glob("*.parquet"))) == n
    again = harness("archive", "rejudge", str(root), "--workers", "1", "--no-progress")
    assert again.returncode == 0 and f"0 run(s) judged, {n} already judged" in again.stdout


def small_copy(archive, tmp_path, count):
    root = tmp_path / "root"
    runs = sorted(p for p in archive.iterdir() if p.is_dir() and not p.name.startswith("."))
    truth = truth_of(archive)
    picked = [r["run_id"] for r in truth["runs"] if r["bend"]][:count - 1] + [runs[0].name]
    for name in picked:
        shutil.copytree(archive / name, root / name)
    shutil.copy2(archive / "truth.json", root / "truth.json")
    return root, picked


def test_new_limits_change_verdicts_and_an_interrupted_rejudge_continues(archive, tmp_path):
    root, picked = small_copy(archive, tmp_path, 4)
    limits = tightened(tmp_path, otdr__splice_loss_bidir=0.5)
    report = rejudge(root, limits, workers=2, progress=False)
    assert report["failed"] == [] and report["judged"] == 4
    changed = {(c["run_id"], c["check"]): (c["recorded"], c["now"]) for c in report["changed"]}
    # the 0.25 dB bend no longer fails the splice check; nothing else moved
    assert set(changed.values()) == {("fail", "pass")}
    assert {k[1] for k in changed} == {"test_splice_loss[FP2-F1-1550nm]"}
    assert len(changed) == 3
    # "interrupted": two results lost; only those two are judged again
    out = result_dir(root, limits)
    for f in sorted(out.glob("*.parquet"))[:2]:
        f.unlink()
    report = rejudge(root, limits, workers=1, progress=False)
    assert report["judged"] == 2 and report["skipped"] == 2 and len(report["changed"]) == 3
    proc = harness("archive", "rejudge", str(root), "--limits", str(limits), "--workers", "1",
                   "--no-progress")
    assert proc.returncode == 1 and "3 verdict(s) changed" in proc.stdout


def test_failed_runs_are_listed_with_their_reason(archive, tmp_path):
    root, picked = small_copy(archive, tmp_path, 3)
    with open(root / picked[0] / "junit.xml", "a") as f:
        f.write(" ")  # fails verification: not judged
    # a run whose files all match a (rewritten) manifest but whose station file is broken:
    # the plan cannot run over it
    (root / picked[1] / "inputs" / "station.yaml").write_text("route: 3\n")
    write_manifest(root / picked[1])
    proc = harness("archive", "rejudge", str(root), "--workers", "1", "--no-progress")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2, proc.stdout
    assert any(picked[0] in line and "integrity" in line and "junit.xml" in line for line in failed)
    assert any(picked[1] in line and "plan did not run" in line for line in failed), failed
    assert "1 run(s) judged" in proc.stdout
    bad = harness("archive", "rejudge", str(root), "--limits", str(tmp_path / "none.yaml"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_external_scheduler_and_worker_synth_index_trend_rejudge(dask_pair, tmp_path):
    root = tmp_path / "ext"
    proc = harness("archive", "synth", str(root), "--runs", "5", "--years", "4", "--seed", "3",
                   "--scheduler", dask_pair, "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert harness("archive", "index", str(root)).returncode == 0
    trend = harness("archive", "trend", str(root), "--measurement", "event_loss")
    assert trend.returncode == 0 and "123." in trend.stdout
    before = file_hashes(root)
    limits = tightened(tmp_path, otdr__splice_loss_bidir=0.5)
    proc = harness("archive", "rejudge", str(root), "--scheduler", dask_pair, "--limits",
                   str(limits), "--no-progress")
    assert "5 run(s) judged" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 1 and "fail" in proc.stdout and "pass" in proc.stdout
    assert file_hashes(root) == before
    unreachable = harness("archive", "rejudge", str(root), "--scheduler", "tcp://127.0.0.1:9")
    assert unreachable.returncode == 2 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.strip() == ("harness: error: tcp://127.0.0.1:9: cannot reach the "
                                          "Dask scheduler: connection refused (no scheduler "
                                          "listens there)")
