"""A few hundred synthetic runs through synth, index, trend and rejudge on a local cluster
(``pytest -m stress``: outside the default suite, ~30-60 min on a shared 2-core machine)."""

from __future__ import annotations

import json

import pytest

from archivetools import file_hashes, harness

RUNS = 300


@pytest.mark.stress
def test_a_few_hundred_runs_end_to_end(tmp_path):
    root = tmp_path / "root"
    proc = harness("archive", "synth", str(root), "--runs", str(RUNS), "--years", "25",
                   "--no-progress", timeout=4 * 3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert harness("archive", "index", str(root), timeout=3600).returncode == 0
    trend = harness("archive", "trend", str(root), "--measurement", "event_loss", "--json")
    truth = json.loads((root / "truth.json").read_text())
    aged = min(json.loads(trend.stdout)["series"],
               key=lambda s: abs(s["distance_m"] / 1000 - truth["splice_ageing"]["distance_km"]))
    assert aged["n"] >= RUNS - 2
    assert aged["rate_per_year"] == pytest.approx(0.02, abs=3 * aged["rate_se_per_year"] + 0.001)
    before = file_hashes(root)
    proc = harness("archive", "rejudge", str(root), "--no-progress", timeout=4 * 3600)
    assert proc.returncode == 0 and f"{RUNS} run(s) judged" in proc.stdout, proc.stdout[-3000:]
    assert file_hashes(root) == before
